"""``pgolf audit``: the static compliance check of training scripts."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from pgolf_cli.audit.findings import Confidence, Severity
from pgolf_cli.audit.policy import EXIT_ERROR, EXIT_FINDINGS, exit_code
from pgolf_cli.cli._common import crash_exits_2, emit_report, error, fail, parse_selectors
from pgolf_cli.cli._options import Jobs, OutputFile, Quiet
from pgolf_cli.config import AuditConfig, ConfigError, load_audit_config, resolve
from pgolf_cli.console import (
    is_terminal,
    item_progress,
    stderr_console,
)
from pgolf_cli.report.audit import FORMATS

if TYPE_CHECKING:
    from pgolf_cli.audit.engine import AuditOptions
    from pgolf_cli.audit.findings import AuditReport


# The --format choices are the report's table of renderers.
if TYPE_CHECKING:
    AuditFormat = str
else:
    AuditFormat = FORMATS.choice


Paths = Annotated[
    list[Path],
    typer.Argument(
        help="Python files or directories to audit. A directory is a records folder: its "
        "[bold]*.py[/] files are searched recursively, each script is analysed with the "
        "files it imports or execs from the folder, and C/C++/CUDA sources are scanned.",
        metavar="PATH...",
        show_default=False,
    ),
]
Format = Annotated[
    AuditFormat | None,
    typer.Option(
        "--format",
        "-f",
        help="Report format. [dim]\\[default: text, or [bold]format[/] from the config][/]",
        show_default=False,
        case_sensitive=False,
    ),
]
Select = Annotated[
    list[str] | None,
    typer.Option(
        "--select",
        help="Only run these rules: comma-separated ids or prefixes ([bold]PG101,PG2[/]); "
        "may repeat.",
        metavar="IDS",
        show_default=False,
    ),
]
Ignore = Annotated[
    list[str] | None,
    typer.Option(
        "--ignore",
        help="Skip these rules: comma-separated ids or prefixes; may repeat.",
        metavar="IDS",
        show_default=False,
    ),
]
FailOn = Annotated[
    Severity | None,
    typer.Option(
        "--fail-on",
        help="Exit 1 when a finding has at least this severity. [dim]\\[default: error][/]",
        show_default=False,
        case_sensitive=False,
    ),
]
MinConfidence = Annotated[
    Confidence | None,
    typer.Option(
        "--min-confidence",
        help="Only findings with at least this confidence can fail the run. "
        "[dim]\\[default: medium][/]",
        show_default=False,
        case_sensitive=False,
    ),
]
ExitZero = Annotated[
    bool,
    typer.Option(
        "--exit-zero",
        help="Exit 0 even when findings would fail the run (errors still exit 2).",
    ),
]
ShowSuppressed = Annotated[
    bool,
    typer.Option("--show-suppressed", help="Also list findings silenced by a suppression comment."),
]


@crash_exits_2
def audit(
    paths: Paths,
    report_format: Format = None,
    output: OutputFile = None,
    select: Select = None,
    ignore: Ignore = None,
    fail_on: FailOn = None,
    min_confidence: MinConfidence = None,
    exit_zero: ExitZero = False,
    show_suppressed: ShowSuppressed = False,
    jobs: Jobs = None,
    quiet: Quiet = False,
) -> None:
    """Check training scripts against the Parameter Golf rules, without running them.

    The report goes to stdout (or [bold]--output[/]); progress and the summary go to stderr.

    Exit codes: [bold]0[/] clean; [bold]1[/] findings at or above [bold]--fail-on[/] with at least [bold]--min-confidence[/]; [bold]2[/] usage error or input that could not be audited.
    """
    config = _config()
    options = _options(select, ignore, config)
    chosen_format = resolve("text", flag=report_format, config=config.format).value
    gate_severity = resolve(Severity.ERROR, flag=fail_on, config=config.fail_on).value
    gate_confidence = resolve(
        Confidence.MEDIUM, flag=min_confidence, config=config.min_confidence
    ).value

    report = _run_audit(paths, options, jobs=jobs, show_progress=not quiet)
    emit_report(FORMATS, report, chosen_format, output, show_suppressed=show_suppressed)
    code = exit_code(
        report, fail_on=gate_severity, min_confidence=gate_confidence, exit_zero=exit_zero
    )
    # A text report on stdout already lists these errors and ends with the summary; every other
    # destination leaves the terminal without them, so stderr gets them.
    if output is not None or chosen_format != "text":
        for message in _input_errors(report):
            error(message)
        if not quiet:
            stderr_console().print(
                _summary(report, code, gate_severity, gate_confidence, exit_zero), soft_wrap=True
            )
    raise typer.Exit(code)


def _config() -> AuditConfig:
    try:
        return load_audit_config(Path.cwd())
    except ConfigError as problem:
        fail(str(problem))


def _options(
    select: list[str] | None, ignore: list[str] | None, config: AuditConfig
) -> AuditOptions:
    # Imported here so that `pgolf --help`, `--version` and shell completion stay fast: the
    # engine pulls in libcst and the whole rule catalogue.
    from pgolf_cli.audit.engine import AuditOptions
    from pgolf_cli.audit.registry import all_rules

    known_ids = [rule.id for rule in all_rules()]
    return AuditOptions(
        select=_selectors(select, config.select, known_ids, "--select", config, "select"),
        ignore=_selectors(ignore, config.ignore, known_ids, "--ignore", config, "ignore"),
    )


def _selectors(
    flag_values: Sequence[str] | None,
    config_values: Sequence[str] | None,
    known_ids: list[str],
    flag: str,
    config: AuditConfig,
    key: str,
) -> tuple[str, ...]:
    # A flag replaces the config's list rather than extending it, like every other setting.
    chosen = resolve((), flag=flag_values, config=config_values)
    source = flag if chosen.source == "flag" else f"{config.source} {config.section} {key}"
    return parse_selectors(chosen.value, known_ids, source=source)


def _run_audit(
    paths: list[Path], options: AuditOptions, *, jobs: int | None, show_progress: bool
) -> AuditReport:
    from pgolf_cli.audit.engine import audit_paths, count_files

    if not (show_progress and is_terminal(sys.stderr)):
        return audit_paths(paths, options, jobs=jobs)
    progress = item_progress("auditing")
    with progress:
        task = progress.add_task("audit", total=count_files(paths), current="")

        def advance(path: str) -> None:
            progress.update(task, advance=1, current=os.path.basename(path))

        return audit_paths(paths, options, jobs=jobs, progress=advance)


def _input_errors(report: AuditReport) -> list[str]:
    messages = list(report.errors)
    for result in report.files:
        if result.error is None:
            continue
        # The engine's messages usually name the file already; add it where one does not.
        if result.path in result.error:
            messages.append(result.error)
        else:
            messages.append(f"{result.path}: {result.error}")
    return messages


def _summary(
    report: AuditReport, code: int, fail_on: Severity, min_confidence: Confidence, exit_zero: bool
) -> str:
    # Same wording as the end of the text report, plus why the exit code is what it is.
    from pgolf_cli.report.audit.text import count, summary_line

    counts = count(report)
    line = escape(summary_line(counts))
    if code == EXIT_ERROR:
        line += "; [red]exit 2[/]: some input could not be audited"
    elif code == EXIT_FINDINGS:
        line += (
            f"; [red]exit 1[/]: findings at {fail_on.value} or above with "
            f"{min_confidence.value} confidence or more"
        )
    elif exit_zero and counts.findings:
        line += "; exit 0 because of --exit-zero"
    return line
