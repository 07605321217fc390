"""Confidence intervals: closed forms, boundaries and coverage of the estimate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats  # type: ignore[import-untyped, unused-ignore]

from scoring import (
    ci_wald,
    proportion_ci,
    proportion_ci_asin,
    proportion_ci_beta,
    proportion_ci_logit,
    proportion_ci_wilson,
)
from scoring.intervals import t_quantile


def test_t_quantile_is_normal_at_infinite_df_and_undefined_without_df() -> None:
    assert t_quantile(0.95, np.inf) == pytest.approx(1.959963984540054, rel=1e-15)
    assert t_quantile(0.95, 10) == pytest.approx(2.228138851986274, rel=1e-14)
    assert np.isnan(t_quantile(0.95, 0))
    with pytest.raises(ValueError, match="level"):
        t_quantile(1.5, 10)


def test_wald_interval_is_estimate_plus_minus_t_se() -> None:
    low, high = ci_wald(0.5, 0.1, 10)
    assert low == pytest.approx(0.5 - 0.2228138851986274, rel=1e-14)
    assert high == pytest.approx(0.5 + 0.2228138851986274, rel=1e-14)


def test_logit_interval_is_a_wald_interval_on_the_logit_scale() -> None:
    p, se, df = 0.2, 0.05, 30
    t = float(stats.t.ppf(0.975, df))
    centre = math.log(p / (1 - p))
    half = t * se / (p * (1 - p))
    low, high = proportion_ci_logit(p, se, df)
    assert low == pytest.approx(1 / (1 + math.exp(-(centre - half))), rel=1e-13)
    assert high == pytest.approx(1 / (1 + math.exp(-(centre + half))), rel=1e-13)


def test_logit_interval_is_undefined_at_zero_and_one() -> None:
    low, high = proportion_ci_logit(np.array([0.0, 1.0]), np.zeros(2), np.array([5, 5]))
    assert np.isnan(low).all() and np.isnan(high).all()


def test_beta_interval_is_clopper_pearson_under_simple_random_sampling() -> None:
    n, x = 40, 7
    p = x / n
    se = math.sqrt(p * (1 - p) / n)
    low, high = proportion_ci_beta(p, se, n - 1, n)
    assert low == pytest.approx(stats.beta.ppf(0.025, x, n - x + 1), rel=1e-12)
    assert high == pytest.approx(stats.beta.ppf(0.975, x + 1, n - x), rel=1e-12)


def test_beta_interval_at_zero_uses_the_sample_size() -> None:
    n = 25
    low, high = proportion_ci_beta(0.0, 0.0, n - 1, n)
    assert low == 0.0
    assert high == pytest.approx(1 - 0.025 ** (1 / n), rel=1e-12)
    low, high = proportion_ci_beta(1.0, 0.0, n - 1, n)
    assert high == 1.0
    assert low == pytest.approx(0.025 ** (1 / n), rel=1e-12)


def test_beta_interval_widens_when_the_design_has_fewer_df() -> None:
    wide = proportion_ci_beta(0.3, 0.04, 5, 200)
    narrow = proportion_ci_beta(0.3, 0.04, 150, 200)
    assert wide[0] < narrow[0] and wide[1] > narrow[1]


def test_unknown_method_is_rejected() -> None:
    with pytest.raises(ValueError, match="ci must be one of"):
        proportion_ci("exact", 0.5, 0.1, 10, 20)  # type: ignore[arg-type]


proportions = st.floats(0.0005, 0.9995)
standard_errors = st.floats(1e-5, 0.3)
dfs = st.integers(1, 500)


@settings(max_examples=300, deadline=None)
@given(p=proportions, se=standard_errors, df=dfs, extra=st.integers(1, 5000),
       method=st.sampled_from(["logit", "beta"]), level=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_logit_and_beta_intervals_contain_the_estimate_inside_zero_one(
    p: float, se: float, df: int, extra: int, method: str, level: float
) -> None:
    low, high = proportion_ci(method, p, se, df, df + extra, level)  # type: ignore[arg-type]
    assert 0.0 <= low <= p <= high <= 1.0


@settings(max_examples=100, deadline=None)
@given(p=st.sampled_from([0.0, 1.0]), df=dfs, extra=st.integers(1, 5000))
def test_beta_interval_at_the_boundary_stays_inside_zero_one(p: float, df: int, extra: int) -> None:
    low, high = proportion_ci_beta(p, 0.0, df, df + extra)
    assert 0.0 <= low <= p <= high <= 1.0
    assert high - low > 0


@settings(max_examples=200, deadline=None)
@given(p=proportions, se=standard_errors, df=dfs, method=st.sampled_from(["logit", "wald", "beta"]))
def test_higher_confidence_gives_a_wider_interval(
    p: float, se: float, df: int, method: str
) -> None:
    low90, high90 = proportion_ci(method, p, se, df, df + 10, 0.90)  # type: ignore[arg-type]
    low99, high99 = proportion_ci(method, p, se, df, df + 10, 0.99)  # type: ignore[arg-type]
    assume(high90 - low90 > 1e-12)
    assert low99 <= low90 and high99 >= high90


# --- arcsine, Wilson, the t quantile ----------------------------------------------------------


def test_t_quantile_matches_r_qt_to_machine_precision() -> None:
    # R 4.2 (to 1e-13: the Newton iteration stops within a few ulps): qt(0.975, c(3, 24, 1999, 5000)), qt(1e-6, c(3, 10), lower.tail = FALSE)
    expected = [3.1824463052837078, 2.0638985616280254, 1.9611514201705613, 1.9604385517065075]
    np.testing.assert_allclose(t_quantile(0.95, [3, 24, 1999, 5000]), expected, rtol=1e-13)
    from scoring.intervals import t_upper_quantile

    np.testing.assert_allclose(t_upper_quantile(1e-6, [3, 10]),
                               [103.29946778041933, 9.7519954909405797], rtol=1e-14)


@settings(max_examples=200, deadline=None)
@given(df=st.floats(1.0, 1e6), level=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_t_quantile_agrees_with_scipy(df: float, level: float) -> None:
    assert float(t_quantile(level, df)) == pytest.approx(
        float(stats.t.ppf(1 - (1 - level) / 2, df)), rel=1e-10
    )


def test_asin_interval_is_wald_on_the_arcsine_scale() -> None:
    p, se, df = 0.3, 0.04, 20
    t = float(stats.t.ppf(0.975, df))
    half = t * se / (2 * math.sqrt(p * (1 - p)))
    low, high = proportion_ci_asin(p, se, df)
    assert low == pytest.approx(math.sin(math.asin(math.sqrt(p)) - half) ** 2, rel=1e-13)
    assert high == pytest.approx(math.sin(math.asin(math.sqrt(p)) + half) ** 2, rel=1e-13)


def test_wilson_interval_under_simple_random_sampling_is_the_textbook_one() -> None:
    n, x = 50, 9
    p = x / n
    z = 1.959963984540054
    low, high = proportion_ci_wilson(p, math.sqrt(p * (1 - p) / n), np.inf, n)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert low == pytest.approx(centre - half, rel=1e-12)
    assert high == pytest.approx(centre + half, rel=1e-12)
    low0, high0 = proportion_ci_wilson(0.0, 0.0, 30, 40)
    assert low0 == 0.0 and 0 < high0 < 0.2


@settings(max_examples=300, deadline=None)
@given(p=proportions, se=standard_errors, df=dfs, extra=st.integers(1, 5000),
       method=st.sampled_from(["asin", "wilson"]), level=st.sampled_from([0.8, 0.95, 0.99]))
def test_asin_and_wilson_intervals_contain_the_estimate_inside_zero_one(
    p: float, se: float, df: int, extra: int, method: str, level: float
) -> None:
    low, high = proportion_ci(method, p, se, df, df + extra, level)  # type: ignore[arg-type]
    assert 0.0 <= low <= p <= high <= 1.0


def test_likelihood_needs_its_profile_inputs() -> None:
    with pytest.raises(ValueError, match="needs the quasi-binomial profile"):
        proportion_ci("likelihood", 0.5, 0.1, 10, 20)
