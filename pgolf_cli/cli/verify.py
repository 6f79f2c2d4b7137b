"""``pgolf verify``: check records folders before they become a pull request (or after)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pgolf_cli.cli._common import crash_exits_2, fail, write_report
from pgolf_cli.cli._options import OutputFile, Quiet
from pgolf_cli.console import (
    DEFAULT_WIDTH,
    color_enabled,
    is_terminal,
    item_progress,
    report_width,
    stderr_console,
    text_console,
)

if TYPE_CHECKING:
    from pgolf_cli.records.verify import FolderReport

#: The exit code of each outcome, the same as `pgolf gate`'s; 2 is an input error.
EXIT_CODES = {"pass": 0, "fail": 1, "needs-review": 3}

_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim"}


class VerifyFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


Folders = Annotated[
    list[Path],
    typer.Argument(
        help="Records folders (each holds submission.json, train logs, train_gpt.py, ...).",
        metavar="RECORD_DIR...",
        show_default=False,
    ),
]
Baseline = Annotated[
    Path | None,
    typer.Option(
        "--baseline",
        "-b",
        metavar="DIR",
        help="The record to beat: a records folder whose logs (else json) give per-seed "
        "scores. Runs the significance check.",
        show_default=False,
    ),
]
Format = Annotated[
    VerifyFormat,
    typer.Option("--format", "-f", help="Report format.", case_sensitive=False),
]
NoAudit = Annotated[
    bool, typer.Option("--no-audit", help="Skip the static audit of the folder's scripts.")
]
Details = Annotated[
    bool,
    typer.Option(
        "--details",
        "-d",
        help="Text format: every check of every folder with its evidence, before the "
        "one-line-per-folder summary (the default for a single folder).",
    ),
]


@crash_exits_2
def verify(
    folders: Folders,
    baseline: Baseline = None,
    output_format: Format = VerifyFormat.TEXT,
    output: OutputFile = None,
    no_audit: NoAudit = False,
    details: Details = False,
    quiet: Quiet = False,
) -> None:
    """Check records folders: structure, json against logs, size, time, seeds, significance, audit.

    Each check has a stable id and a status (pass, fail, warn, skip) with the lines that prove
    it; the report also gives the consistency verdict of submission.json against the logs and
    how the json's val_bpb was computed (one seed, the seed mean, ...).

    [bold]pgolf verify records/track_10min_16mb/2026-05-01_MyRecord/[/]
    [bold]pgolf verify NEW_DIR --baseline records/track_10min_16mb/<current best>/ -f json[/]

    A check fails only for a rule the challenge enforces, broken by the folder's own evidence
    (a required file missing, over the 16,000,000-byte cap, training or evaluation past 600 s,
    an audit error); anything else it finds is for a maintainer to weigh (warn). The text
    report ends with one line per folder; --details shows every check with its evidence.

    Exit codes: [bold]0[/] pass; [bold]1[/] a check failed; [bold]3[/] needs review (only
    warnings); [bold]2[/] a folder or json that cannot be read. They are pgolf gate's.
    """
    from pgolf_cli.errors import PgolfInputError
    from pgolf_cli.records.verify import overall, render_json, render_markdown

    try:
        reports = _run(folders, baseline, audit=not no_audit, show_progress=not quiet)
    except PgolfInputError as problem:
        fail(str(problem))

    if output_format is VerifyFormat.JSON:
        text = render_json(reports)
    elif output_format is VerifyFormat.MARKDOWN:
        text = render_markdown(reports)
    else:
        text = _render_text(
            reports, to_file=output is not None, details=details or len(reports) == 1
        )

    write_report(text, output)

    if not quiet and (output is not None or output_format is not VerifyFormat.TEXT):
        stderr_console().print(_summary_line(reports), soft_wrap=True)
    raise typer.Exit(EXIT_CODES[overall(reports)])


def _run(
    folders: Sequence[Path], baseline: Path | None, *, audit: bool, show_progress: bool
) -> list[FolderReport]:
    from pgolf_cli.records.verify import verify_folders

    if not (show_progress and len(folders) > 1 and is_terminal(sys.stderr)):
        return verify_folders(folders, baseline=baseline, audit=audit)
    progress = item_progress("verifying")
    with progress:
        task = progress.add_task("verify", total=len(folders), current="")

        def advance(path: str) -> None:
            progress.update(task, advance=1, current=escape(Path(path).name))

        return verify_folders(folders, baseline=baseline, audit=audit, progress=advance)


def _summary_line(reports: Sequence[FolderReport]) -> str:
    from pgolf_cli.records.verify import overall, summary

    totals = summary(reports)
    outcome = overall(reports)
    style = {"fail": "red", "needs-review": "yellow", "pass": "green"}[outcome]
    return (
        f"{totals['folders']} folder(s) verified: {totals['failed']} fail, "
        f"{totals['needs_review']} need review, {totals['passed']} pass; "
        f"[{style}]{outcome} (exit {EXIT_CODES[outcome]})[/]"
    )


def _render_text(reports: Sequence[FolderReport], *, to_file: bool, details: bool) -> str:
    """The rich report as a string; coloured only when it goes to a colour terminal."""
    color = not to_file and color_enabled(sys.stdout)
    console = text_console(color=color, width=report_width() if not to_file else DEFAULT_WIDTH)
    with console.capture() as capture:
        if details:
            for report in reports:
                _print_report(console, report)
        _print_summary(console, reports)
        console.print(_summary_line(reports), soft_wrap=True)
    return capture.get()


def _print_summary(console: Console, reports: Sequence[FolderReport]) -> None:
    """One line per folder: its outcome and the ids of the checks that failed or warn."""
    from pgolf_cli.records.verify import summary_rows

    table = Table(show_header=True, header_style="bold")
    table.add_column("folder", overflow="fold")
    table.add_column("track", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("failed", overflow="fold")
    table.add_column("warnings", overflow="fold")
    outcome_style = {"fail": "bold red", "needs-review": "yellow", "pass": "green"}
    for name, track, outcome, failed, warned in summary_rows(reports):
        table.add_row(
            escape(name),
            escape(track),
            f"[{outcome_style[outcome]}]{outcome}[/]",
            escape(failed),
            escape(warned),
        )
    console.print(table)


def _print_report(console: Console, report: FolderReport) -> None:
    aggregation = report.aggregation or "-"
    if report.match == "4dp":
        aggregation += " (4 dp only)"
    console.print(f"[bold]{escape(report.path)}[/]", soft_wrap=True)
    console.print(
        f"track: {escape(report.track or 'unknown')}  verdict: [bold]{report.verdict}[/]  "
        f"aggregation: {escape(aggregation)}",
        soft_wrap=True,
    )
    table = Table(show_header=True, header_style="bold")
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("message", overflow="fold")
    for check in report.checks:
        style = _STYLE[check.status]
        table.add_row(check.id, f"[{style}]{check.status}[/]", escape(check.message))
    console.print(table)
    for check in report.checks:
        if check.status not in ("fail", "warn") or not check.evidence:
            continue
        console.print(f"  [{_STYLE[check.status]}]{check.id}[/] evidence:", soft_wrap=True)
        for line in check.evidence[:20]:
            console.print(f"    {escape(line)}", soft_wrap=True)
        if len(check.evidence) > 20:
            console.print(
                f"    … {len(check.evidence) - 20} more (--format json lists all)", soft_wrap=True
            )
    console.print()
