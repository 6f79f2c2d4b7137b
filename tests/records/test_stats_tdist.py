"""The hand-written Student-t distribution against closed forms and scipy."""

from __future__ import annotations

import math

import pytest

from pgolf_cli.records.stats import StatsError, student_t_cdf

scipy_stats = pytest.importorskip("scipy.stats")

DFS = [0.5, 1, 1.5, 2, 2.1265, 3, 3.3063, 4, 5, 7, 10, 20, 30, 57.5, 100, 250, 1000, 1e4]
TS = [
    *(-(10.0**e) for e in (-6, -3, -1, -0.3, 0, 0.3, 0.7, 1, 1.5, 2, 2.5, 3)),
    0.0,
    *(10.0**e for e in (-6, -3, -1, -0.3, 0, 0.3, 0.7, 1, 1.5, 2, 2.5, 3)),
    -4.2888,
    -11.8339,
    0.05,
    -0.05,
]


def test_cdf_matches_scipy_over_a_grid() -> None:
    worst = 0.0
    for df in DFS:
        for t in TS:
            worst = max(worst, abs(student_t_cdf(t, df) - float(scipy_stats.t.cdf(t, df))))
    # scipy's own error near t = 0 is about 1e-11 (see the closed-form tests), so the bound
    # against it cannot be tighter than that.
    assert worst < 5e-11


def test_small_tails_keep_their_relative_precision() -> None:
    for df in DFS:
        for t in (5.0, 20.0, 60.0, 300.0):
            expected = float(scipy_stats.t.sf(t, df))
            if expected < 1e-290:
                continue
            assert student_t_cdf(-t, df) == pytest.approx(expected, rel=1e-9), (t, df)


@pytest.mark.parametrize("t", [-1e6, -50.0, -3.0, -1e-6, 1e-9, 0.4, 2.0, 1e4])
def test_df_1_is_the_cauchy_distribution(t: float) -> None:
    expected = 0.5 + math.atan(t) / math.pi if t > -1 else -math.atan(1 / t) / math.pi
    assert student_t_cdf(t, 1) == pytest.approx(expected, rel=1e-13, abs=1e-16)


@pytest.mark.parametrize("t", [-1e5, -30.0, -2.0, -1e-7, 0.3, 5.0])
def test_df_2_closed_form(t: float) -> None:
    # F(t) = 1/2 + t / (2 sqrt(2 + t^2)); the lower tail written without cancellation.
    expected = 1 / (math.sqrt(2 + t * t) * (math.sqrt(2 + t * t) - t)) if t < 0 else None
    if expected is None:
        expected = 0.5 + t / (2 * math.sqrt(2 + t * t))
    assert student_t_cdf(t, 2) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("t", [-3.0, -0.5, 0.7, 2.0, 10.0])
def test_df_4_closed_form(t: float) -> None:
    u = 1 + t * t / 4
    expected = 0.5 + 0.375 * (t / math.sqrt(u)) * (1 - t * t / (12 * u))
    assert student_t_cdf(t, 4) == pytest.approx(expected, rel=1e-13)


def test_records_md_n3_formula() -> None:
    # records.md §7: for n = 3 (df = 2) the records wrote p = 1/2 (1 - t / sqrt(t^2 + 2)).
    for t, published in ((31.42, 0.00051), (9.06, 0.006)):
        formula = 0.5 * (1 - t / math.sqrt(t * t + 2))
        assert student_t_cdf(-t, 2) == pytest.approx(formula, rel=1e-12)
        assert round(student_t_cdf(-t, 2), 5 if published < 0.001 else 3) == published


def test_symmetry_and_centre() -> None:
    assert student_t_cdf(0.0, 3.3) == 0.5
    for df in (1, 3.3063, 40):
        for t in (0.01, 1.0, 7.0):
            assert student_t_cdf(t, df) + student_t_cdf(-t, df) == pytest.approx(1.0, abs=1e-15)
    assert student_t_cdf(-math.inf, 3) == 0.0
    assert student_t_cdf(math.inf, 3) == 1.0


def test_extreme_t_does_not_overflow() -> None:
    # t^2 overflows a double; the Cauchy tail is still 1 / (pi |t|).
    assert student_t_cdf(-1e200, 1) == pytest.approx(1 / (math.pi * 1e200), rel=1e-12)


@pytest.mark.parametrize(("t", "df"), [(math.nan, 3), (1.0, math.nan), (1.0, 0), (1.0, -2)])
def test_invalid_arguments(t: float, df: float) -> None:
    with pytest.raises(StatsError):
        student_t_cdf(t, df)
