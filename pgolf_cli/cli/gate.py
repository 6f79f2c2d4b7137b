"""``pgolf gate``: the verdict on a pull request to the challenge repository."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pgolf_cli.challenge import ARTIFACT_LIMIT_BYTES
from pgolf_cli.cli._common import STDOUT, crash_exits_2, emit_report, fail, pair_outputs
from pgolf_cli.cli._options import GitRepo, MaxFileBytes, Outputs, Quiet, repeated_format
from pgolf_cli.console import stderr_console
from pgolf_cli.report.gate import FORMATS

if TYPE_CHECKING:
    from pgolf_cli.gate.model import GateReport


# The --format choices are the report's table of renderers.
if TYPE_CHECKING:
    GateFormat = str
else:
    GateFormat = FORMATS.choice


Base = Annotated[
    str | None,
    typer.Option(
        "--base",
        metavar="REF",
        help="The branch or commit the pull request targets. The diff is taken from its "
        "merge base with --head; existing records are read from its tree.",
        show_default="the main branch",
    ),
]
Head = Annotated[str, typer.Option("--head", metavar="REF", help="The pull request's head commit.")]
Baseline = Annotated[
    Path | None,
    typer.Option(
        "--baseline",
        metavar="RECORD_DIR",
        help="A records folder on disk to test significance against, instead of the best "
        "record of the track in the base tree.",
        show_default=False,
    ),
]
Formats = Annotated[list[GateFormat] | None, repeated_format(FORMATS, "text")]


@crash_exits_2
def gate(
    repo: GitRepo = Path("."),
    base: Base = None,
    head: Head = "HEAD",
    baseline: Baseline = None,
    formats: Formats = None,
    outputs: Outputs = None,
    max_file_bytes: MaxFileBytes = ARTIFACT_LIMIT_BYTES,
    quiet: Quiet = False,
) -> None:
    """Give a pull request to the challenge repository one verdict, with evidence.

    Checks the diff's shape (exactly one new folder records/<track>/YYYY-MM-DD_Description/,
    nothing else changed, no symlinks, no oversized or unexplained binary files), then verifies
    and audits that folder as it is at --head, and holds a record claim to the README criterion
    against the best existing record of its track. The pull request is read only through git
    objects: nothing from it is checked out, executed or imported.

    [bold]pgolf gate --base origin/main --head pr-head[/]
    [bold]pgolf gate -f markdown -o comment.md -f sarif -o pgolf.sarif -f json -o gate.json[/]

    Policy. [bold]fail[/] only for a rule break the challenge enforces, with its evidence: an
    audit error; over the 16,000,000-byte cap by the folder's own evidence; training or
    evaluation past 600 s by the logs; a change to an existing record or outside records/; a
    missing required file (README.md, train_gpt.py, and for a record claim submission.json and
    a train log). [bold]needs-review[/] for what a maintainer weighs: a non-record folder
    without submission.json or logs, legacy or non-schema json keys, a record
    claim short of the README's bar (Δ nats, p, seeds), fewer than 3 seeds, code counted by a
    wrapper scheme, extra scripts. [bold]pass[/] when nothing needs a human. `pgolf verify` uses
    the same severities.

    Exit codes: [bold]0[/] pass; [bold]1[/] fail; [bold]3[/] needs-review; [bold]2[/] the
    repository, a ref or an option cannot be used, or pgolf itself failed.
    """
    from pgolf_cli.errors import PgolfInputError
    from pgolf_cli.gate.run import GateOptions, run_gate
    from pgolf_cli.report.gate import render_markdown

    targets = pair_outputs(formats or ["text"], outputs or [])
    options = GateOptions(base=base, head=head, baseline=baseline, max_file_bytes=max_file_bytes)
    try:
        report = run_gate(repo, options)
    except PgolfInputError as problem:
        fail(str(problem))

    for fmt, output in targets:
        emit_report(FORMATS, report, fmt, output)
        if fmt == "github":
            _write_job_summary(render_markdown(report))

    # A text report on stdout ends with the verdict already; elsewhere stderr gets a line.
    if not quiet and any(fmt != "text" or o not in (None, STDOUT) for fmt, o in targets):
        stderr_console().print(_summary(report), soft_wrap=True)
    raise typer.Exit(report.exit_code)


def _summary(report: GateReport) -> str:
    counts = report.counts()
    return (
        f"pgolf gate: {report.verdict.value} ({counts['error']} error(s), "
        f"{counts['warning']} warning(s)); exit {report.exit_code}"
    )


def _write_job_summary(markdown: str) -> None:
    """Append the markdown report to the job summary when running in GitHub Actions."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return
    try:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown)
    except OSError as problem:
        fail(f"cannot write the job summary to {summary}: {problem.strerror or problem}")
