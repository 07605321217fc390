"""Base weights, raking (IPF) and post-stratification."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import (
    CalibrationError,
    Margin,
    design_create,
    estimate_mean,
    weights_base,
    weights_post_stratify,
    weights_rake,
)


def test_base_weights_are_inverse_inclusion_probabilities() -> None:
    np.testing.assert_array_equal(weights_base([0.5, 0.01, 1.0]), [2.0, 100.0, 1.0])


@pytest.mark.parametrize("pi", [[0.5, 0.0], [0.5, 1.5], [0.5, np.nan], [-0.1]])
def test_invalid_inclusion_probabilities_are_rejected(pi: list[float]) -> None:
    with pytest.raises(ValueError, match="inclusion_probability"):
        weights_base(pi)


def test_margin_rejects_codes_outside_its_levels() -> None:
    with pytest.raises(ValueError, match="code 3 at row 1 is not a level 0..2"):
        Margin(codes=np.array([0, 3]), totals=np.array([1.0, 2.0, 3.0]), name="edu")
    with pytest.raises(ValueError, match="integer"):
        Margin(codes=np.array([0.0, 1.0]), totals=np.array([1.0, 2.0]), name="edu")
    with pytest.raises(ValueError, match="negative"):
        Margin(codes=np.array([0, 1]), totals=np.array([1.0, -2.0]), name="edu")


def test_margin_from_labels_follows_the_order_of_the_totals() -> None:
    margin = Margin.from_labels("sex", np.array(["M", "F", "M"]), {"M": 60.0, "F": 40.0})
    assert margin.codes.tolist() == [0, 1, 0]
    assert margin.totals.tolist() == [60.0, 40.0]
    with pytest.raises(ValueError, match="label 'X' has no population total"):
        Margin.from_labels("sex", np.array(["M", "X"]), {"M": 60.0, "F": 40.0})
    with pytest.raises(ValueError, match="missing label at row 1"):
        Margin.from_labels("sex", np.array(["M", None], dtype=object), {"M": 60.0, "F": 40.0})


def test_margin_from_several_label_arrays_is_keyed_by_tuples() -> None:
    sex = np.array(["F", "M", "M", "F"])
    age = np.array(["18-29", "18-29", "30-39", "30-39"])
    totals = {("M", "18-29"): 10.0, ("F", "18-29"): 11.0, ("M", "30-39"): 12.0,
              ("F", "30-39"): 13.0}
    margin = Margin.from_labels("sex_age", [sex, age], totals)
    assert margin.codes.tolist() == [1, 0, 2, 3]
    assert margin.totals.tolist() == [10.0, 11.0, 12.0, 13.0]


SEX = np.array([0, 0, 0, 1, 1, 1, 1, 0])
AGE = np.array([0, 1, 2, 0, 1, 2, 2, 1])
BASE = np.array([10.0, 12.0, 8.0, 9.0, 11.0, 10.0, 7.0, 13.0])


def test_raking_meets_every_margin_and_reports_diagnostics() -> None:
    design = design_create(BASE, psu=np.arange(8))
    margins = [Margin(SEX, np.array([55.0, 45.0]), "sex"),
               Margin(AGE, np.array([30.0, 40.0, 30.0]), "age")]
    result = weights_rake(design, margins)
    assert result.converged and 1 < result.iterations < 100
    assert result.max_rel_error <= 1e-10
    np.testing.assert_allclose(np.bincount(SEX, result.weights), [55, 45], rtol=1e-10)
    np.testing.assert_allclose(np.bincount(AGE, result.weights), [30, 40, 30], rtol=1e-10)
    assert result.design.calibration is not None
    assert result.design.calibration.method == "raking"
    np.testing.assert_array_equal(result.design.calibration.base_weights, BASE)


def test_raking_an_empty_level_is_a_clear_error() -> None:
    design = design_create(BASE, psu=np.arange(8))
    margins = [Margin(SEX, np.array([55.0, 45.0]), "sex"),
               Margin(AGE, np.array([30.0, 40.0, 20.0, 10.0]), "age")]
    message = "margin 'age': level 3 has a population total of 10 but no respondents"
    with pytest.raises(ValueError, match=message):
        weights_rake(design, margins)


def test_raking_a_level_with_respondents_but_no_population_is_an_error() -> None:
    design = design_create(BASE, psu=np.arange(8))
    with pytest.raises(ValueError, match="level 1 has respondents but a population total of 0"):
        weights_rake(design, [Margin(SEX, np.array([100.0, 0.0]), "sex")])


def test_a_level_with_neither_respondents_nor_population_is_ignored() -> None:
    design = design_create(BASE, psu=np.arange(8))
    result = weights_rake(design, [Margin(SEX, np.array([55.0, 45.0, 0.0]), "sex")])
    np.testing.assert_allclose(np.bincount(SEX, result.weights), [55, 45], rtol=1e-12)


def test_margins_must_agree_on_the_grand_total() -> None:
    design = design_create(BASE, psu=np.arange(8))
    margins = [Margin(SEX, np.array([55.0, 45.0]), "sex"),
               Margin(AGE, np.array([30.0, 40.0, 31.0]), "age")]
    with pytest.raises(ValueError, match="'sex' and 'age' disagree on the grand total"):
        weights_rake(design, margins)
    slightly_off = [margins[0], Margin(AGE, np.array([30.0, 40.0, 30.00001]), "age")]
    result = weights_rake(design, slightly_off)
    assert result.weights.sum() == pytest.approx(100.0, rel=1e-12)


def test_infeasible_margins_do_not_converge() -> None:
    design = design_create(BASE[:4], psu=np.arange(4))
    same = np.array([0, 0, 1, 1])
    margins = [Margin(same, np.array([30.0, 70.0]), "a"), Margin(same, np.array([60.0, 40.0]), "b")]
    with pytest.raises(CalibrationError, match="did not converge in 50 iterations"):
        weights_rake(design, margins, max_iter=50)
    forced = weights_rake(design, margins, max_iter=50, force=True)
    assert not forced.converged
    assert forced.iterations == 50
    assert forced.max_rel_error > 0.1


def test_a_calibrated_design_is_not_calibrated_again() -> None:
    design = design_create(BASE, psu=np.arange(8))
    raked = weights_rake(design, [Margin(SEX, np.array([55.0, 45.0]), "sex")]).design
    with pytest.raises(ValueError, match="already calibrated"):
        weights_rake(raked, [Margin(SEX, np.array([55.0, 45.0]), "sex")])


def test_margin_codes_must_cover_every_row() -> None:
    design = design_create(BASE, psu=np.arange(8))
    with pytest.raises(ValueError, match="expected 8 codes, got 3"):
        weights_rake(design, [Margin(np.array([0, 1, 0]), np.array([55.0, 45.0]), "sex")])


def test_post_stratification_scales_each_post_stratum_in_one_pass() -> None:
    design = design_create(BASE, psu=np.arange(8))
    result = weights_post_stratify(design, AGE, np.array([30.0, 40.0, 30.0]), name="age")
    assert result.converged and result.iterations == 1
    ratio = result.weights / BASE
    for level, total in enumerate([30.0, 40.0, 30.0]):
        assert np.allclose(ratio[AGE == level], total / BASE[AGE == level].sum(), rtol=1e-14)
    assert result.design.calibration is not None
    assert result.design.calibration.method == "poststratification"


def test_post_stratification_is_raking_on_one_margin() -> None:
    design = design_create(BASE, strata=np.array([0, 0, 0, 0, 1, 1, 1, 1]),
                           psu=np.array([0, 0, 1, 1, 2, 2, 3, 3]))
    totals = np.array([30.0, 40.0, 30.0])
    post = weights_post_stratify(design, AGE, totals).design
    raked = weights_rake(design, [Margin(AGE, totals, "age")]).design
    y = np.array([1.0, 4.0, 2.0, 8.0, 5.0, 7.0, 3.0, 6.0])
    a, b = estimate_mean(post, y)[0], estimate_mean(raked, y)[0]
    assert a.estimate == pytest.approx(b.estimate, rel=1e-13)
    assert a.se == pytest.approx(b.se, rel=1e-10)


@st.composite
def raking_problems(draw: st.DrawFn) -> tuple[np.ndarray, list[Margin]]:
    """Random respondents and margins that some positive weights meet exactly."""
    n = draw(st.integers(10, 80))
    n_margins = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    base = rng.uniform(0.5, 30.0, n)
    truth = base * rng.uniform(0.3, 3.0, n)
    margins = []
    for j in range(n_margins):
        levels = draw(st.integers(1, min(6, n)))
        codes = rng.integers(0, levels, n)
        codes[:levels] = np.arange(levels)
        margins.append(Margin(codes, np.bincount(codes, truth, minlength=levels), f"m{j}"))
    return base, margins


@settings(max_examples=150, deadline=None)
@given(raking_problems())
def test_raked_weights_hit_every_margin(problem: tuple[np.ndarray, list[Margin]]) -> None:
    base, margins = problem
    design = design_create(base, psu=np.arange(base.size))
    result = weights_rake(design, margins, tol=1e-9, max_iter=5000)
    assert result.converged
    for margin in margins:
        achieved = np.bincount(margin.codes, result.weights, minlength=margin.totals.size)
        np.testing.assert_allclose(achieved, margin.totals, rtol=1e-9)
    # Raking multiplies the base weight by one factor per level of each margin: log g is
    # additive in the margin levels.
    log_g = np.log(result.weights / base)
    columns = [np.ones(base.size)] + [
        (m.codes == level).astype(float) for m in margins for level in range(m.totals.size)
    ]
    basis = np.column_stack(columns)
    fitted = basis @ np.linalg.lstsq(basis, log_g, rcond=None)[0]
    np.testing.assert_allclose(fitted, log_g, atol=1e-8)
