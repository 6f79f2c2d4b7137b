"""``pgolf stats``: does a candidate beat a baseline by the record bar, significantly?"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from pgolf_cli.cli._common import crash_exits_2, fail
from pgolf_cli.console import stdout_console, write_result
from pgolf_cli.records.stats import DEFAULT_ALPHA, DEFAULT_DELTA_NATS

if TYPE_CHECKING:
    from pgolf_cli.records.stats import Decision, Factor, Side, Significance

EXIT_SIGNIFICANT = 0
EXIT_NOT_SIGNIFICANT = 1


class StatsFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class Tokenizer(StrEnum):
    """The tokenizers of the factor table (records.stats.TOKENIZER_NATS_PER_BPB)."""

    SP1024 = "sp1024"
    SP4096 = "sp4096"
    SP8192 = "sp8192"
    SP8192_CASEOPS = "sp8192-caseops"
    BYTE260 = "byte260"


CandidateItems = Annotated[
    list[str] | None,
    typer.Argument(
        help="The candidate, like [bold]--candidate[/].",
        metavar="CANDIDATE...",
        show_default=False,
    ),
]
Candidate = Annotated[
    list[str] | None,
    typer.Option(
        "--candidate",
        "-c",
        metavar="VALUE...",
        help="The new run's per-seed val_bpb ([bold]1.1150812 1.1143739[/] or "
        "[bold]1.115,1.114[/]), train logs (each one seed), a run folder of [bold]pgolf "
        "train[/] (runs/<name>: its seeds' logs) or a records folder (its logs, else its "
        "submission.json's per-seed values).",
        show_default=False,
    ),
]
Baseline = Annotated[
    list[str] | None,
    typer.Option(
        "--baseline",
        "-b",
        metavar="VALUE...",
        help="The record to beat, in the same forms; at least 2 seeds.",
        show_default=False,
    ),
]
BaselineMean = Annotated[
    float | None,
    typer.Option(
        "--baseline-mean",
        metavar="BPB",
        help="Only the baseline's mean val_bpb is known: use the one-sample test "
        "(df = candidate seeds - 1).",
        show_default=False,
    ),
]
BaselineN = Annotated[
    int | None,
    typer.Option(
        "--baseline-n",
        min=1,
        metavar="N",
        help="Seeds behind [bold]--baseline-mean[/] (reported only).",
        show_default=False,
    ),
]
DeltaNats = Annotated[
    float,
    typer.Option(
        "--delta-nats", min=0.0, metavar="NATS", help="The bar to beat, in nats per token."
    ),
]
Alpha = Annotated[
    float, typer.Option("--alpha", min=0.0, max=1.0, metavar="P", help="Significance level.")
]
NatsPerBpb = Annotated[
    float | None,
    typer.Option(
        "--nats-per-bpb",
        metavar="X",
        help="The unit factor (val_loss / val_bpb = ln 2 x bytes per token). "
        "[dim]\\[default: the candidate's own val_loss / val_bpb][/]",
        show_default=False,
    ),
]
TokenizerName = Annotated[
    Tokenizer | None,
    typer.Option(
        "--tokenizer",
        help="Use this tokenizer's measured factor (docs/challenge.md).",
        case_sensitive=False,
        show_default=False,
    ),
]
Format = Annotated[
    StatsFormat,
    typer.Option("--format", "-f", help="Output format.", case_sensitive=False),
]


@crash_exits_2
def stats(
    candidate_items: CandidateItems = None,
    candidate: Candidate = None,
    baseline: Baseline = None,
    baseline_mean: BaselineMean = None,
    baseline_n: BaselineN = None,
    delta_nats: DeltaNats = DEFAULT_DELTA_NATS,
    alpha: Alpha = DEFAULT_ALPHA,
    nats_per_bpb: NatsPerBpb = None,
    tokenizer: TokenizerName = None,
    output_format: Format = StatsFormat.TEXT,
) -> None:
    """Test that a candidate beats a baseline by [bold]0.005 nats[/] per token at [bold]p < 0.01[/].

    The shifted one-sided Welch test of docs/challenge.md ("Significance"), on per-seed val_bpb, with the bar
    converted into bpb by the nats-per-bpb factor (stated, with where it came from). Shown as
    information: the same test without the bar, and at p < 0.25 (the leaderboard's practice).

    [bold]pgolf stats -c 1.1151 1.1144 1.1148 -b 1.1192 1.1200 1.1189 --tokenizer sp1024[/]
    [bold]pgolf stats runs/new/ --baseline records/track_10min_16mb/<record>/[/]

    Exit codes: [bold]0[/] significant; [bold]1[/] not significant; [bold]2[/] bad input.
    """
    from pgolf_cli.errors import PgolfInputError
    from pgolf_cli.records.stats import StatsError, compare

    candidate_list = [*(candidate_items or []), *(candidate or [])]
    _check_flags(candidate_list, baseline, baseline_mean, baseline_n, nats_per_bpb, tokenizer)
    try:
        comparison = compare(
            candidate_list,
            baseline,
            baseline_mean=baseline_mean,
            baseline_n=baseline_n,
            nats_per_bpb=nats_per_bpb,
            tokenizer=None if tokenizer is None else tokenizer.value,
            delta_nats=delta_nats,
            alpha=alpha,
        )
    except (PgolfInputError, StatsError) as problem:
        fail(str(problem))
    except OSError as problem:
        fail(f"{problem.filename or 'input'}: cannot read it ({problem.strerror or problem})")

    if output_format is StatsFormat.JSON:
        write_result(json.dumps(comparison.as_dict(), indent=2))
    else:
        _print_text(comparison.result, comparison.candidate, comparison.baseline)
    significant = comparison.result.significant
    raise typer.Exit(EXIT_SIGNIFICANT if significant else EXIT_NOT_SIGNIFICANT)


def _check_flags(
    candidate: list[str],
    baseline: list[str] | None,
    baseline_mean: float | None,
    baseline_n: int | None,
    nats_per_bpb: float | None,
    tokenizer: Tokenizer | None,
) -> None:
    """The flags that exclude or need each other."""
    if not candidate:
        fail("give the candidate's per-seed val_bpb values, train logs or records folder")
    if baseline and baseline_mean is not None:
        fail("give either --baseline or --baseline-mean, not both")
    if not baseline and baseline_mean is None:
        fail("give the baseline: --baseline VALUE... or --baseline-mean BPB")
    if baseline_n is not None and baseline_mean is None:
        fail("--baseline-n goes with --baseline-mean; with --baseline the seeds are counted")
    if nats_per_bpb is not None and tokenizer is not None:
        fail("give either --nats-per-bpb or --tokenizer, not both")


# --------------------------------------------------------------------------------------------
# Text output
# --------------------------------------------------------------------------------------------


def _print_text(result: Significance, cand: Side, base: Side | None) -> None:
    console = stdout_console()
    factor = result.factor.nats_per_bpb

    seeds = Table(title="Per-seed scores", title_justify="left")
    for column in ("side", "seed", "val_bpb", "val_loss", "from"):
        seeds.add_column(
            column,
            justify="left" if column in ("side", "from") else "right",
            overflow="fold" if column == "from" else "ellipsis",
        )
    for name, side in (("candidate", cand), ("baseline", base)):
        for score in side.scores if side else ():
            seeds.add_row(
                name,
                "-" if score.seed is None else str(score.seed),
                f"{score.val_bpb:.8f}",
                _maybe(score.val_loss),
                escape(score.source),
            )
    console.print(seeds)

    summary = Table(title="Means (nats per token = bpb × factor)", title_justify="left")
    for column in ("side", "n", "mean bpb", "std bpb", "mean nats", "std nats"):
        summary.add_column(column, justify="left" if column == "side" else "right")
    for name, sample in (("candidate", result.candidate), ("baseline", result.baseline)):
        summary.add_row(
            name,
            "-" if sample.n is None else str(sample.n),
            f"{sample.mean:.8f}",
            _maybe(sample.std),
            f"{sample.mean * factor:.8f}",
            _maybe(None if sample.std is None else sample.std * factor),
        )
    console.print(summary)

    form = "Welch, Welch–Satterthwaite df" if result.kind == "welch" else "one-sample, df = n − 1"
    tests = Table(
        title=f"One-sided t-tests ({form}); H0: candidate ≥ baseline − shift",
        title_justify="left",
    )
    for column in ("test", "shift bpb", "shift nats", "t", "df", "p", "level", "result"):
        tests.add_column(column, justify="left" if column in ("test", "result") else "right")
    for decision in (result.shifted, result.unshifted, result.progression):
        tests.add_row(*_test_row(decision, factor))
    console.print(tests)

    lines = [
        f"Δ (candidate − baseline): {result.delta_bpb:+.8f} bpb = "
        f"{result.delta_nats_per_token:+.8f} nats per token",
        f"factor: {factor:.5f} nats per bpb = ln 2 × {result.factor.bytes_per_token:.5f} bytes "
        f"per token, {_provenance(result.factor)}",
        f"bar: {result.delta_nats:g} nats = {result.threshold_bpb:.8f} bpb",
    ]
    for line in lines:
        console.print(escape(line), soft_wrap=True)
    style = "bold green" if result.significant else "bold red"
    console.print(f"verdict: [{style}]{escape(result.verdict)}[/]", soft_wrap=True)
    for note in result.warnings:
        console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)


def _provenance(factor: Factor) -> str:
    match = f" (matches {factor.tokenizer})" if factor.tokenizer else ""
    if factor.source == "override":
        return f"given with --nats-per-bpb{match}"
    if factor.source == "tokenizer":
        return f"--tokenizer {factor.tokenizer}: {factor.detail}"
    return f"{factor.detail}{match}"


def _test_row(decision: Decision, factor: float) -> tuple[str, ...]:
    test = decision.test
    result = "[green]pass[/]" if decision.passed else "[red]fail[/]"
    return (
        decision.name,
        f"{test.shift:.8f}",
        f"{test.shift * factor:.6f}",
        f"{test.t:.4f}",
        f"{test.df:.4f}",
        _p(test.p),
        f"p < {decision.alpha:g}",
        result,
    )


def _p(p: float) -> str:
    return f"{p:.3e}" if p < 1e-4 else f"{p:.6f}"


def _maybe(value: float | None) -> str:
    return "-" if value is None else f"{value:.8f}"
