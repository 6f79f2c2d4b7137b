"""A file's audit result survives the trip through plain json data (the sweep's cache)."""

from __future__ import annotations

import json

from pgolf_cli.audit.findings import (
    Confidence,
    Evidence,
    FileResult,
    Finding,
    Reachability,
    Severity,
    Suppression,
    Switch,
)


def test_a_file_result_reads_back_equal_from_json() -> None:
    finding = Finding(
        rule_id="PG101",
        rule_name="val-tokens-in-ttt",
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        message="adapts on validation tokens before scoring them",
        path="records/x/train_gpt.py",
        line=12,
        end_line=14,
        snippet="opt.step()",
        evidence=(Evidence(line=3, label="validation tokens", path="records/x/helpers.py"),),
        reachability=Reachability.OFF_BY_DEFAULT,
        switches=(Switch(env="TTT_ENABLED", default="0", line=2),),
        decoded_from="lzma+base85",
        fingerprint="abc",
    )
    result = FileResult(
        path="records/x/train_gpt.py",
        findings=(finding,),
        suppressions=(Suppression(line=9, rule_ids=("PG206", "PG403"), reason="why", used=True),),
        layers=("lzma+base85",),
        shipped_bytes=1234,
    )
    data = json.loads(json.dumps(result.to_data()))
    back = FileResult.from_data(data)
    assert back == result
    assert isinstance(back.findings[0].severity, Severity)
    assert isinstance(back.findings[0].evidence[0], Evidence)
