"""``pgolf package``: turn a training run into a records folder for a pull request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from pgolf_cli.cli._common import crash_exits_2, error, fail, parse_seeds
from pgolf_cli.console import stderr_console, stdout_console

if TYPE_CHECKING:
    from pgolf_cli.records.package import PackageResult, PackCodec
    from pgolf_cli.records.verify import FolderReport

EXIT_OK = 0
EXIT_VERIFY_FAILED = 1
EXIT_BAD_INPUT = 2


class TrackChoice(StrEnum):
    TEN_MIN = "10min_16mb"
    NON_RECORD = "non_record_16mb"


class PackCodecChoice(StrEnum):
    LZMA = "lzma"
    BROTLI = "brotli"


_CODECS: dict[PackCodecChoice, PackCodec] = {
    PackCodecChoice.LZMA: "lzma",
    PackCodecChoice.BROTLI: "brotli",
}


Run = Annotated[
    Path | None,
    typer.Option(
        "--run",
        "-r",
        metavar="DIR",
        help="The run folder of [bold]pgolf train[/] (runs/<name>). [dim]\\[default: the "
        "most recent run under the runs folder in which a seed scored][/]",
        show_default=False,
        file_okay=False,
    ),
]
Seeds = Annotated[
    list[str] | None,
    typer.Option(
        "--seeds",
        "-s",
        metavar="SEED...",
        help="Seeds to package: [bold]--seeds 42 1337 7[/] or [bold]--seeds 42,1337,7[/]. "
        "[dim]\\[default: every seed of the run][/]",
        show_default=False,
    ),
]
Name = Annotated[
    str | None,
    typer.Option(
        "--name",
        "-n",
        metavar="DESCRIPTION",
        help="The folder's description, e.g. [bold]SP8192_LegalTTT[/] (letters, digits, "
        "._+-; no spaces); the folder is <date>_<description>.",
        show_default=False,
    ),
]
Author = Annotated[
    str | None, typer.Option("--author", metavar="NAME", help="Your name.", show_default=False)
]
GithubId = Annotated[
    str | None,
    typer.Option("--github-id", metavar="LOGIN", help="Your GitHub login.", show_default=False),
]
Blurb = Annotated[
    str | None,
    typer.Option(
        "--blurb", metavar="TEXT", help="A sentence or two on what is new.", show_default=False
    ),
]
Track = Annotated[
    TrackChoice,
    typer.Option("--track", "-t", help="The leaderboard track.", case_sensitive=False),
]
Date = Annotated[
    str | None,
    typer.Option(
        "--date",
        metavar="YYYY-MM-DD",
        help="The folder's date. [dim]\\[default: today][/]",
        show_default=False,
    ),
]
Out = Annotated[
    Path,
    typer.Option(
        "--out",
        "-o",
        metavar="DIR",
        help="The records tree; the folder goes to DIR/track_<track>/.",
        file_okay=False,
    ),
]
Baseline = Annotated[
    Path | None,
    typer.Option(
        "--baseline",
        "-b",
        metavar="RECORD_DIR",
        help="The record to beat: adds the significance test (docs/challenge.md).",
        show_default=False,
        file_okay=False,
    ),
]
PackCode = Annotated[
    PackCodecChoice | None,
    typer.Option(
        "--pack-code",
        help="Ship train_gpt.py as a self-extracting lzma or brotli + base85 wrapper.",
        case_sensitive=False,
        show_default=False,
    ),
]
Credit = Annotated[
    list[str] | None,
    typer.Option(
        "--credit",
        metavar="WHAT=WHO",
        help="Attribution, e.g. [bold]--credit 'score-first TTT=@someone (PR #549)'[/]; "
        "may repeat.",
        show_default=False,
    ),
]
Force = Annotated[
    bool, typer.Option("--force", "-f", help="Replace an existing folder of the same name.")
]


@crash_exits_2
def package(
    run: Run = None,
    seeds: Seeds = None,
    name: Name = None,
    author: Author = None,
    github_id: GithubId = None,
    blurb: Blurb = None,
    track: Track = TrackChoice.TEN_MIN,
    date: Date = None,
    out: Out = Path("records"),
    baseline: Baseline = None,
    pack_code: PackCode = None,
    credit: Credit = None,
    force: Force = False,
) -> None:
    """Package a training run as [bold]records/track_<track>/<date>_<name>/[/].

    Writes [bold]train_seed<S>.log[/] per seed, [bold]train_gpt.py[/] as run,
    [bold]submission.json[/] (computed from the logs, strict schema), [bold]README.md[/] and
    [bold]requirements.txt[/]. The folder is built aside, verified with [bold]pgolf verify[/],
    and only then moved into place; a folder that fails verification is not kept. With
    [bold]--baseline[/] the significance test goes into the README and submission.json; a
    result that does not beat the baseline is still written, with a warning.

    [bold]pgolf package --seeds 42 1337 7 --name SP8192_LegalTTT --author 'Ada L' --github-id ada
    --blurb 'Score-first TTT on the SP8192 stack'[/]

    Exit codes: [bold]0[/] packaged; [bold]1[/] the folder failed verification (nothing
    written); [bold]2[/] bad input.
    """
    from pgolf_cli.records.package import PackageRequest, check_name, parse_date
    from pgolf_cli.records.package import package as build

    name, author, github_id, blurb = _required(name, author, github_id, blurb)
    with _package_errors(track):
        check_name(name)
        day = parse_date(date) if date is not None else None
        request = PackageRequest(
            run_dir=run if run is not None else _latest_run(),
            name=name,
            author=author,
            github_id=github_id,
            track="10min_16mb" if track is TrackChoice.TEN_MIN else "non_record_16mb",
            seeds=parse_seeds(seeds) if seeds is not None else None,
            out=out,
            blurb=blurb,
            baseline=baseline,
            pack_code=None if pack_code is None else _CODECS[pack_code],
            force=force,
            credits=_credits(credit or []),
            date=day or dt.date.today(),
        )
        result = build(request)
    _print_result(result)
    raise typer.Exit(EXIT_OK)


@contextmanager
def _package_errors(track: TrackChoice) -> Iterator[None]:
    """A folder that failed verification exits 1 with its failed checks; bad input exits 2."""
    from pgolf_cli.errors import PgolfInputError
    from pgolf_cli.records.package import VerifyFailed

    try:
        yield
    except VerifyFailed as failed:
        _print_failed(failed.report, track)
        raise typer.Exit(EXIT_VERIFY_FAILED) from None
    except PgolfInputError as problem:
        fail(str(problem), EXIT_BAD_INPUT)
    except OSError as problem:
        fail(f"{problem.filename or 'a file'}: {problem.strerror or problem}", EXIT_BAD_INPUT)


def _required(
    name: str | None, author: str | None, github_id: str | None, blurb: str | None
) -> tuple[str, str, str, str]:
    """The four flags without a default, or a message naming the missing ones."""
    given = {"--name": name, "--author": author, "--github-id": github_id, "--blurb": blurb}
    missing = [flag for flag, value in given.items() if value is None]
    if missing or name is None or author is None or github_id is None or blurb is None:
        fail(
            f"missing {', '.join(missing)}: pgolf package needs the folder name, who to credit "
            "and what is new",
            EXIT_BAD_INPUT,
        )
    return name, author, github_id, blurb


def _latest_run() -> Path:
    """The most recent run under the runs folder (pgolf.toml's ``out``, else ./runs) in which
    a seed scored, saying which runs it passed over."""
    from pgolf_cli.config import ConfigError, load_train_config, runs_dir
    from pgolf_cli.records.package import latest_run

    try:
        runs_root = runs_dir(None, load_train_config(Path.cwd())).value
    except ConfigError as problem:
        fail(str(problem))
    latest = latest_run(runs_root)
    for skipped in latest.skipped:
        stderr_console().print(
            f"[yellow]skipped[/] {escape(str(skipped))}: no seed finished with a score",
            soft_wrap=True,
        )
    stderr_console().print(f"packaging the most recent run: {escape(str(latest.path))}")
    return latest.path


def _credits(values: Sequence[str]) -> dict[str, str]:
    credits: dict[str, str] = {}
    for value in values:
        what, sep, who = value.partition("=")
        if not sep or not what.strip() or not who.strip():
            fail(
                f"--credit {value!r}: write it as WHAT=WHO, e.g. 'score-first TTT=@someone'",
                EXIT_BAD_INPUT,
            )
        credits[what.strip()] = who.strip()
    return credits


def _print_failed(report: FolderReport, track: TrackChoice) -> None:
    error("the packaged folder failed verification, so it was not written")
    console = stderr_console()
    for check in report.checks:
        if check.status != "fail":
            continue
        console.print(
            f"  [red]fail[/] [bold]{escape(check.id)}[/]: {escape(check.title)}: "
            f"{escape(check.message)}",
            soft_wrap=True,
        )
        for line in check.evidence[:8]:
            console.print(f"      {escape(line)}", soft_wrap=True)
        if check.id == "seeds-count" and track is TrackChoice.TEN_MIN:
            _print_seeds_hint()


def _print_seeds_hint() -> None:
    stderr_console().print(
        "  fix: train more seeds ([bold]pgolf train --seeds 1337 42 7[/]), or package "
        "this run as a non-record submission with [bold]--track non_record_16mb[/]",
        soft_wrap=True,
    )


def _print_result(result: PackageResult) -> None:
    plan = result.plan
    submission = plan.submission
    console = stdout_console()
    status = stderr_console()
    for warning in plan.warnings:
        status.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)

    table = Table(title=escape(str(result.path)), title_justify="left")
    # "scoring pass": the eval time of the score line alone (pgolf train's "eval" is the
    # whole evaluation phase).
    for column in ("seed", "val_bpb", "val_loss", "artifact bytes", "train", "scoring pass", "log"):
        table.add_column(column, justify="left" if column in ("seed", "log") else "right")
    for run in plan.seeds:
        seed_result = submission.seed_results[str(run.seed)]
        table.add_row(
            str(run.seed),
            f"{run.score.val_bpb:.8f}",
            f"{run.score.val_loss:.8f}",
            f"{seed_result.artifact_bytes:,}",
            _seconds(seed_result.train_time_s),
            _seconds(seed_result.eval_time_s),
            run.log_file,
        )
    console.print(table)
    std = "-" if submission.val_bpb_std is None else f"{submission.val_bpb_std:.8f}"
    console.print(f"val_bpb {submission.val_bpb:.8f} ± {std} over {len(plan.seeds)} seed(s)")
    code = plan.code
    if code.packed:
        console.print(
            f"train_gpt.py packed with {code.packed}: {code.raw_bytes:,} -> "
            f"{code.shipped_bytes:,} bytes ({code.saved_bytes:,} saved per seed); decodes back "
            "to the exact script"
        )
    if plan.significance is not None:
        console.print(escape(f"significance: {plan.significance.verdict}"), soft_wrap=True)
        if not plan.significance.significant:
            status.print(
                "[yellow]warning:[/] the result does not clear the record bar against "
                f"{escape(str(plan.request.baseline))}; the folder is written with the test in its "
                "README, and a reviewer will not read it as a new record",
                soft_wrap=True,
            )
    counts = result.report.counts()
    console.print(
        f"verify: {counts['pass']} pass, {counts['warn']} warn, {counts['skip']} skip"
        + (" (replaced the existing folder)" if result.replaced else "")
    )
    for check in result.report.checks:
        if check.status == "warn":
            status.print(
                f"[yellow]verify warn[/] {escape(check.id)}: {escape(check.message)}",
                soft_wrap=True,
            )
            if check.id == "seeds-count" and plan.request.track == "10min_16mb":
                _print_seeds_hint()


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}s"
