"""Verdict against a target and change between waves, on hand-made estimates."""
from __future__ import annotations

import math

import pytest

from reports.builders import change_between, verdict
from scoring import CellEstimate


def cell(estimate: float, ci_low: float, ci_high: float, se: float = 0.01) -> CellEstimate:
    return CellEstimate(
        var="y", domain=None, estimate=estimate, se=se, ci_low=ci_low, ci_high=ci_high, df=40,
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


def test_change_is_the_difference_with_independent_standard_errors() -> None:
    current, previous = cell(0.200, 0.18, 0.22, se=0.010), cell(0.170, 0.15, 0.19, se=0.012)
    change = change_between(current, previous, 2024)
    se = math.sqrt(0.010**2 + 0.012**2)  # 0.0156205
    z = 0.030 / se  # 1.92055
    assert change.previous_year == 2024
    assert change.previous == pytest.approx(0.170)
    assert change.difference == pytest.approx(0.030)
    assert change.se == pytest.approx(0.01562049935, rel=1e-9)
    assert change.p_value == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-9)
    assert change.p_value == pytest.approx(0.054785, abs=5e-6)
    assert not change.significant


def test_a_fall_has_a_negative_difference_and_the_same_two_sided_p_value() -> None:
    up = change_between(cell(0.25, 0, 1, se=0.01), cell(0.20, 0, 1, se=0.01), 2024)
    down = change_between(cell(0.20, 0, 1, se=0.01), cell(0.25, 0, 1, se=0.01), 2024)
    assert down.difference == pytest.approx(-0.05)
    assert down.p_value == pytest.approx(up.p_value)
    # z = 0.05 / 0.0141421 = 3.5355: p = 0.000407
    assert up.p_value == pytest.approx(0.00040695, rel=1e-4)
    assert up.significant and down.significant


def test_change_without_any_sampling_error_has_p_value_one() -> None:
    change = change_between(cell(0.2, 0.2, 0.2, se=0.0), cell(0.2, 0.2, 0.2, se=0.0), 2024)
    assert change.se == 0 and change.p_value == 1.0
