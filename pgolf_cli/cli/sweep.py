"""``pgolf sweep``: the gate's verdict on every pull request of a challenge repository."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from pgolf_cli.challenge import ARTIFACT_LIMIT_BYTES
from pgolf_cli.cli._common import crash_exits_2, emit_report, fail, pair_outputs
from pgolf_cli.cli._options import GitRepo, MaxFileBytes, Outputs, Quiet, repeated_format
from pgolf_cli.console import is_terminal, stderr_console
from pgolf_cli.gate.git import display_path as inert
from pgolf_cli.report.sweep import FORMATS

if TYPE_CHECKING:
    from pgolf_cli.sweep.model import RefResult, SweepReport
    from pgolf_cli.sweep.run import SweepOptions


# The --format choices are the report's table of renderers.
if TYPE_CHECKING:
    SweepFormat = str
else:
    SweepFormat = FORMATS.choice


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/pgolf/sweep``, else ``~/.cache/pgolf/sweep``."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "pgolf" / "sweep"


Refs = Annotated[
    list[str] | None,
    typer.Option(
        "--refs",
        metavar="PATTERN",
        help="The refs to judge, as `git for-each-ref` patterns; repeat for several.",
        show_default="refs/pull/*/head",
    ),
]
Base = Annotated[
    str | None,
    typer.Option(
        "--base",
        metavar="REF",
        help="The branch the pull requests target: each is judged against its merge base "
        "with it, and existing records are read from its tree.",
        show_default="the main branch",
    ),
]
Formats = Annotated[list[SweepFormat] | None, repeated_format(FORMATS, "markdown")]
SweepJobs = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        metavar="N",
        min=1,
        help="Worker processes; refs are independent.",
        show_default="all cores",
    ),
]
Cache = Annotated[
    Path | None,
    typer.Option(
        "--cache",
        metavar="DIR",
        help="The cache of audits and verdicts: reused across refs, runs and machines "
        "(several sweeps may share it at once).",
        show_default="$XDG_CACHE_HOME/pgolf/sweep",
    ),
]
NoCache = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Start from an empty cache that is deleted afterwards (audits are still "
        "shared between the refs of this run).",
    ),
]
Shard = Annotated[
    str,
    typer.Option(
        "--shard",
        metavar="K/N",
        help="Judge only part K of N of the refs (split by a hash of the ref name), for N "
        "machines sharing the cache.",
    ),
]
Compare = Annotated[
    Path | None,
    typer.Option(
        "--compare",
        metavar="OLD.json",
        help="An earlier sweep's json report: list the refs whose verdict changed, and why.",
        show_default=False,
    ),
]


@crash_exits_2
def sweep(
    repo: GitRepo = Path("."),
    refs: Refs = None,
    base: Base = None,
    formats: Formats = None,
    outputs: Outputs = None,
    jobs: SweepJobs = None,
    cache: Cache = None,
    no_cache: NoCache = False,
    shard: Shard = "1/1",
    compare: Compare = None,
    max_file_bytes: MaxFileBytes = ARTIFACT_LIMIT_BYTES,
    quiet: Quiet = False,
) -> None:
    """Judge every pull request of a challenge repository with the gate, in one run.

    For each ref (default: every refs/pull/*/head), the verdict of [bold]pgolf gate[/] and its
    reasons, against the ref's merge base with --base, read from git objects only: nothing is
    checked out or executed. A folder's audit is cached by the files it reads and reused by
    every pull request that ships the same scripts; a ref's verdict is cached by its commits, so
    a second sweep reads the cache and an interrupted one resumes.

    [bold]git fetch origin '+refs/pull/*/head:refs/pull/*/head'[/]
    [bold]pgolf sweep --base origin/main -f html -o sweep.html -f json -o sweep.json[/]
    [bold]pgolf sweep --compare last-week.json -f markdown[/]

    Exit codes: [bold]0[/] every ref was judged (whatever the verdicts); [bold]2[/] the
    repository, a pattern, an option or the cache cannot be used, or a ref could not be judged
    (its row says why; the reports are still written).
    """
    from pgolf_cli.sweep.model import ERROR, compare_report
    from pgolf_cli.sweep.run import DEFAULT_PATTERNS, SweepOptions

    targets = pair_outputs(formats or ["markdown"], outputs or [])
    previous = _previous(compare)
    with _cache_dir(cache, no_cache) as directory:
        options = SweepOptions(
            cache=directory,
            patterns=tuple(refs or DEFAULT_PATTERNS),
            base=base,
            jobs=jobs or os.cpu_count() or 1,
            shard=_shard(shard),
            max_file_bytes=max_file_bytes,
        )
        report = _judge(repo, options, show=not quiet and is_terminal(sys.stderr))
    if previous is not None and compare is not None:
        report = compare_report(report, previous, str(compare))
    for fmt, output in targets:
        emit_report(FORMATS, report, fmt, output)
    if not quiet:
        stderr_console().print(
            _summary(report, compared=previous is not None), soft_wrap=True, highlight=False
        )
    errors = report.by_verdict()[ERROR]
    if errors:
        fail(f"{errors} ref(s) could not be judged; their rows say why")
    raise typer.Exit(0)


def _shard(shard: str) -> tuple[int, int]:
    from pgolf_cli.sweep.run import parse_shard

    try:
        return parse_shard(shard)
    except ValueError as problem:
        fail(f"{problem}. Pass --shard K/N with 1 <= K <= N")


def _previous(compare: Path | None) -> dict[str, dict[str, Any]] | None:
    """The earlier sweep's json report of ``--compare``."""
    from pgolf_cli.errors import PgolfInputError
    from pgolf_cli.sweep.model import load_previous

    if compare is None:
        return None
    try:
        return load_previous(compare)
    except PgolfInputError as problem:
        fail(str(problem))


def _judge(repo: Path, options: SweepOptions, *, show: bool) -> SweepReport:
    from pgolf_cli.errors import PgolfInputError
    from pgolf_cli.sweep.run import run_sweep

    try:
        return _with_progress(repo, options) if show else run_sweep(repo, options)
    except PgolfInputError as problem:
        fail(str(problem))


def _summary(report: SweepReport, *, compared: bool) -> str:
    stats = report.stats
    rate = stats.audit_hit_rate
    return (
        f"pgolf sweep: {len(report.results)} refs: "
        + ", ".join(f"{n} {verdict}" for verdict, n in report.by_verdict().items())
        + f"; {stats.refs_from_cache} from the cache, {stats.audits_run} audits run, "
        f"{stats.audits_reused} reused"
        + (f" ({rate:.0%})" if rate is not None else "")
        + f"; {stats.seconds:.1f} s"
        + (f"; {len(report.changes)} verdict change(s)" if compared else "")
    )


@contextmanager
def _cache_dir(cache: Path | None, no_cache: bool) -> Iterator[Path]:
    if no_cache:
        if cache is not None:
            fail("--cache and --no-cache contradict each other: pass one")
        with tempfile.TemporaryDirectory(prefix="pgolf-sweep-") as temporary:
            yield Path(temporary)
    else:
        yield cache if cache is not None else default_cache()


def _with_progress(repo: Path, options: SweepOptions) -> SweepReport:
    """The sweep with a progress bar and the time left on stderr."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from pgolf_cli.sweep.run import run_sweep

    progress = Progress(
        SpinnerColumn(),
        TextColumn("judging refs"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("[dim]{task.fields[current]}"),
        console=stderr_console(),
        transient=True,
    )
    with progress:
        task = progress.add_task("sweep", total=None, current="listing refs")

        def started(total: int) -> None:
            progress.update(task, total=total, current="")

        def advance(result: RefResult) -> None:
            progress.update(task, advance=1, current=escape(inert(result.ref)))

        return run_sweep(repo, options, started=started, progress=advance)
