from __future__ import annotations

from collections.abc import Callable

import pytest

from pgolf_cli.audit.findings import AuditReport, Evidence, FileResult, Finding
from pgolf_cli.report.audit import text


def _lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines()]


def test_findings_with_location_rule_and_evidence(report: AuditReport) -> None:
    output = text.render(report, width=120)
    record = report.files[0].path
    assert f"{record}:120: PG101 val-finetune-before-scoring error/high" in output
    assert "opt.step() trains on val_tokens before eval_val() scores them" in output
    assert "validation tokens loaded here" in output
    assert "batch sliced from val_tokens" in output
    assert "> 120 |     loss = model(val_x, val_y)" in output
    assert "40 | val_tokens = load_val(args.val_files)  <- validation tokens loaded here" in output
    # Markdown headings are skipped: the help line is the first paragraph of prose.
    assert "help: Flags optimizer steps on validation tokens ahead of scoring." in _lines(output)


def test_summary_counts(report: AuditReport) -> None:
    last = text.render(report).rstrip("\n").splitlines()[-1]
    assert last == "3 errors, 1 warning, 1 note, 1 suppressed, in 3 files; 1 file not audited"


def test_clean_and_empty_reports(clean: AuditReport, empty: AuditReport) -> None:
    assert text.render(clean) == "no findings in 1 file\n"
    assert text.render(empty) == "no findings in 0 files\n"


def test_input_errors(input_error: AuditReport) -> None:
    output = text.render(input_error)
    assert "error: no Python files under 'records/empty/'" in output
    assert output.rstrip("\n").endswith("no findings in 0 files; 1 input error")


def test_no_ansi_codes_without_color(report: AuditReport, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    assert "\x1b[" not in text.render(report, color=False)
    assert "\x1b[" in text.render(report, color=True)


@pytest.mark.parametrize("color", [True, False])
def test_output_does_not_depend_on_the_terminal(
    report: AuditReport, monkeypatch: pytest.MonkeyPatch, color: bool
) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.setenv("COLUMNS", "300")
    expected = text.render(report, color=color)
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.delenv("COLORTERM")
    monkeypatch.setenv("COLUMNS", "20")
    assert text.render(report, color=color) == expected


def test_suppressed_hidden_by_default_but_counted(report: AuditReport) -> None:
    hidden = text.render(report)
    assert "PG205" not in hidden
    assert "1 suppressed" in hidden
    shown = text.render(report, show_suppressed=True, width=120)
    assert "PG205 unnormalized-target-blend warning/medium" in shown
    assert "suppressed: renormalised on the next line" in shown


def test_reachability_notes(report: AuditReport) -> None:
    output = text.render(report)
    assert "dormant: off by default, switch VAL_WARMUP=0 (line 12)" in output
    assert "runs when world_size > 1, as in the official 8-GPU run" in output


def test_packed_file_and_decoded_finding(report: AuditReport) -> None:
    output = text.render(report)
    packed = report.files[1].path
    assert f"{packed}  decoded from packed wrapper: lzma > base85" in output
    assert "(line of code decoded from lzma+base85)" in output


def test_file_error(report: AuditReport) -> None:
    lines = _lines(text.render(report))
    broken = report.files[2].path
    at = lines.index(broken)
    assert lines[at + 1] == "error: cannot read the file: permission denied"


def test_minified_line_is_cropped_but_keeps_its_label(
    finding_factory: Callable[..., Finding],
) -> None:
    minified = ";".join(f"v{i}=val_tokens[{i}]" for i in range(200))
    finding = finding_factory(
        "PG101",
        3,
        minified,
        path="t.py",
        evidence=(Evidence(2, "val tokens taken here", minified),),
    )
    report = AuditReport(
        files=(FileResult(path="t.py", findings=(finding,)),), rules=(), tool_version="0"
    )
    output = text.render(report, width=80)
    assert all(len(line) <= 80 for line in output.splitlines())
    assert "<- val tokens taken here" in output
    assert "> 3 | v0=val_tokens[0];v1=" in output


def test_long_messages_wrap_with_their_indent(finding_factory: Callable[..., Finding]) -> None:
    finding = finding_factory("PG101", 3, "opt.step()", path="t.py", message="word " * 40)
    report = AuditReport(
        files=(FileResult(path="t.py", findings=(finding,)),), rules=(), tool_version="0"
    )
    message_lines = [line for line in text.render(report, width=60).splitlines() if "word" in line]
    assert len(message_lines) > 1
    assert all(line.startswith("    word") and len(line) <= 60 for line in message_lines)
    assert all(line == line.rstrip() for line in message_lines)


def test_lines_fit_the_width(report: AuditReport) -> None:
    for width in (60, 100):
        lines = text.render(report, width=width, show_suppressed=True).splitlines()
        assert all(len(line) <= width for line in lines)
