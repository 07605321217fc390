"""GREG, bounded and logit calibration; trimming; nonresponse adjustment."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import (
    CalibrationError,
    Margin,
    NumericTotal,
    design_create,
    estimate_mean,
    weights_calibrate,
    weights_nonresponse,
    weights_rake,
    weights_trim,
)


def problem(seed: int, n: int = 150) -> tuple[np.ndarray, list[Margin], NumericTotal, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.uniform(5, 20, n)
    truth = base * rng.uniform(0.7, 1.4, n)
    sex = rng.integers(0, 2, n)
    age = rng.integers(0, 4, n)
    size = rng.gamma(3.0, 10.0, n)
    margins = [Margin(sex, np.bincount(sex, truth), "sex"), Margin(age, np.bincount(age, truth),
                                                                   "age")]
    return base, margins, NumericTotal(size, float(truth @ size), "size"), rng.normal(size=n)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31))
def test_greg_weights_hit_categorical_and_numeric_totals_and_are_linear(seed: int) -> None:
    base, margins, size, _ = problem(seed)
    design = design_create(base, psu=np.arange(base.size))
    result = weights_calibrate(design, margins, [size])
    assert result.converged and result.design.calibration is not None
    w = result.weights
    for margin in margins:
        np.testing.assert_allclose(np.bincount(margin.codes, w), margin.totals, rtol=1e-9)
    assert w @ size.values == pytest.approx(size.total, rel=1e-9)
    g = w / base
    basis = np.column_stack([np.ones(base.size), margins[0].codes, np.eye(4)[margins[1].codes],
                             size.values])
    fitted = basis @ np.linalg.lstsq(basis, g, rcond=None)[0]
    np.testing.assert_allclose(fitted, g, atol=1e-9)
    assert result.margin_errors and max(result.margin_errors) == result.max_rel_error


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.sampled_from(["linear", "raking", "logit"]))
def test_bounded_calibration_keeps_g_inside_the_bounds(seed: int, calfun: str) -> None:
    base, margins, size, _ = problem(seed)
    design = design_create(base, psu=np.arange(base.size))
    free = weights_calibrate(design, margins, [size], calfun="raking").weights / base
    # Tighter than the free solution, still around g = 1.
    low, high = min(0.5 * (1 + free.min()), 0.99), max(0.5 * (1 + free.max()), 1.01)
    try:
        result = weights_calibrate(design, margins, [size], calfun=calfun,  # type: ignore[arg-type]
                                   bounds=(low, high))
    except CalibrationError:
        return  # the bounds may be infeasible: then nothing is returned
    g = result.weights / base
    assert g.min() >= low - 1e-9 and g.max() <= high + 1e-9
    for margin in margins:
        np.testing.assert_allclose(np.bincount(margin.codes, result.weights), margin.totals,
                                   rtol=1e-9)


def test_infeasible_bounds_fail_unless_forced() -> None:
    base, margins, _, _ = problem(1)
    design = design_create(base, psu=np.arange(base.size))
    with pytest.raises(CalibrationError, match="did not converge"):
        weights_calibrate(design, margins, calfun="linear", bounds=(0.99, 1.01), max_iter=50)
    forced = weights_calibrate(design, margins, calfun="linear", bounds=(0.99, 1.01),
                               max_iter=50, force=True)
    assert not forced.converged and forced.max_rel_error > 1e-3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calfun": "logit"}, "needs finite bounds"),
        ({"calfun": "linear", "bounds": (1.2, 2.0)}, "must contain g = 1"),
        ({"calfun": "linear", "bounds": (2.0, 1.0)}, "lower bound must be below"),
        ({"calfun": "cubic"}, "calfun must be one of"),
    ],
)
def test_invalid_calibration_options_are_rejected(kwargs: dict[str, object], message: str) -> None:
    base, margins, _, _ = problem(2)
    design = design_create(base, psu=np.arange(base.size))
    with pytest.raises(ValueError, match=message):
        weights_calibrate(design, margins, **kwargs)  # type: ignore[arg-type]


def test_raking_as_calibration_equals_proportional_fitting() -> None:
    base, margins, _, y = problem(3)
    design = design_create(base, strata=np.arange(base.size) % 3, psu=np.arange(base.size))
    ipf = weights_rake(design, margins)
    newton = weights_calibrate(design, margins, calfun="raking", bounds=(0.0, 1e6))
    np.testing.assert_allclose(newton.weights, ipf.weights, rtol=1e-9)
    a, b = estimate_mean(ipf.design, y)[0], estimate_mean(newton.design, y)[0]
    assert a.se == pytest.approx(b.se, rel=1e-8)


def test_a_level_with_a_total_but_no_respondents_is_named() -> None:
    base, _, _, _ = problem(4)
    design = design_create(base, psu=np.arange(base.size))
    codes = np.zeros(base.size, dtype=int)
    margin = Margin(codes, np.array([100.0, 5.0]), "edu", levels=["primary", "college"])
    with pytest.raises(ValueError, match="level 'college' has a population total of 5"):
        weights_calibrate(design, [margin])


def test_trimming_caps_weights_keeps_the_total_and_records_itself() -> None:
    rng = np.random.default_rng(5)
    w = rng.lognormal(3, 0.6, 400)
    design = design_create(w, psu=np.arange(400))
    result = weights_trim(design, lower=float(np.quantile(w, 0.05)),
                          upper=float(np.quantile(w, 0.95)), strict=True)
    trimmed = result.weights
    assert trimmed.sum() == pytest.approx(w.sum(), rel=1e-12)
    assert trimmed.max() <= np.quantile(w, 0.95) * (1 + 1e-12)
    assert trimmed.min() >= np.quantile(w, 0.05) * (1 - 1e-12)
    assert result.n_trimmed == int(((w < np.quantile(w, 0.05)) | (w > np.quantile(w, 0.95))).sum())
    assert result.design.trimming is not None
    np.testing.assert_array_equal(result.design.trimming.weights_before, w)
    # R's rule: the trimmed excess is shared equally among the weights inside the bounds.
    once = weights_trim(design, upper=float(np.quantile(w, 0.9))).weights
    inside = w <= np.quantile(w, 0.9)
    shares = once[inside] - w[inside]
    np.testing.assert_allclose(shares, shares[0])
    with pytest.raises(ValueError, match="already trimmed"):
        weights_trim(result.design, upper=100.0)


def test_trimming_a_calibrated_design_keeps_the_calibration_residuals() -> None:
    base, margins, _, y = problem(6)
    design = design_create(base, strata=np.arange(base.size) % 5, psu=np.arange(base.size))
    raked = weights_rake(design, margins).design
    trimmed = weights_trim(raked, upper=float(np.quantile(raked.weights, 0.9))).design
    assert trimmed.calibration is not None and raked.calibration is not None
    np.testing.assert_allclose(
        trimmed.calibration.regression_weights,
        raked.calibration.base_weights * trimmed.weights / raked.weights,
    )
    assert estimate_mean(trimmed, y)[0].se != estimate_mean(raked, y)[0].se


def test_nonresponse_moves_the_weight_of_nonrespondents_to_their_class() -> None:
    w = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    responded = np.array([1, 0, 1, 1, 0, 1])
    classes = np.array(["a", "a", "a", "b", "b", "b"])
    result = weights_nonresponse(w, responded, classes)
    np.testing.assert_allclose(result.weights, [10 * 60 / 40, 0, 30 * 60 / 40,
                                                40 * 150 / 100, 0, 60 * 150 / 100])
    assert result.class_labels == ("a", "b")
    np.testing.assert_allclose(result.response_rates, [40 / 60, 100 / 150])
    with pytest.raises(ValueError, match="weighting class b has no respondents"):
        weights_nonresponse(w, np.array([1, 1, 1, 0, 0, 0]), classes)
    with pytest.raises(ValueError, match="needs a factor of 1.5 > 1.2"):
        weights_nonresponse(w, responded, classes, max_factor=1.2)
    with pytest.raises(ValueError, match="0/1"):
        weights_nonresponse(w, np.array([1, 2, 1, 1, 0, 1]), classes)
