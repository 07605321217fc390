"""Verdict against a target and change between waves, on hand-made estimates."""
from __future__ import annotations

import math

import pytest
from scipy import stats

from reports.builders import change_between, verdict
from scoring import CellEstimate


def cell(estimate: float, ci_low: float, ci_high: float, se: float = 0.01, df: int = 40) -> CellEstimate:
    return CellEstimate(
        var="y", domain=None, estimate=estimate, se=se, ci_low=ci_low, ci_high=ci_high, df=df,
        deff=1.5, n=1000, weighted_n=4e5, n_eff=667.0, cv=se / estimate, reliable=True, statistic="proportion",
    )


# The 95% interval is deliberately wider and on the other side of the target in every case:
# the verdict must be read from the 90% interval (two one-sided 5% tests), not the 95% one.
WIDE = cell(0.20, 0.10, 0.30)


@pytest.mark.parametrize(
    ("narrow", "target", "expected"),
    [
        (cell(0.21, 0.190, 0.230), 0.185, "met"),
        (cell(0.15, 0.130, 0.170), 0.185, "below"),
        (cell(0.19, 0.170, 0.210), 0.185, "indistinguishable"),
        # The target on the interval's edge is not yet a significant difference.
        (cell(0.20, 0.185, 0.215), 0.185, "indistinguishable"),
        (cell(0.17, 0.155, 0.185), 0.185, "indistinguishable"),
        (cell(0.21, 0.190, 0.230), None, "none"),
    ],
)
def test_verdict_reads_the_one_sided_interval(narrow: CellEstimate, target: float | None, expected: str) -> None:
    assert verdict(WIDE, narrow, target) == expected


def test_change_is_the_difference_with_a_welch_t_test_of_independent_samples() -> None:
    current = cell(0.200, 0.18, 0.22, se=0.010, df=63)
    previous = cell(0.170, 0.15, 0.19, se=0.012, df=63)
    change = change_between(current, previous, 2024)
    se = math.sqrt(0.010**2 + 0.012**2)  # 0.0156205
    # Welch–Satterthwaite: (v1 + v2)² / (v1²/df1 + v2²/df2) = 122.03 for these two.
    df = (0.010**2 + 0.012**2) ** 2 / (0.010**4 / 63 + 0.012**4 / 63)
    assert change.previous_year == 2024
    assert change.previous == pytest.approx(0.170)
    assert change.difference == pytest.approx(0.030)
    assert change.se == pytest.approx(0.01562049935, rel=1e-9)
    assert change.df == pytest.approx(df, rel=1e-12) and df == pytest.approx(122.03, abs=0.01)
    assert change.p_value == pytest.approx(2 * stats.t.sf(0.030 / se, df), rel=1e-9)
    assert change.p_value == pytest.approx(0.0571, abs=5e-4)
    assert not change.significant
    half = stats.t.ppf(0.975, df) * se
    assert (change.ci_low, change.ci_high) == pytest.approx((0.030 - half, 0.030 + half), rel=1e-9)


def test_a_fall_has_a_negative_difference_and_the_same_two_sided_p_value() -> None:
    up = change_between(cell(0.25, 0, 1, se=0.01), cell(0.20, 0, 1, se=0.01), 2024)
    down = change_between(cell(0.20, 0, 1, se=0.01), cell(0.25, 0, 1, se=0.01), 2024)
    assert down.difference == pytest.approx(-0.05)
    assert down.p_value == pytest.approx(up.p_value)
    # t = 0.05 / 0.0141421 = 3.5355 on 80 df: p = 0.00068
    assert up.p_value == pytest.approx(2 * stats.t.sf(3.5355339, 80), rel=1e-4)
    assert up.significant and down.significant


def test_change_without_any_sampling_error_is_not_significant() -> None:
    change = change_between(cell(0.2, 0.2, 0.2, se=0.0), cell(0.2, 0.2, 0.2, se=0.0), 2024)
    assert change.se == 0 and change.p_value == 1.0 and not change.significant
