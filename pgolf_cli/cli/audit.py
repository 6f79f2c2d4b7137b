"""``pgolf audit``: the static compliance check of training scripts."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from pgolf_cli.audit.findings import Confidence, Severity
from pgolf_cli.audit.policy import EXIT_ERROR, EXIT_FINDINGS, exit_code
from pgolf_cli.cli._common import (
    crash_exits_2,
    error,
    fail,
    parse_selectors,
)
from pgolf_cli.config import AuditConfig, ConfigError, load_audit_config
from pgolf_cli.console import (
    DEFAULT_WIDTH,
    color_enabled,
    is_terminal,
    item_progress,
    report_width,
    stderr_console,
    write_result,
)
from pgolf_cli.files import write_atomically
from pgolf_cli.report.audit import FORMATS

if TYPE_CHECKING:
    from pgolf_cli.audit.engine import AuditOptions
    from pgolf_cli.audit.findings import AuditReport


# The --format choices are the report's table of renderers.
if TYPE_CHECKING:
    AuditFormat = str
else:
    AuditFormat = FORMATS.choice


@crash_exits_2
def audit(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Python files or directories to audit. A directory is a records folder: its "
            "[bold]*.py[/] files are searched recursively, each script is analysed with the "
            "files it imports or execs from the folder, and C/C++/CUDA sources are scanned.",
            metavar="PATH...",
            show_default=False,
        ),
    ],
    report_format: Annotated[
        AuditFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="Report format. [dim]\\[default: text, or [bold]format[/] from the config][/]",
            show_default=False,
            case_sensitive=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the report to this file instead of stdout (replaced atomically).",
            metavar="FILE",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            help="Only run these rules: comma-separated ids or prefixes ([bold]PG101,PG2[/]); "
            "may repeat.",
            metavar="IDS",
            show_default=False,
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            help="Skip these rules: comma-separated ids or prefixes; may repeat.",
            metavar="IDS",
            show_default=False,
        ),
    ] = None,
    fail_on: Annotated[
        Severity | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a finding has at least this severity. [dim]\\[default: error][/]",
            show_default=False,
            case_sensitive=False,
        ),
    ] = None,
    min_confidence: Annotated[
        Confidence | None,
        typer.Option(
            "--min-confidence",
            help="Only findings with at least this confidence can fail the run. "
            "[dim]\\[default: medium][/]",
            show_default=False,
            case_sensitive=False,
        ),
    ] = None,
    exit_zero: Annotated[
        bool,
        typer.Option(
            "--exit-zero",
            help="Exit 0 even when findings would fail the run (errors still exit 2).",
        ),
    ] = False,
    show_suppressed: Annotated[
        bool,
        typer.Option(
            "--show-suppressed", help="Also list findings silenced by a suppression comment."
        ),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            metavar="N",
            help="Worker processes. [dim]\\[default: the number of CPUs][/]",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No progress bar and no summary line; errors still print."
        ),
    ] = False,
) -> None:
    """Check training scripts against the Parameter Golf rules, without running them.

    The report goes to stdout (or [bold]--output[/]); progress and the summary go to stderr.

    Exit codes: [bold]0[/] clean; [bold]1[/] findings at or above [bold]--fail-on[/] with at least [bold]--min-confidence[/]; [bold]2[/] usage error or input that could not be audited.
    """
    # Imported here so that `pgolf --help`, `--version` and shell completion stay fast: the
    # engine pulls in libcst and the whole rule catalogue.
    from pgolf_cli.audit.engine import AuditOptions
    from pgolf_cli.audit.registry import all_rules

    try:
        config = load_audit_config(Path.cwd())
    except ConfigError as problem:
        fail(str(problem))

    known_ids = [rule.id for rule in all_rules()]
    options = AuditOptions(
        select=_selectors(select, config.select, known_ids, "--select", config, "select"),
        ignore=_selectors(ignore, config.ignore, known_ids, "--ignore", config, "ignore"),
    )
    chosen_format = report_format or config.format or "text"
    gate_severity = fail_on or config.fail_on or Severity.ERROR
    gate_confidence = min_confidence or config.min_confidence or Confidence.MEDIUM

    report = _run_audit(paths, options, jobs=jobs, show_progress=not quiet)
    to_terminal = output is None and chosen_format == "text"
    text = FORMATS.render(
        report,
        chosen_format,
        color=to_terminal and color_enabled(sys.stdout),
        width=report_width() if output is None else DEFAULT_WIDTH,
        show_suppressed=show_suppressed,
    )

    if output is None:
        write_result(text)
    else:
        try:
            write_atomically(output, text)
        except OSError as problem:
            fail(f"cannot write the report to {output}: {problem.strerror or problem}")

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


def _selectors(
    flag_values: list[str] | None,
    config_values: tuple[str, ...] | None,
    known_ids: list[str],
    flag: str,
    config: AuditConfig,
    key: str,
) -> tuple[str, ...]:
    # A flag replaces the config's list rather than extending it, like every other setting.
    if flag_values is not None:
        return parse_selectors(flag_values, known_ids, source=flag)
    if config_values is not None:
        source = f"{config.source} {config.section} {key}"
        return parse_selectors(config_values, known_ids, source=source)
    return ()


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
