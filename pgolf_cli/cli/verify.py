"""``pgolf verify``: check records folders before they become a pull request (or after)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from pgolf_cli.cli._common import crash_exits_2, emit_report, fail
from pgolf_cli.cli._options import OutputFile, Quiet
from pgolf_cli.console import (
    is_terminal,
    item_progress,
    stderr_console,
)
from pgolf_cli.report.verify import FORMATS

if TYPE_CHECKING:
    from pgolf_cli.records.verify import FolderReport

# The --format choices are the report's table of renderers.
if TYPE_CHECKING:
    VerifyFormat = str
else:
    VerifyFormat = FORMATS.choice


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
    output_format: Format = "text",
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
    from pgolf_cli.report.verify import exit_code, summary_line

    try:
        reports = _run(folders, baseline, audit=not no_audit, show_progress=not quiet)
    except PgolfInputError as problem:
        fail(str(problem))

    emit_report(FORMATS, reports, output_format, output, details=details)

    if not quiet and (output is not None or output_format != "text"):
        stderr_console().print(summary_line(reports), soft_wrap=True)
    raise typer.Exit(exit_code(reports))


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
