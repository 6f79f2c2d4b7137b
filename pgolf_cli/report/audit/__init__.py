"""The audit report (an :class:`~pgolf_cli.audit.findings.AuditReport`), one module a format.

``color``, ``width`` and ``show_suppressed`` shape the text format only: the others are for
machines and always carry suppressed findings (marked) or leave them out by design.
"""

from __future__ import annotations

from pgolf_cli.audit.findings import AuditReport
from pgolf_cli.report import RenderOptions, ReportFormats
from pgolf_cli.report.audit import github, json_report, sarif, text


def _text(report: AuditReport, options: RenderOptions) -> str:
    return text.render(
        report, color=options.color, width=options.width, show_suppressed=options.show_suppressed
    )


FORMATS: ReportFormats[AuditReport] = ReportFormats(
    "audit",
    {
        "text": _text,
        "json": lambda report, _: json_report.render(report),
        "sarif": lambda report, _: sarif.render(report),
        "github": lambda report, _: github.render(report),
    },
)
render = FORMATS.render
