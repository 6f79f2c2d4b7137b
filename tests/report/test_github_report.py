from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from pgolf_cli.audit.findings import AuditReport, FileResult, Finding, Severity
from pgolf_cli.report.audit import github


def _single(finding: Finding) -> str:
    report = AuditReport(
        files=(FileResult(path=finding.path, findings=(finding,)),), rules=(), tool_version="0"
    )
    return github.render(report)


def test_escaping_in_path_and_message(finding_factory: Callable[..., Finding]) -> None:
    finding = finding_factory(
        "PG101",
        7,
        "opt.step()",
        path="records/a,b/run:1/train_gpt.py",
        message="trains on val_tokens: 100% of them, twice\nsecond line\r",
        end_line=9,
    )
    assert _single(finding) == (
        "::error file=records/a%2Cb/run%3A1/train_gpt.py,line=7,endLine=9,"
        "title=PG101 val-finetune-before-scoring"
        "::trains on val_tokens: 100%25 of them, twice%0Asecond line%0D\n"
    )


def test_title_properties_are_escaped(finding_factory: Callable[..., Finding]) -> None:
    finding = finding_factory("PG205", 3, "p = a + b")
    odd = replace(finding, rule_name="blend: a,b")
    assert ",title=PG205 blend%3A a%2Cb::" in _single(odd)


def test_severity_commands(finding_factory: Callable[..., Finding]) -> None:
    for severity, command in [
        (Severity.ERROR, "::error "),
        (Severity.WARNING, "::warning "),
        (Severity.NOTE, "::notice "),
    ]:
        line = _single(finding_factory("PG101", 1, "x", severity=severity, path="t.py"))
        assert line.startswith(command + "file=t.py,line=1,endLine=1,")


def test_full_report(report: AuditReport) -> None:
    lines = github.render(report).splitlines()
    record, packed, broken = (r.path for r in report.files)
    assert lines == [
        f"::error file={record},line=120,endLine=121,title=PG101 val-finetune-before-scoring"
        "::opt.step() trains on val_tokens before eval_val() scores them",
        f"::warning file={record},line=200,endLine=200,title=PG103 val-warmup-training"
        "::Warm-up steps read validation data.%0A"
        "dormant: off by default, switch VAL_WARMUP=0 (line 12)",
        f"::error file={record},line=310,endLine=310,title=PG402 training-data-at-eval"
        "::Evaluation reads training data.%0A"
        "runs when world_size > 1, as in the official 8-GPU run",
        # Decoded lines do not exist in the shipped file: a file-level annotation.
        f"::error file={packed},title=PG401 network-at-eval"
        "::line 57 of the code decoded from lzma+base85: Evaluation reaches the network.",
        f"::notice file={packed},line=1,endLine=1,title=PG902 packed-source-decoded"
        "::decoded a lzma+base85 wrapper (2 layers); findings count decoded lines",
        f"::error file={broken}::cannot read the file: permission denied",
    ]


def test_suppressed_findings_are_not_annotated(report: AuditReport) -> None:
    assert "PG205" not in github.render(report)


def test_input_errors_and_clean_reports(
    input_error: AuditReport, clean: AuditReport, empty: AuditReport
) -> None:
    # A message is data: its colon stays as it is.
    assert github.render(input_error) == (
        "::error::no Python files under 'records/empty/': pass a train_gpt.py or a records folder\n"
    )
    assert github.render(clean) == ""
    assert github.render(empty) == ""
