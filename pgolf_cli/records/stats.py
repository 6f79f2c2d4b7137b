"""Significance of a record claim: the shifted one-sided t-tests of docs/challenge.md ("Significance").

A new record must beat the current best by at least ``delta_nats`` nats per token (0.005) at
p < ``alpha`` (0.01). Scores are per-seed ``val_bpb`` values, so the bar is converted into bpb
with a nats-per-bpb factor (``val_loss / val_bpb = ln 2 * bytes per token``); because the factor
is one constant, t, df and p are the same whether the test is read in bpb or in nats.

Sign convention: ``t = (mean_candidate - mean_baseline + shift) / SE``. A better (lower)
candidate gives a negative t, as in the Welch figures published with record #24, and the
one-sided p-value is the lower tail ``P(T <= t)``. The null hypothesis is
``mean_candidate - mean_baseline >= -shift``: the candidate is not better by more than ``shift``.

The Student-t distribution is computed here (:func:`student_t_cdf`) so the command does not
need scipy at run time; the tests compare it with scipy.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pgolf_cli.errors import PgolfInputError
from pgolf_cli.records.logs import log_files

if TYPE_CHECKING:
    from pgolf_cli.records.logs import ParsedLog, Score

#: The README's bar for a new record, in nats per token.
DEFAULT_DELTA_NATS = 0.005
#: The README's significance level for a new record.
DEFAULT_ALPHA = 0.01
#: The p-value below which the leaderboard accepted a progression in practice (the accepted
#: progressions quoted p-values up to 0.188).
PROGRESSION_ALPHA = 0.25

#: Measured nats-per-bpb factors (``val_loss / val_bpb`` on the full validation split) of the
#: challenge's tokenizers (docs/challenge.md, "Significance").
TOKENIZER_NATS_PER_BPB: Mapping[str, float] = {
    "sp1024": 1.68845,
    "sp4096": 2.30103,
    "sp8192": 2.58311,
    "sp8192-caseops": 2.18837,
    "byte260": 0.6929,
}

# A factor within this relative distance of a table entry is reported as that tokenizer's. The
# table's entries are 5 significant digits, and the closest two are 6 % apart.
_TOKENIZER_MATCH = 1e-3
# Per-seed val_loss/val_bpb ratios further apart than this were not scored with one tokenizer
# and validation set. 8-decimal scores agree to about 1e-7 and 4-decimal ones to about 1e-4;
# another tokenizer or val export moves the ratio by percents (docs/challenge.md).
_RATIO_SPREAD = 1e-3
# When the two sides' factors differ by more than this, they used different tokenizers.
_CROSS_TOKENIZER = 5e-3

TestKind = Literal["welch", "one_sample"]
FactorSource = Literal["candidate", "tokenizer", "override"]


class StatsError(ValueError):
    """The numbers cannot be tested: too few seeds, no variance, a bad parameter."""


# --------------------------------------------------------------------------------------------
# Student-t distribution
# --------------------------------------------------------------------------------------------

# The continued fraction stops when a step changes the value by less than this (relative).
_CF_EPS = 1e-16
_CF_TINY = 1e-300
_CF_MAX_STEPS = 20_000
# From this ``a = df / 2`` on, ln B(a, 1/2) comes from Stirling's series instead of lgamma.
_STIRLING_FROM = 50.0


def student_t_cdf(t: float, df: float) -> float:
    """``P(T <= t)`` for Student's t with ``df`` degrees of freedom (``df`` need not be whole).

    Computed as ``I_x(df/2, 1/2) / 2`` with ``x = df / (df + t^2)``, the regularized incomplete
    beta function evaluated by its continued fraction (modified Lentz). The tail on the side of
    ``t`` is computed directly, never as ``1 - something``, so small p-values keep their relative
    precision. Measured against 40-digit mpmath for 0.5 <= df <= 1e4 and |t| up to 1000: absolute
    error below 1e-14, relative error of the smaller tail below 1e-12 (scipy's own error near
    t = 0 is about 1e-11). tests/records/test_stats_tdist.py checks it against closed forms and
    scipy.
    """
    if math.isnan(t) or math.isnan(df):
        raise StatsError("the t statistic and the degrees of freedom must be numbers")
    if df <= 0:
        raise StatsError(f"degrees of freedom must be positive, got {df}")
    if t == 0:
        return 0.5
    tail = _t_tail(abs(t), df)
    return tail if t < 0 else 1.0 - tail


def _t_tail(r: float, df: float) -> float:
    """``P(T > r)`` for ``r > 0``."""
    if math.isinf(r):
        return 0.0
    a, b = df / 2.0, 0.5
    # x = df/(df + r^2) and y = 1 - x, both in logs: y -> 1 and x -> 0 for large r, and r^2
    # overflows long before the tail reaches zero (df = 1 decays like 1/r).
    z = r / math.sqrt(df)
    if z > 1e150:
        log_q = 2.0 * math.log(z)
        log1p_q = log_q + math.log1p(math.exp(-log_q))
    else:
        q = z * z
        log_q = math.log(q)
        log1p_q = math.log1p(q)
    log_x = -log1p_q
    log_y = log_q - log1p_q
    return 0.5 * _regularized_beta(a, b, math.exp(log_x), math.exp(log_y), log_x, log_y)


def _regularized_beta(a: float, b: float, x: float, y: float, log_x: float, log_y: float) -> float:
    """``I_x(a, b)`` with ``y = 1 - x`` (given separately to keep its precision)."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_beta = _log_beta(a, b)
    log_front = a * log_x + b * log_y - log_beta
    # The continued fraction converges quickly below the mean of the beta distribution; above
    # it, I_x(a, b) = 1 - I_y(b, a) is evaluated instead.
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, y) / b


def _log_beta(a: float, b: float) -> float:
    """``ln B(a, b)``, accurate also for the large ``a`` and ``b = 1/2`` of many degrees of freedom."""
    if b == 0.5 and a >= _STIRLING_FROM:
        # lgamma(a) - lgamma(a + 1/2) cancels to a few units in the last place of lgamma(a),
        # which is large; the difference is expanded directly instead (Stirling's series).
        return 0.5 * math.log(math.pi) - _log_gamma_half_step(a)
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _log_gamma_half_step(a: float) -> float:
    """``ln Gamma(a + 1/2) - ln Gamma(a)`` for large ``a``, from Stirling's series."""

    def series(z: float) -> float:
        # The Bernoulli terms B_2k / (2k (2k - 1) z^(2k - 1)) for k = 1..4; the first omitted
        # term is below 1e-18 for z >= 50.
        inv = 1.0 / z
        inv2 = inv * inv
        return inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)))

    return a * math.log1p(0.5 / a) - 0.5 + 0.5 * math.log(a) + series(a + 0.5) - series(a)


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function, by the modified Lentz method."""

    def nonzero(value: float) -> float:
        return value if abs(value) >= _CF_TINY else _CF_TINY

    c = 1.0
    d = 1.0 / nonzero(1.0 - (a + b) * x / (a + 1.0))
    result = d
    for m in range(1, _CF_MAX_STEPS + 1):
        m2 = 2 * m
        # The even step of the fraction, then the odd one.
        even = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2))
        d = 1.0 / nonzero(1.0 + even * d)
        c = nonzero(1.0 + even / c)
        result *= d * c
        odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0))
        d = 1.0 / nonzero(1.0 + odd * d)
        c = nonzero(1.0 + odd / c)
        step = d * c
        result *= step
        if abs(step - 1.0) < _CF_EPS:
            return result
    # Only reachable for degrees of freedom far beyond any seed count (about 1e9).
    raise StatsError(f"the t distribution did not converge for a={a}, b={b}, x={x}")


# --------------------------------------------------------------------------------------------
# Samples and tests
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    """Per-seed scores of one side, or only their summary.

    ``std`` is the sample standard deviation (n - 1 in the denominator); it is None when it
    cannot be known (a mean alone, or a single seed). ``n`` is None for a bare mean.
    """

    mean: float
    std: float | None
    n: int | None
    values: tuple[float, ...] = ()

    @classmethod
    def of(cls, values: Iterable[float]) -> Sample:
        """The sample of per-seed values (at least one)."""
        numbers = tuple(float(v) for v in values)
        if not numbers:
            raise StatsError("a sample needs at least one value")
        if not all(math.isfinite(v) for v in numbers):
            raise StatsError(f"values must be finite numbers, got {list(numbers)}")
        # statistics uses exact rational arithmetic, so near-equal 8-decimal scores keep their
        # small spread instead of losing it to cancellation.
        std = statistics.stdev(numbers) if len(numbers) >= 2 else None
        return cls(mean=statistics.fmean(numbers), std=std, n=len(numbers), values=numbers)

    @classmethod
    def summary(cls, mean: float, std: float | None = None, n: int | None = None) -> Sample:
        """A sample known only by its mean (and maybe its std and size)."""
        if not math.isfinite(mean) or (std is not None and not (math.isfinite(std) and std >= 0)):
            raise StatsError(f"need a finite mean and a finite std >= 0, got {mean} and {std}")
        if n is not None and n < 1:
            raise StatsError(f"the number of seeds must be at least 1, got {n}")
        if std is not None and (n is None or n < 2):
            raise StatsError("a standard deviation needs the number of seeds, at least 2")
        return cls(mean=mean, std=std, n=n)

    @property
    def has_spread(self) -> bool:
        """Whether the std is known, so the sample can stand on the variance side of a test."""
        return self.std is not None and self.n is not None and self.n >= 2


@dataclass(frozen=True, slots=True)
class TTest:
    """One one-sided t-test of "the candidate is lower than the baseline by more than shift"."""

    kind: TestKind
    difference: float
    """``mean_candidate - mean_baseline`` (negative when the candidate is better)."""
    shift: float
    """The margin the candidate must beat the baseline by, in the values' unit."""
    standard_error: float
    t: float
    """``(difference + shift) / standard_error``."""
    df: float
    p: float
    """One-sided ``P(T <= t)`` under the null hypothesis ``difference >= -shift``."""


def welch(
    candidate: Sample | Sequence[float], baseline: Sample | Sequence[float], *, shift: float = 0.0
) -> TTest:
    """Welch's two-sample t-test with Welch-Satterthwaite degrees of freedom."""
    cand = _as_sample(candidate)
    base = _as_sample(baseline)
    std_c, n_c = _spread(cand, "candidate")
    std_b, n_b = _spread(base, "baseline")
    var_c = std_c**2 / n_c
    var_b = std_b**2 / n_b
    if var_c + var_b == 0:
        raise StatsError(
            "both sides have zero variance (every seed scored the same), so the standard error "
            "is zero and no t statistic exists; check that the seeds are different runs"
        )
    se = math.sqrt(var_c + var_b)
    df = (var_c + var_b) ** 2 / (var_c**2 / (n_c - 1) + var_b**2 / (n_b - 1))
    return _test("welch", cand.mean - base.mean, shift, se, df)


def one_sample(
    candidate: Sample | Sequence[float], baseline_mean: float, *, shift: float = 0.0
) -> TTest:
    """One-sample t-test of the candidate's seeds against a baseline mean taken as exact."""
    cand = _as_sample(candidate)
    std, n = _spread(cand, "candidate")
    if not math.isfinite(baseline_mean):
        raise StatsError(f"the baseline mean must be a finite number, got {baseline_mean}")
    if std == 0:
        raise StatsError(
            "the candidate's seeds all scored the same and the baseline is a mean alone, so the "
            "standard error is zero and no t statistic exists; give the baseline's per-seed "
            "values, or check that the seeds are different runs"
        )
    se = std / math.sqrt(n)
    return _test("one_sample", cand.mean - baseline_mean, shift, se, float(n - 1))


def _test(kind: TestKind, difference: float, shift: float, se: float, df: float) -> TTest:
    if not math.isfinite(shift):
        raise StatsError(f"the shift must be a finite number, got {shift}")
    t = (difference + shift) / se
    return TTest(
        kind=kind,
        difference=difference,
        shift=shift,
        standard_error=se,
        t=t,
        df=df,
        p=student_t_cdf(t, df),
    )


def _as_sample(value: Sample | Sequence[float]) -> Sample:
    return value if isinstance(value, Sample) else Sample.of(value)


def _spread(sample: Sample, side: str) -> tuple[float, int]:
    """The std and size of a sample that has both, else a StatsError naming the side."""
    if sample.std is None or sample.n is None or sample.n < 2:
        count = "only a mean" if sample.n is None or sample.n >= 2 else "1 seed"
        hint = " (to test against its mean alone, use the one-sample form)"
        raise StatsError(
            f"the {side} has {count}; a standard deviation needs at least 2 seeds"
            + (hint if side == "baseline" else "")
        )
    return sample.std, sample.n


# --------------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Factor:
    """The nats-per-bpb factor used to convert between the units, and where it came from."""

    nats_per_bpb: float
    source: FactorSource
    detail: str
    """Human-readable provenance: the values it was computed from, or the table entry."""
    tokenizer: str | None = None
    """The tokenizer of the factor table the factor matches, if any."""

    @property
    def bytes_per_token(self) -> float:
        return self.nats_per_bpb / math.log(2)


def tokenizer_factor(name: str) -> Factor:
    """The measured factor of one of the challenge's tokenizers (TOKENIZER_NATS_PER_BPB)."""
    key = name.lower()
    if key not in TOKENIZER_NATS_PER_BPB:
        known = ", ".join(TOKENIZER_NATS_PER_BPB)
        raise StatsError(f"unknown tokenizer {name!r}; known: {known}")
    value = TOKENIZER_NATS_PER_BPB[key]
    return Factor(value, "tokenizer", f"measured {key} factor (docs/challenge.md)", key)


def override_factor(nats_per_bpb: float) -> Factor:
    """A factor the user gave."""
    _check_factor(nats_per_bpb)
    return Factor(nats_per_bpb, "override", "given", match_tokenizer(nats_per_bpb))


def ratio_factor(val_loss: Sequence[float], val_bpb: Sequence[float]) -> Factor:
    """The candidate's own factor, ``mean(val_loss) / mean(val_bpb)`` over its seeds.

    This is what record #44 did, and it keeps the conversion reproducible from the submission.
    """
    if len(val_loss) != len(val_bpb) or not val_loss:
        raise StatsError("the factor needs matching val_loss and val_bpb values, at least one pair")
    loss = statistics.fmean(val_loss)
    bpb = statistics.fmean(val_bpb)
    if bpb <= 0 or loss <= 0:
        raise StatsError(f"val_loss and val_bpb must be positive, got {loss} and {bpb}")
    value = loss / bpb
    seeds = "1 seed" if len(val_bpb) == 1 else f"the mean of {len(val_bpb)} seeds"
    detail = f"candidate's val_loss / val_bpb = {loss:.8f} / {bpb:.8f} ({seeds})"
    return Factor(value, "candidate", detail, match_tokenizer(value))


def ratio_spread(val_loss: Sequence[float], val_bpb: Sequence[float]) -> float:
    """The relative spread (max / min - 1) of the per-seed val_loss / val_bpb ratios."""
    ratios = [loss / bpb for loss, bpb in zip(val_loss, val_bpb, strict=True) if bpb > 0]
    return max(ratios) / min(ratios) - 1.0 if ratios and min(ratios) > 0 else 0.0


def match_tokenizer(nats_per_bpb: float) -> str | None:
    """The tokenizer in the factor table whose factor this is, within 0.1 %."""
    for name, value in TOKENIZER_NATS_PER_BPB.items():
        if abs(nats_per_bpb / value - 1.0) <= _TOKENIZER_MATCH:
            return name
    return None


def _check_factor(value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise StatsError(f"the nats-per-bpb factor must be a positive number, got {value}")


# --------------------------------------------------------------------------------------------
# The record check
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """A test read at a significance level."""

    name: Literal["shifted", "unshifted", "progression"]
    test: TTest
    alpha: float

    @property
    def passed(self) -> bool:
        return self.test.p < self.alpha


@dataclass(frozen=True, slots=True)
class Significance:
    """The record check with the two informational readings beside it.

    ``shifted`` is the check itself (bar ``delta_nats`` at ``alpha``); ``unshifted`` is the
    same test without the bar, which is what the early records reported; ``progression`` is the
    unshifted test at p < 0.25, the practice the leaderboard followed.
    """

    candidate: Sample
    baseline: Sample
    factor: Factor
    delta_nats: float
    alpha: float
    shifted: Decision
    unshifted: Decision
    progression: Decision
    warnings: tuple[str, ...] = field(default=())

    @property
    def kind(self) -> TestKind:
        return self.shifted.test.kind

    @property
    def delta_bpb(self) -> float:
        """``mean_candidate - mean_baseline`` in bpb (negative when the candidate is better)."""
        return self.shifted.test.difference

    @property
    def delta_nats_per_token(self) -> float:
        return self.delta_bpb * self.factor.nats_per_bpb

    @property
    def threshold_bpb(self) -> float:
        """The bar converted into bpb with the factor."""
        return self.delta_nats / self.factor.nats_per_bpb

    @property
    def significant(self) -> bool:
        """The record criterion: better by at least the bar, at p < alpha."""
        return self.shifted.passed

    @property
    def verdict(self) -> str:
        bar = f"p < {self.alpha:g} and ≥ {self.delta_nats:g} nats"
        return f"significant at {bar}" if self.significant else f"not significant at {bar}"

    def as_dict(self) -> dict[str, object]:
        """A json-ready description: both units, the factor, all three tests, the verdict."""
        factor = self.factor.nats_per_bpb
        return {
            "test": self.kind,
            "candidate": _sample_dict(self.candidate, factor),
            "baseline": _sample_dict(self.baseline, factor),
            "factor": {
                "nats_per_bpb": factor,
                "bytes_per_token": self.factor.bytes_per_token,
                "source": self.factor.source,
                "detail": self.factor.detail,
                "tokenizer": self.factor.tokenizer,
            },
            "delta": {"bpb": self.delta_bpb, "nats": self.delta_nats_per_token},
            "threshold": {"nats": self.delta_nats, "bpb": self.threshold_bpb},
            "alpha": self.alpha,
            "tests": {
                decision.name: _decision_dict(decision, factor)
                for decision in (self.shifted, self.unshifted, self.progression)
            },
            "significant": self.significant,
            "verdict": self.verdict,
            "warnings": list(self.warnings),
        }


def significance(
    candidate: Sample | Sequence[float],
    baseline: Sample | Sequence[float],
    *,
    nats_per_bpb: Factor | float,
    delta_nats: float = DEFAULT_DELTA_NATS,
    alpha: float = DEFAULT_ALPHA,
    progression_alpha: float = PROGRESSION_ALPHA,
    warnings: Sequence[str] = (),
) -> Significance:
    """Test that ``candidate`` (per-seed val_bpb) beats ``baseline`` by ``delta_nats``.

    A baseline with a std (two or more seeds) gets Welch's test; a baseline known only by its
    mean gets the one-sample test with ``df = n_candidate - 1``. ``nats_per_bpb`` converts the
    bar into bpb; a plain number is reported as given by the caller. ``warnings`` are carried
    into the result (the input layer's notes about the scores).
    """
    factor = nats_per_bpb if isinstance(nats_per_bpb, Factor) else override_factor(nats_per_bpb)
    _check_factor(factor.nats_per_bpb)
    if not (math.isfinite(delta_nats) and delta_nats >= 0):
        raise StatsError(f"the bar in nats must be a number >= 0, got {delta_nats}")
    for name, level in (("alpha", alpha), ("progression alpha", progression_alpha)):
        if not 0 < level < 1:
            raise StatsError(f"{name} must be between 0 and 1, got {level}")
    cand = _as_sample(candidate)
    base = _as_sample(baseline)
    shift = delta_nats / factor.nats_per_bpb

    def run(margin: float) -> TTest:
        if base.has_spread:
            return welch(cand, base, shift=margin)
        return one_sample(cand, base.mean, shift=margin)

    unshifted = run(0.0)
    notes = list(warnings)
    if not base.has_spread:
        notes.append(
            "the baseline is a mean alone: the one-sample test treats it as exact and ignores "
            "its seed-to-seed spread, which overstates the evidence"
        )
    return Significance(
        candidate=cand,
        baseline=base,
        factor=factor,
        delta_nats=delta_nats,
        alpha=alpha,
        shifted=Decision("shifted", run(shift), alpha),
        unshifted=Decision("unshifted", unshifted, alpha),
        progression=Decision("progression", unshifted, progression_alpha),
        warnings=tuple(notes),
    )


def _sample_dict(sample: Sample, factor: float) -> dict[str, object]:
    return {
        "n": sample.n,
        "mean_bpb": sample.mean,
        "std_bpb": sample.std,
        "mean_nats": sample.mean * factor,
        "std_nats": None if sample.std is None else sample.std * factor,
        "values_bpb": list(sample.values),
    }


def _decision_dict(decision: Decision, factor: float) -> dict[str, object]:
    test = decision.test
    return {
        "kind": test.kind,
        "shift_bpb": test.shift,
        "shift_nats": test.shift * factor,
        "standard_error_bpb": test.standard_error,
        "t": test.t,
        "df": test.df,
        "p": test.p,
        "alpha": decision.alpha,
        "passed": decision.passed,
    }


# --------------------------------------------------------------------------------------------
# Reading scores from values, logs and records folders
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeedScore:
    """One seed's score and where it was read from."""

    val_bpb: float
    val_loss: float | None = None
    seed: int | None = None
    source: str = "value"
    """``value`` for a number on the command line, else the file it was read from."""
    decimals: int | None = None
    """Decimal places of the printed ``val_bpb`` where known (8 for an exact score line)."""


def parse_values(text: str) -> tuple[SeedScore, ...] | None:
    """``1.115`` or ``1.115,1.114`` as scores; None when ``text`` is not numbers at all."""
    numbers: list[float] = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            numbers.append(float(part))
        except ValueError:
            return None
    if not numbers:
        return None
    for number in numbers:
        if not (math.isfinite(number) and number > 0):
            raise PgolfInputError(
                text,
                f"{number} is not a per-seed score (a val_bpb is a positive finite number)",
                "give each seed's val_bpb, such as 1.1150812",
            )
    return tuple(SeedScore(val_bpb=number) for number in numbers)


def read_scores(item: str) -> tuple[SeedScore, ...]:
    """The scores named by one command-line item: numbers, a train log, or a records folder."""
    values = parse_values(item)
    if values is not None:
        return values
    path = Path(item)
    if path.is_dir():
        return read_folder(path)
    if path.is_file():
        return (read_log_score(path),)
    raise PgolfInputError(
        item,
        "is neither a number nor an existing file or folder",
        "give per-seed val_bpb values (1.1150812 or 1.115,1.114), train logs, or a records folder",
    )


def read_log_score(path: Path) -> SeedScore:
    """The score of one train log, with the log's seed."""
    from pgolf_cli.records.logs import read_log

    log = read_log(path)
    if log.score is None:
        raise PgolfInputError(
            str(path),
            "has no final score line (a post-quantization val_bpb)",
            "pass the log of a finished run, or give its val_bpb as a number",
        )
    return _seed_score(path, log, log.score)


def _seed_score(path: Path, log: ParsedLog, score: Score) -> SeedScore:
    return SeedScore(
        val_bpb=score.val_bpb,
        val_loss=score.val_loss,
        seed=log.seed,
        source=str(path),
        decimals=score.decimals,
    )


def read_folder(folder: Path) -> tuple[SeedScore, ...]:
    """Every seed of a records folder or a ``pgolf train`` run folder.

    A records folder gives its logs' scores, else its submission.json's values. The logs are
    the ``*.log`` / ``*.txt`` files in the folder, else in its ``logs/`` subfolder (two merged
    records keep them there). A run folder (``runs/<name>/seed<S>/train.log``) gives its seeds'
    logs. A log without a score line is not a seed; the seeds' scores all come from one
    evaluation kind (:func:`~pgolf_cli.records.logs.common_scores`).
    """
    scores = _log_scores(log_files(folder))
    if not scores and (folder / "logs").is_dir():
        scores = _log_scores(log_files(folder / "logs"))
    if not scores:
        # Imported here: the run folder's pydantic models cost ~0.1 s at the start of every
        # command (this module's constants are option defaults of `pgolf stats`).
        from pgolf_cli.run_folder import seed_logs

        scores = _log_scores(seed_logs(folder))
    if scores:
        return scores
    json_path = folder / "submission.json"
    if not json_path.is_file():
        raise PgolfInputError(
            str(folder),
            "has no train log with a score, no seed<S>/train.log of a pgolf train run and no "
            "submission.json",
            "pass a records folder, a run folder (runs/<name>), train logs, or per-seed values",
        )
    return _submission_scores(json_path)


def _log_scores(paths: Sequence[Path]) -> tuple[SeedScore, ...]:
    from pgolf_cli.records.logs import common_scores, read_log

    logs: list[tuple[Path, ParsedLog]] = []
    for path in paths:
        try:
            log = read_log(path)
        except PgolfInputError:
            continue  # an unreadable file among the logs is not a seed
        if log.score is not None:  # a crashed or partial run is not a seed
            logs.append((path, log))
    scored = common_scores([log for _, log in logs])
    by_seed: dict[int | None, SeedScore] = {}
    ordered: list[SeedScore] = []
    for (path, log), one_kind in zip(logs, scored, strict=True):
        chosen = one_kind or log.score
        assert chosen is not None  # only scored logs were kept
        score = _seed_score(path, log, chosen)
        previous = by_seed.get(score.seed) if score.seed is not None else None
        if previous is not None:
            if (previous.val_bpb, previous.val_loss) == (score.val_bpb, score.val_loss):
                continue  # the same run shipped twice under two names
            raise PgolfInputError(
                str(path.parent),
                f"has two logs for seed {score.seed} with different scores: "
                f"{Path(previous.source).name} ({previous.val_bpb}) and {path.name} ({score.val_bpb})",
                "pass the logs you mean explicitly",
            )
        by_seed[score.seed] = score
        ordered.append(score)
    return tuple(ordered)


def _submission_scores(path: Path) -> tuple[SeedScore, ...]:
    from pgolf_cli.records.submission import load_submission

    normalized = load_submission(path)
    scores = tuple(
        SeedScore(
            val_bpb=entry.val_bpb,
            val_loss=entry.val_loss,
            seed=entry.seed,
            source=str(path),
            decimals=entry.val_bpb_decimals,
        )
        for entry in normalized.seeds
        if entry.val_bpb is not None
    )
    if not scores:
        mean = normalized.val_bpb_text or "its val_bpb"
        raise PgolfInputError(
            str(path),
            "lists no per-seed val_bpb values and its folder has no train log with a score",
            f"as a baseline, test against its mean alone with --baseline-mean {mean}; "
            "otherwise give the per-seed values as numbers",
        )
    return scores


@dataclass(frozen=True, slots=True)
class Side:
    """One side's scores as read, the sample they make, and notes about them."""

    scores: tuple[SeedScore, ...]
    sample: Sample
    notes: tuple[str, ...]

    def factor(self) -> Factor | None:
        """The side's own val_loss / val_bpb factor, when its scores carry val_loss."""
        loss, bpb = _paired(self.scores)
        return ratio_factor(loss, bpb) if loss else None


def _paired(scores: Iterable[SeedScore]) -> tuple[list[float], list[float]]:
    """The val_loss and val_bpb of the scores that have both."""
    pairs = [(s.val_loss, s.val_bpb) for s in scores if s.val_loss is not None]
    return [loss for loss, _ in pairs], [bpb for _, bpb in pairs]


def collect(items: Sequence[str], name: str) -> Side:
    """Read every item of one side and check the seeds are distinct."""
    scores = tuple(score for item in items for score in read_scores(item))
    notes: list[str] = []
    seen: dict[int, str] = {}
    for score in scores:
        if score.seed is None:
            continue
        if score.seed in seen:
            notes.append(
                f"{name}: seed {score.seed} appears twice ({seen[score.seed]} and {score.source}); "
                "the test assumes independent runs"
            )
        seen[score.seed] = score.source
    rounded = [s for s in scores if s.decimals is not None and s.decimals < 8]
    if rounded:
        notes.append(
            f"{name}: {len(rounded)} score(s) are printed with fewer than 8 decimals; a record "
            "claim should give the exact per-seed scores"
        )
    loss, bpb = _paired(scores)
    if len(loss) >= 2:
        spread = ratio_spread(loss, bpb)
        if spread > _RATIO_SPREAD:
            notes.append(
                f"{name}: per-seed val_loss/val_bpb ratios differ by {spread:.2%}; were all seeds "
                "scored with the same tokenizer and validation set?"
            )
    return Side(scores=scores, sample=Sample.of(s.val_bpb for s in scores), notes=tuple(notes))


def cross_tokenizer_note(candidate: Factor, baseline: Factor | None) -> str | None:
    """A note when the baseline's own factor says it used another tokenizer."""
    if (
        baseline is None
        or abs(baseline.nats_per_bpb / candidate.nats_per_bpb - 1) <= _CROSS_TOKENIZER
    ):
        return None
    return (
        f"the baseline's val_loss/val_bpb factor ({baseline.nats_per_bpb:.5f}) differs from the "
        f"candidate's ({candidate.nats_per_bpb:.5f}): different tokenizers, so only Δbpb is "
        "directly comparable; nats use the candidate's factor"
    )


# --------------------------------------------------------------------------------------------
# A whole comparison, as `pgolf stats` asks for it
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """The test of a candidate against a baseline, and the two sides as read."""

    result: Significance
    candidate: Side
    baseline: Side | None

    def as_dict(self) -> dict[str, object]:
        """The json document: the test, and each side's per-seed scores with their source."""
        document = self.result.as_dict()
        document["seeds"] = {
            "candidate": [_seed_dict(score) for score in self.candidate.scores],
            "baseline": [_seed_dict(s) for s in self.baseline.scores] if self.baseline else [],
        }
        return document


def compare(
    candidate: Sequence[str],
    baseline: Sequence[str] | None,
    *,
    baseline_mean: float | None = None,
    baseline_n: int | None = None,
    nats_per_bpb: float | None = None,
    tokenizer: str | None = None,
    delta_nats: float = DEFAULT_DELTA_NATS,
    alpha: float = DEFAULT_ALPHA,
) -> Comparison:
    """Read both sides (values, logs, folders) and test the candidate against the baseline, or
    against ``baseline_mean`` alone; :class:`StatsError` says what is missing."""
    cand = collect(candidate, "candidate")
    base = collect(baseline, "baseline") if baseline else None
    _require_seeds(cand, "candidate")
    if base is not None:
        _require_seeds(base, "baseline")
        baseline_sample = base.sample
    elif baseline_mean is not None:
        baseline_sample = Sample.summary(baseline_mean, None, baseline_n)
    else:
        raise StatsError("give the baseline: --baseline VALUE... or --baseline-mean BPB")
    factor, notes = _factor(cand, base, nats_per_bpb, tokenizer)
    result = significance(
        cand.sample,
        baseline_sample,
        nats_per_bpb=factor,
        delta_nats=delta_nats,
        alpha=alpha,
        warnings=[*cand.notes, *(base.notes if base else ()), *notes],
    )
    return Comparison(result=result, candidate=cand, baseline=base)


def _factor(
    cand: Side, base: Side | None, nats_per_bpb: float | None, tokenizer: str | None
) -> tuple[Factor, list[str]]:
    """The factor to use, and notes when the sides' own factors disagree with it or each other."""
    own = cand.factor()
    if nats_per_bpb is not None:
        factor = override_factor(nats_per_bpb)
    elif tokenizer is not None:
        factor = tokenizer_factor(tokenizer)
    elif own is not None:
        factor = own
    else:
        raise StatsError(
            "the candidate's scores carry no val_loss, so its bytes-per-token factor is unknown; "
            f"pass --tokenizer ({', '.join(TOKENIZER_NATS_PER_BPB)}) or "
            "--nats-per-bpb X, or give the candidate as train logs or a records folder"
        )
    notes = []
    if own is not None and abs(factor.nats_per_bpb / own.nats_per_bpb - 1) > 1e-3:
        notes.append(
            f"the factor used ({factor.nats_per_bpb:.5f}) differs from the candidate's own "
            f"val_loss/val_bpb ({own.nats_per_bpb:.5f})"
        )
    crossing = cross_tokenizer_note(own, base.factor()) if own and base else None
    if crossing:
        notes.append(crossing)
    return factor, notes


def _require_seeds(side: Side, name: str) -> None:
    if len(side.scores) >= 2:
        return
    hint = (
        "; to test against a baseline's mean alone, use --baseline-mean"
        if name == "baseline"
        else ""
    )
    raise StatsError(
        f"the {name} has {len(side.scores)} seed; a standard deviation needs at least 2 "
        f"per-seed scores{hint}"
    )


def _seed_dict(score: SeedScore) -> dict[str, object]:
    return {
        "seed": score.seed,
        "val_bpb": score.val_bpb,
        "val_loss": score.val_loss,
        "source": score.source,
    }
