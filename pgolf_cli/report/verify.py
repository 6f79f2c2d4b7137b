"""The verify report in each output format; pure functions of the folders' :class:`FolderReport`.

- ``text``: for a terminal (rich): one line per folder, and with ``details`` (the default for
  a single folder) every check of every folder with its evidence before it.
- ``json``: ``schema_version``, the summary and every folder's checks.
- ``markdown``: the summary table, then each folder's checks with the evidence folded. Every
  string from the folder goes through :mod:`pgolf_cli.report.markdown`.

The verify model is imported only for type checking: the command line reads :data:`FORMATS`
when it starts, and the model pulls in the whole audit engine.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from pgolf_cli.console import text_console
from pgolf_cli.gate.model import EXIT_CODES, Verdict
from pgolf_cli.report import RenderOptions, ReportFormats
from pgolf_cli.report import markdown as md
from pgolf_cli.report.terminal import checks_table, print_evidence, shown

if TYPE_CHECKING:
    from pgolf_cli.records.verify import FolderReport, Outcome

#: Bumped whenever a key of the json report changes meaning or disappears.
VERIFY_SCHEMA_VERSION = 2

_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim"}
_OUTCOME_STYLE = {"fail": "bold red", "needs-review": "yellow", "pass": "green"}
_MARK = {"pass": "✅ pass", "fail": "❌ fail", "warn": "⚠️ warn", "skip": "➖ skip"}
_EVIDENCE_LINES = 20


def summary(reports: Sequence[FolderReport]) -> dict[str, int]:
    outcomes = [report.outcome for report in reports]
    return {
        "folders": len(reports),
        "failed": outcomes.count("fail"),
        "needs_review": outcomes.count("needs-review"),
        "passed": outcomes.count("pass"),
    }


def overall(reports: Sequence[FolderReport]) -> Outcome:
    """The worst outcome over the folders (``pass`` for none)."""
    outcomes = {report.outcome for report in reports}
    worst: tuple[Outcome, ...] = ("fail", "needs-review")
    return next((outcome for outcome in worst if outcome in outcomes), "pass")


def exit_code(reports: Sequence[FolderReport]) -> int:
    """The exit code of the overall outcome: the gate's code of the same verdict."""
    return EXIT_CODES[Verdict(overall(reports))]


def summary_rows(reports: Sequence[FolderReport]) -> list[tuple[str, str, str, str, str]]:
    """One row per folder: name, track, outcome, the failed and the warning check ids."""
    rows: list[tuple[str, str, str, str, str]] = []
    for report in reports:
        failed = [c.id for c in report.checks if c.status == "fail"]
        warned = [c.id for c in report.checks if c.status == "warn"]
        rows.append(
            (
                Path(report.path).name,
                report.track or "unknown",
                report.outcome,
                ", ".join(failed) or "-",
                ", ".join(warned) or "-",
            )
        )
    return rows


def summary_line(reports: Sequence[FolderReport]) -> str:
    """The last line of the text report (rich markup), also the command's line on stderr."""
    totals = summary(reports)
    outcome = overall(reports)
    style = {"fail": "red", "needs-review": "yellow", "pass": "green"}[outcome]
    return (
        f"{totals['folders']} folder(s) verified: {totals['failed']} fail, "
        f"{totals['needs_review']} need review, {totals['passed']} pass; "
        f"[{style}]{outcome} (exit {exit_code(reports)})[/]"
    )


def _aggregation(report: FolderReport) -> str:
    aggregation = report.aggregation or "-"
    return aggregation + " (4 dp only)" if report.match == "4dp" else aggregation


# --------------------------------------------------------------------------------------------
# json
# --------------------------------------------------------------------------------------------


def render_json(reports: Sequence[FolderReport]) -> str:
    from pgolf_cli import __version__

    document = {
        "schema_version": VERIFY_SCHEMA_VERSION,
        "tool": {"name": "pgolf", "version": __version__},
        "summary": summary(reports),
        "folders": [report.as_dict() for report in reports],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------
# markdown
# --------------------------------------------------------------------------------------------


def render_markdown(reports: Sequence[FolderReport]) -> str:
    lines: list[str] = ["# pgolf verify", ""]
    totals = summary(reports)
    lines.append(
        f"{totals['folders']} folder(s): {totals['failed']} fail, {totals['needs_review']} "
        f"need review, {totals['passed']} pass."
    )
    lines += ["", "| folder | track | outcome | failed | warnings |", "|---|---|---|---|---|"]
    lines += [
        md.row([md.text(name), md.text(track), outcome, failed, warned])
        for name, track, outcome, failed, warned in summary_rows(reports)
    ]
    for report in reports:
        lines += [
            "",
            f"## {md.code(report.path)}",
            "",
            f"track: {md.text(report.track or 'unknown')} · verdict: **{report.verdict}** · "
            f"aggregation: {_aggregation(report)}",
            "",
            "| check | status | message |",
            "|---|---|---|",
        ]
        lines += [
            md.row([f"`{check.id}`", _MARK[check.status], md.text(check.message)])
            for check in report.checks
        ]
        detailed = [c for c in report.checks if c.evidence and c.status in ("fail", "warn")]
        for check in detailed:
            lines += ["", f"<details><summary>{check.id}: evidence</summary>", ""]
            lines += [*md.fence(check.evidence), "", "</details>"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# text
# --------------------------------------------------------------------------------------------


def render_text(
    reports: Sequence[FolderReport], *, color: bool = False, width: int = 100, details: bool = False
) -> str:
    """The rich report; ``details`` is implied for a single folder."""
    console = text_console(color=color, width=width)
    with console.capture() as capture:
        if details or len(reports) == 1:
            for report in reports:
                _print_report(console, report)
        _print_summary(console, reports)
        console.print(summary_line(reports), soft_wrap=True)
    return capture.get()


def _print_summary(console: Console, reports: Sequence[FolderReport]) -> None:
    """One line per folder: its outcome and the ids of the checks that failed or warn."""
    table = Table(show_header=True, header_style="bold")
    table.add_column("folder", overflow="fold")
    table.add_column("track", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("failed", overflow="fold")
    table.add_column("warnings", overflow="fold")
    for name, track, outcome, failed, warned in summary_rows(reports):
        table.add_row(
            shown(name),
            shown(track),
            f"[{_OUTCOME_STYLE[outcome]}]{outcome}[/]",
            shown(failed),
            shown(warned),
        )
    console.print(table)


def _print_report(console: Console, report: FolderReport) -> None:
    console.print(f"[bold]{shown(report.path)}[/]", soft_wrap=True)
    console.print(
        f"track: {shown(report.track or 'unknown')}  verdict: [bold]{report.verdict}[/]  "
        f"aggregation: {shown(_aggregation(report))}",
        soft_wrap=True,
    )
    table = checks_table("check", "status", "message")
    for check in report.checks:
        style = _STYLE[check.status]
        table.add_row(check.id, f"[{style}]{check.status}[/]", shown(check.message))
    console.print(table)
    for check in report.checks:
        if check.status not in ("fail", "warn") or not check.evidence:
            continue
        console.print(f"  [{_STYLE[check.status]}]{check.id}[/] evidence:", soft_wrap=True)
        print_evidence(console, check.evidence, _EVIDENCE_LINES)
    console.print()


def _text(reports: Sequence[FolderReport], options: RenderOptions) -> str:
    return render_text(reports, color=options.color, width=options.width, details=options.details)


FORMATS: ReportFormats[Sequence[FolderReport]] = ReportFormats(
    "verify",
    {
        "text": _text,
        "json": lambda reports, _: render_json(reports),
        "markdown": lambda reports, _: render_markdown(reports),
    },
)
render = FORMATS.render
