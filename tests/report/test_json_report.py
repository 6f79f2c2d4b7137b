from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from pgolf_cli.audit.findings import (
    SCHEMA_VERSION,
    AuditReport,
    Evidence,
    FileResult,
    Finding,
    Suppression,
    Switch,
)
from pgolf_cli.report.audit import json_report


def _doc(report: AuditReport) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json_report.render(report))
    return doc


def _names(cls: type[Any]) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_top_level_shape(any_report: AuditReport) -> None:
    doc = _doc(any_report)
    assert set(doc) == {"schema_version", "tool", "summary", "files", "errors"}
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["tool"] == {"name": "pgolf", "version": "0.1.0"}
    assert set(doc["summary"]) == {
        "findings",
        "error",
        "warning",
        "note",
        "suppressed",
        "files",
        "file_errors",
        "input_errors",
    }
    assert doc["errors"] == list(any_report.errors)
    assert [f["path"] for f in doc["files"]] == [r.path for r in any_report.files]


def test_summary_counts(report: AuditReport) -> None:
    assert _doc(report)["summary"] == {
        "findings": 5,
        "error": 3,
        "warning": 1,
        "note": 1,
        "suppressed": 1,
        "files": 3,
        "file_errors": 1,
        "input_errors": 0,
    }


def test_every_field_is_serialised(report: AuditReport) -> None:
    files = _doc(report)["files"]
    for entry in files:
        assert set(entry) == _names(FileResult)
        for suppression in entry["suppressions"]:
            assert set(suppression) == _names(Suppression)
        for finding in entry["findings"]:
            assert set(finding) == _names(Finding)
            for evidence in finding["evidence"]:
                assert set(evidence) == _names(Evidence)
            for switch in finding["switches"]:
                assert set(switch) == _names(Switch)


def test_values_are_plain_json(report: AuditReport) -> None:
    record, packed, broken = _doc(report)["files"]
    finetune, dormant, silenced, _ = record["findings"]
    assert finetune["severity"] == "error"
    assert finetune["confidence"] == "high"
    assert finetune["reachability"] == "default-on"
    assert finetune["line"] == 120
    assert finetune["end_line"] == 121
    assert finetune["evidence"][0] == {
        "line": 40,
        "label": "validation tokens loaded here",
        "code": "val_tokens = load_val(args.val_files)",
        "path": None,
    }
    assert finetune["fingerprint"] == report.findings[0].fingerprint
    assert dormant["reachability"] == "off-by-default"
    assert dormant["switches"] == [{"env": "VAL_WARMUP", "default": "0", "line": 12, "path": None}]
    assert silenced["suppressed"] is True
    assert silenced["suppression_reason"] == "renormalised on the next line"
    assert record["suppressions"] == [
        {
            "line": 249,
            "rule_ids": ["PG205"],
            "reason": "renormalised on the next line",
            "used": True,
        }
    ]
    assert packed["layers"] == ["lzma", "base85"]
    assert packed["findings"][0]["decoded_from"] == "lzma+base85"
    assert packed["shipped_bytes"] == 15_034
    assert broken["error"] == "cannot read the file: permission denied"
    assert broken["findings"] == []


def test_round_trip_rebuilds_the_findings(report: AuditReport) -> None:
    """Every value survives: the findings can be rebuilt from the JSON exactly."""
    rebuilt = []
    for entry in _doc(report)["files"]:
        for raw in entry["findings"]:
            raw["evidence"] = tuple(Evidence(**e) for e in raw["evidence"])
            raw["switches"] = tuple(Switch(**s) for s in raw["switches"])
            rebuilt.append(Finding(**raw))
    assert tuple(rebuilt) == report.findings


def test_deterministic_sorted_two_space_output(
    build_full_report: Callable[[], AuditReport],
) -> None:
    first = json_report.render(build_full_report())
    assert first == json_report.render(build_full_report())
    assert first == json.dumps(json.loads(first), indent=2, sort_keys=True) + "\n"
    assert first.isascii()


def test_clean_and_input_error_reports(clean: AuditReport, input_error: AuditReport) -> None:
    summary = _doc(clean)["summary"]
    assert summary["findings"] == 0
    assert summary["files"] == 1
    doc = _doc(input_error)
    assert doc["files"] == []
    assert doc["summary"]["input_errors"] == 1
