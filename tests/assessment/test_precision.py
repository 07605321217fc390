"""Sample sizes for a target CV and projected interval widths (assessment/precision.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from assessment import precision


def test_completes_for_a_target_cv_follow_the_formula() -> None:
    # n = deff·(1−p)/(p·CV²) = 2·0.814/(0.186·0.01)
    assert precision.completes_for_cv(0.186, 0.10, 2.0) == pytest.approx(2 * 0.814 / 0.00186)
    assert precision.completes_for_cv(0.5, 0.05) == pytest.approx(400)


def test_cv_for_completes_inverts_the_sample_size() -> None:
    n = precision.completes_for_cv(0.3, 0.08, 1.7)
    assert precision.cv_for_completes(0.3, n, 1.7) == pytest.approx(0.08)


def test_the_formula_holds_for_a_simple_random_sample_by_simulation() -> None:
    p, cv = 0.2, 0.1
    n = round(precision.completes_for_cv(p, cv))  # 400
    estimates = np.random.default_rng(1).binomial(n, p, size=40_000) / n
    assert estimates.std() / p == pytest.approx(cv, rel=0.02)


def test_design_effect_of_a_cluster_sample() -> None:
    assert precision.design_effect_cluster(11, 0.05) == pytest.approx(1.5)
    assert precision.design_effect_cluster(1, 0.3) == 1.0
    with pytest.raises(ValueError):
        precision.design_effect_cluster(0, 0.1)


def test_cases_to_issue_divide_by_response_and_eligibility() -> None:
    assert precision.cases_to_issue(100, 0.8, 0.9) == pytest.approx(100 / 0.72)
    with pytest.raises(ValueError):
        precision.cases_to_issue(100, 0.0)


def test_interval_widths_now_and_projected() -> None:
    assert precision.ci_width(0.01) == pytest.approx(2 * 1.959964 * 0.01, rel=1e-6)
    assert precision.ci_width(0.01, level=0.90) == pytest.approx(2 * 1.644854 * 0.01, rel=1e-6)
    # Four times the sample halves the standard error.
    assert precision.ci_width_projected(0.02, 100, 400) == pytest.approx(precision.ci_width(0.01))
    assert precision.ci_width_projected(0.02, 100, 100) == pytest.approx(precision.ci_width(0.02))


@pytest.mark.parametrize(("p", "cv", "deff"), [(0.0, 0.1, 1), (1.0, 0.1, 1), (0.2, 0.0, 1), (0.2, 0.1, 0), (math.nan, 0.1, 1)])
def test_impossible_targets_are_refused(p: float, cv: float, deff: float) -> None:
    with pytest.raises(ValueError):
        precision.completes_for_cv(p, cv, deff)
