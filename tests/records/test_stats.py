"""The significance tests of records.md §7: published figures and scipy cross-checks."""

from __future__ import annotations

import math
import statistics
from typing import Any

import pytest

from pgolf_cli.records.stats import (
    TOKENIZER_NATS_PER_BPB,
    Factor,
    Sample,
    StatsError,
    match_tokenizer,
    one_sample,
    override_factor,
    ratio_factor,
    significance,
    tokenizer_factor,
    welch,
)

scipy_stats = pytest.importorskip("scipy.stats")

# records.md §7: record #24's seeds against PR #549's, in bpb.
NEW = [1.11508120, 1.11437394, 1.11475014]
OLD = [1.11922988, 1.12002032, 1.11888882]
SP1024 = TOKENIZER_NATS_PER_BPB["sp1024"]


def scipy_welch(candidate: list[float], baseline: list[float], shift: float) -> tuple[float, float]:
    result = scipy_stats.ttest_ind(
        [v + shift for v in candidate], baseline, equal_var=False, alternative="less"
    )
    return float(result.statistic), float(result.pvalue)


def welch_df(a: list[float], b: list[float]) -> float:
    va = statistics.variance(a) / len(a)
    vb = statistics.variance(b) / len(b)
    return (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))


# --------------------------------------------------------------------------------------------
# Published figures
# --------------------------------------------------------------------------------------------


def test_welch_reproduces_record_24() -> None:
    test = welch(NEW, OLD)
    assert round(test.t, 4) == -11.8339
    assert round(test.df, 4) == 3.3063
    assert test.kind == "welch"
    assert test.difference == pytest.approx(-0.00464458, abs=5e-9)


def test_shifted_welch_of_record_24_is_minus_4_29() -> None:
    shift = 0.005 / SP1024
    assert round(shift, 6) == 0.002961
    test = welch(NEW, OLD, shift=shift)
    assert round(test.t, 2) == -4.29
    assert test.df == pytest.approx(3.3063, abs=5e-5)  # the shift does not change df


def test_one_sample_record_7_without_shift() -> None:
    # #7: t = 313.2 = 0.13071 / (0.000723 / sqrt 3) on val_loss. The rounded inputs give
    # 313.13; the record's 313.20 came from its unrounded values. Our t is negative for a
    # better candidate, the record's positive.
    baseline = 2.07269
    test = one_sample(Sample.summary(baseline - 0.13071, 0.000723, 3), baseline)
    assert test.t == pytest.approx(-0.13071 / (0.000723 / math.sqrt(3)), rel=1e-12)
    assert -test.t == pytest.approx(313.2, abs=0.1)
    assert test.df == 2
    assert test.kind == "one_sample"


def test_one_sample_record_9_with_shift() -> None:
    # #9: t = -93.6 = -(0.114412 - 0.005) / (0.002025 / sqrt 3), the bar applied.
    baseline = 2.0727
    test = one_sample(Sample.summary(baseline - 0.114412, 0.002025, 3), baseline, shift=0.005)
    assert round(test.t, 1) == -93.6


def test_record_44_conversion() -> None:
    # #44 converts with its own val_loss / val_bpb: 2.32202732 / 1.06107587 = 2.18837.
    factor = ratio_factor([2.32202732], [1.06107587])
    assert round(factor.nats_per_bpb, 5) == 2.18837
    assert factor.tokenizer == "sp8192-caseops"
    assert round(-0.01992 * factor.nats_per_bpb, 5) == -0.04359
    assert round(factor.bytes_per_token, 4) == 3.1572


def test_bar_in_bpb_per_tokenizer() -> None:
    # records.md §7: 0.005 nats is 0.00296 / 0.00217 / 0.00194 / 0.00228 bpb.
    expected = {"sp1024": 0.00296, "sp4096": 0.00217, "sp8192": 0.00194, "sp8192-caseops": 0.00228}
    for name, bpb in expected.items():
        result = significance(NEW, OLD, nats_per_bpb=tokenizer_factor(name))
        assert round(result.threshold_bpb, 5) == bpb


# --------------------------------------------------------------------------------------------
# scipy cross-checks
# --------------------------------------------------------------------------------------------

CASES = {
    "record 24": (NEW, OLD),
    "n=2 each": ([1.101, 1.1032], [1.1105, 1.1098]),
    "n=2 vs n=5": ([1.0901, 1.0911], [1.1002, 1.0987, 1.0995, 1.1011, 1.0979]),
    "very unequal variances": ([1.10000, 1.10001, 1.10002], [1.0, 1.2, 1.1, 1.15]),
    "huge t": ([1.000000, 1.000001, 1.000002], [1.5, 1.500001, 1.500003]),
    "p near 0.5": ([1.1, 1.2, 1.15], [1.1500001, 1.1, 1.2]),
    "candidate worse": ([1.13, 1.131, 1.129], [1.12, 1.121, 1.119]),
    "many seeds": (
        [1.06 + 0.0003 * math.sin(i) for i in range(12)],
        [1.063 + 0.0005 * math.cos(i) for i in range(9)],
    ),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("shift", [0.0, 0.00194, 0.0005])
def test_welch_matches_scipy(case: str, shift: float) -> None:
    candidate, baseline = CASES[case]
    test = welch(candidate, baseline, shift=shift)
    t, p = scipy_welch(candidate, baseline, shift)
    assert test.t == pytest.approx(t, rel=1e-9)
    assert test.df == pytest.approx(welch_df(candidate, baseline), rel=1e-12)
    # scipy's error near p = 0.5 is ~1e-11 absolute.
    assert test.p == pytest.approx(p, rel=1e-8, abs=1e-10)
    assert test.p == pytest.approx(float(scipy_stats.t.cdf(test.t, test.df)), rel=1e-9, abs=1e-10)


def test_p_near_half() -> None:
    candidate, baseline = CASES["p near 0.5"]
    assert welch(candidate, baseline).p == pytest.approx(0.5, abs=1e-4)


def test_huge_t_gives_a_tiny_but_positive_p() -> None:
    test = welch(*CASES["huge t"])
    assert test.t < -1e5
    assert 0 < test.p < 1e-10
    assert test.p == pytest.approx(float(scipy_stats.t.cdf(test.t, test.df)), rel=1e-8)


@pytest.mark.parametrize("shift", [0.0, 0.003, -0.001])
@pytest.mark.parametrize("values", [NEW, [1.2, 1.21], [1.0605, 1.0611, 1.0598, 1.0620, 1.0607]])
def test_one_sample_matches_scipy(values: list[float], shift: float) -> None:
    mu = 1.1194
    test = one_sample(values, mu, shift=shift)
    # Shifting the data by +shift is the same as testing against mu - shift.
    expected = scipy_stats.ttest_1samp(values, mu - shift, alternative="less")
    assert test.t == pytest.approx(float(expected.statistic), rel=1e-10)
    assert test.p == pytest.approx(float(expected.pvalue), rel=1e-9, abs=1e-12)
    assert test.df == len(values) - 1


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy, on the constant side
def test_one_zero_variance_side_is_fine() -> None:
    # One side constant: the Welch df falls back to the other side's n - 1.
    test = welch([1.10, 1.11, 1.12], [1.2, 1.2, 1.2, 1.2])
    assert test.df == pytest.approx(2.0)
    assert test.t == pytest.approx(scipy_welch([1.10, 1.11, 1.12], [1.2] * 4, 0.0)[0], rel=1e-9)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


def test_zero_variance_on_both_sides_is_an_error() -> None:
    with pytest.raises(StatsError, match="zero variance"):
        welch([1.1, 1.1], [1.2, 1.2, 1.2])


def test_zero_variance_candidate_against_a_mean_is_an_error() -> None:
    with pytest.raises(StatsError, match="standard error is zero"):
        one_sample([1.1, 1.1, 1.1], 1.2)


@pytest.mark.parametrize(
    ("candidate", "baseline"),
    [([1.1], [1.2, 1.3]), ([1.1, 1.2], [1.3]), ([1.1, 1.2], Sample.summary(1.3, None, 3))],
)
def test_fewer_than_two_seeds_where_a_std_is_needed(
    candidate: list[float], baseline: list[float] | Sample
) -> None:
    with pytest.raises(StatsError, match="at least 2 seeds"):
        welch(candidate, baseline)


def test_non_finite_values_are_rejected() -> None:
    with pytest.raises(StatsError):
        Sample.of([1.1, math.nan])
    with pytest.raises(StatsError):
        Sample.of([])
    with pytest.raises(StatsError):
        one_sample([1.1, 1.2], math.inf)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"alpha": 0.0},
        {"alpha": 1.0},
        {"delta_nats": -0.001},
        {"delta_nats": math.nan},
        {"nats_per_bpb": 0.0},
        {"nats_per_bpb": -1.0},
    ],
)
def test_bad_parameters(kwargs: dict[str, float]) -> None:
    arguments: dict[str, Any] = {"nats_per_bpb": SP1024, **kwargs}
    with pytest.raises(StatsError):
        significance(NEW, OLD, **arguments)


def test_unknown_tokenizer() -> None:
    with pytest.raises(StatsError, match="sp1024"):
        tokenizer_factor("gpt2")


# --------------------------------------------------------------------------------------------
# The record check
# --------------------------------------------------------------------------------------------


def test_significance_of_record_24() -> None:
    result = significance(NEW, OLD, nats_per_bpb=tokenizer_factor("sp1024"))
    assert result.kind == "welch"
    assert round(result.shifted.test.t, 2) == -4.29
    assert round(result.unshifted.test.t, 4) == -11.8339
    assert result.progression.test == result.unshifted.test
    assert result.progression.alpha == 0.25
    assert result.shifted.alpha == result.unshifted.alpha == 0.01
    # records.md: -0.00464458 bpb x 1.68845 = -0.00784215 nats (with the rounded factor).
    assert result.delta_bpb == pytest.approx(-0.00464458, abs=5e-9)
    assert result.delta_nats_per_token == pytest.approx(-0.00784215, abs=2e-8)
    assert result.shifted.test.p < 0.01
    assert result.significant
    assert result.verdict == "significant at p < 0.01 and ≥ 0.005 nats"


def test_the_bar_decides() -> None:
    # Better, clearly, but by less than 0.005 nats: the progression passes, the record fails.
    candidate = [1.11800, 1.11810, 1.11790]
    result = significance(candidate, OLD, nats_per_bpb=SP1024)
    assert result.progression.passed
    assert not result.significant
    assert result.verdict.startswith("not significant")
    # Without the bar, the same seeds pass at a looser level.
    assert significance(candidate, OLD, nats_per_bpb=SP1024, delta_nats=0.0, alpha=0.05).significant


def test_stricter_alpha() -> None:
    assert not significance(NEW, OLD, nats_per_bpb=SP1024, alpha=0.005).significant


def test_units_do_not_change_t() -> None:
    # The same check run directly in nats per token gives the same t, df and p.
    in_bpb = significance(NEW, OLD, nats_per_bpb=SP1024)
    in_nats = welch([v * SP1024 for v in NEW], [v * SP1024 for v in OLD], shift=0.005)
    assert in_nats.t == pytest.approx(in_bpb.shifted.test.t, rel=1e-9)
    assert in_nats.df == pytest.approx(in_bpb.shifted.test.df, rel=1e-9)
    assert in_nats.p == pytest.approx(in_bpb.shifted.test.p, rel=1e-8)


def test_mean_only_baseline_uses_one_sample() -> None:
    result = significance(NEW, Sample.summary(1.1194, None, 3), nats_per_bpb=SP1024)
    assert result.kind == "one_sample"
    assert result.shifted.test.df == 2
    expected = scipy_stats.ttest_1samp(NEW, 1.1194 - 0.005 / SP1024, alternative="less")
    assert result.shifted.test.p == pytest.approx(float(expected.pvalue), rel=1e-9)
    assert any("mean alone" in note for note in result.warnings)


def test_factor_provenance() -> None:
    assert tokenizer_factor("SP8192").nats_per_bpb == 2.58311
    given = override_factor(2.5)
    assert (given.source, given.tokenizer) == ("override", None)
    assert override_factor(1.6885).tokenizer == "sp1024"
    assert match_tokenizer(2.0) is None
    # A plain number is recorded as given by the caller.
    result = significance(NEW, OLD, nats_per_bpb=1.7)
    assert result.factor == Factor(1.7, "override", "given", None)
    assert result.factor.bytes_per_token == pytest.approx(1.7 / math.log(2))


def test_as_dict_is_complete() -> None:
    document = significance(NEW, OLD, nats_per_bpb=tokenizer_factor("sp1024")).as_dict()
    assert set(document) == {
        "test",
        "candidate",
        "baseline",
        "factor",
        "delta",
        "threshold",
        "alpha",
        "tests",
        "significant",
        "verdict",
        "warnings",
    }
    tests = document["tests"]
    assert isinstance(tests, dict)
    assert set(tests) == {"shifted", "unshifted", "progression"}
    assert tests["shifted"]["shift_nats"] == pytest.approx(0.005)
    factor = document["factor"]
    assert isinstance(factor, dict)
    assert factor["source"] == "tokenizer"
    assert factor["tokenizer"] == "sp1024"
