from __future__ import annotations

import pytest

from pgolf_cli.audit.findings import AuditReport
from pgolf_cli.report.audit import FORMATS, github, json_report, render, sarif, text


def test_formats() -> None:
    assert FORMATS.names == ("text", "json", "sarif", "github")


def test_render_dispatches(report: AuditReport) -> None:
    assert render(report, "json") == json_report.render(report)
    assert render(report, "sarif") == sarif.render(report)
    assert render(report, "github") == github.render(report)
    assert render(report, "text") == text.render(report)
    assert render(report, "text", width=60, show_suppressed=True) == text.render(
        report, width=60, show_suppressed=True
    )


def test_every_format_renders_every_sample(any_report: AuditReport) -> None:
    for fmt in FORMATS.names:
        output = render(any_report, fmt)
        assert output == "" or output.endswith("\n")


def test_unknown_format(report: AuditReport) -> None:
    with pytest.raises(
        ValueError, match="unknown audit format 'xml': choose one of text, json, sarif, github"
    ):
        render(report, "xml")
