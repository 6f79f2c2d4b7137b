"""Reporters: pure functions from an :class:`~pgolf_cli.audit.findings.AuditReport` to text.

Every format returns the complete output, ending with a newline (the github format returns
an empty string when there is nothing to annotate), so the caller writes it as it is.
"""

from __future__ import annotations

from pgolf_cli.audit.findings import AuditReport
from pgolf_cli.report import github, json_report, sarif, text

FORMATS = ("text", "json", "sarif", "github")


def render(
    report: AuditReport,
    fmt: str,
    *,
    color: bool = False,
    width: int = 100,
    show_suppressed: bool = False,
) -> str:
    """Render ``report`` in format ``fmt``, one of :data:`FORMATS`.

    ``color``, ``width`` and ``show_suppressed`` shape the text format only: the others are
    for machines and always carry suppressed findings (marked) or leave them out by design.
    """
    if fmt == "text":
        return text.render(report, color=color, width=width, show_suppressed=show_suppressed)
    if fmt == "json":
        return json_report.render(report)
    if fmt == "sarif":
        return sarif.render(report)
    if fmt == "github":
        return github.render(report)
    raise ValueError(f"unknown report format {fmt!r}: choose one of {', '.join(FORMATS)}")
