"""Public estimates: domains, missing values, quality figures and invariants."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import (
    CellEstimate,
    Margin,
    SurveyDesign,
    design_create,
    estimate_contrast,
    estimate_difference,
    estimate_domain_differences,
    estimate_mean,
    estimate_proportion,
    estimate_ratio,
    estimate_total,
    variance_taylor,
    weights_rake,
)


def county_like(seed: int = 7, n: int = 600) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    stratum = rng.integers(0, 6, n)
    village = stratum * 10 + rng.integers(0, 5, n)
    town = stratum // 2
    sex = rng.integers(0, 2, n)
    age = rng.integers(0, 4, n)
    effect = rng.normal(0, 0.7, 60)[village]
    literate = (rng.random(n) < 1 / (1 + np.exp(1.2 - 0.4 * age - effect))).astype(float)
    score = 60 + 5 * age + 6 * effect + rng.normal(0, 10, n)
    return {
        "weights": rng.uniform(50, 400, n), "stratum": stratum, "village": village,
        "town": town, "sex": sex, "age": age, "literate": literate, "score": score,
    }


DATA = county_like()


def design(lonely: str = "fail") -> SurveyDesign:
    return design_create(DATA["weights"], strata=DATA["stratum"], psu=DATA["village"],
                         lonely_psu=lonely)  # type: ignore[arg-type]


def test_a_cell_has_every_quality_figure() -> None:
    (cell,) = estimate_proportion(design(), DATA["literate"], var="literate")
    assert isinstance(cell, CellEstimate)
    assert cell.var == "literate" and cell.domain is None
    assert cell.statistic == "proportion" and cell.ci_method == "logit"
    assert cell.n == DATA["weights"].size
    assert cell.weighted_n == pytest.approx(DATA["weights"].sum())
    assert cell.df == 30 - 6
    assert cell.ci_low < cell.estimate < cell.ci_high
    assert cell.n_eff == pytest.approx(cell.n / cell.deff)
    assert cell.cv == pytest.approx(cell.se / cell.estimate)
    assert cell.reliable
    assert set(f.name for f in dataclasses.fields(cell)) >= {
        "var", "domain", "estimate", "se", "ci_low", "ci_high", "df", "deff", "n",
        "weighted_n", "n_eff", "cv", "reliable",
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        cell.estimate = 0.5  # type: ignore[misc]


def test_weighted_proportion_is_the_weighted_share() -> None:
    (cell,) = estimate_proportion(design(), DATA["literate"])
    expected = np.sum(DATA["weights"] * DATA["literate"]) / DATA["weights"].sum()
    assert cell.estimate == pytest.approx(expected, rel=1e-14)


def test_reliability_follows_the_thresholds() -> None:
    cells = estimate_proportion(design(), DATA["literate"], by=[DATA["town"], DATA["sex"]])
    for min_n, max_cv in [(30, 0.30), (60, 0.30), (30, 0.10), (0, 1.0)]:
        flagged = estimate_proportion(design(), DATA["literate"], by=[DATA["town"], DATA["sex"]],
                                      min_n=min_n, max_cv=max_cv)
        for cell, again in zip(cells, flagged):
            assert again.reliable == (cell.n >= min_n and cell.cv <= max_cv)
    assert any(c.reliable for c in cells) and not all(
        c.reliable for c in estimate_proportion(design(), DATA["literate"],
                                                by=[DATA["town"], DATA["sex"]], max_cv=0.10)
    )


def test_domains_of_several_groupings_are_label_tuples_in_sorted_order() -> None:
    town = np.array(["T" + str(t) for t in DATA["town"]])
    cells = estimate_mean(design(), DATA["score"], by=[town, DATA["sex"]])
    assert [c.domain for c in cells] == [(f"T{t}", s) for t in range(3) for s in range(2)]
    assert sum(c.n for c in cells) == DATA["score"].size


def test_domain_variance_uses_the_full_design() -> None:
    in_domain = (DATA["age"] == 2) & (DATA["village"] % 5 != 0)
    cells = {c.domain: c for c in estimate_mean(design(), DATA["score"], by=in_domain)}
    w = DATA["weights"]
    w_d = w[in_domain].sum()
    mean_d = np.sum((w * DATA["score"])[in_domain]) / w_d
    influence = np.where(in_domain, w * (DATA["score"] - mean_d) / w_d, 0.0)
    cell = cells[(True,)]
    assert cell.estimate == pytest.approx(mean_d, rel=1e-13)
    assert cell.se == pytest.approx(np.sqrt(variance_taylor(design(), influence)[0, 0]), rel=1e-12)
    # Subsetting the arrays instead loses the PSUs the domain misses and changes the SE.
    subset = design_create(w[in_domain], strata=DATA["stratum"][in_domain],
                           psu=DATA["village"][in_domain])
    (naive,) = estimate_mean(subset, DATA["score"][in_domain])
    assert naive.estimate == pytest.approx(cell.estimate, rel=1e-13)
    assert abs(naive.se - cell.se) > 1e-6 * cell.se


def test_missing_values_leave_the_estimate_but_stay_in_the_design() -> None:
    y = DATA["score"].copy()
    missing = np.random.default_rng(1).random(y.size) < 0.1
    y[missing] = np.nan
    (cell,) = estimate_mean(design(), y)
    as_domain = {c.domain: c for c in estimate_mean(design(), DATA["score"], by=missing)}[(False,)]
    for field in ("estimate", "se", "deff", "weighted_n"):
        assert getattr(cell, field) == pytest.approx(getattr(as_domain, field), rel=1e-12)
    assert cell.n == as_domain.n == int((~missing).sum())
    assert cell.df == design().degrees_of_freedom


def test_missing_group_labels_put_rows_in_no_domain() -> None:
    sex = np.where(DATA["sex"] == 1, "M", "F").astype(object)
    sex[:25] = None
    cells = estimate_total(design(), np.ones(sex.size), by=sex)
    assert [c.domain for c in cells] == [("F",), ("M",)]
    assert sum(c.n for c in cells) == sex.size - 25


def test_equal_weight_srs_with_fpc_has_design_effect_one() -> None:
    rng = np.random.default_rng(5)
    n, population = 200, 5000
    srs = design_create(np.full(n, population / n), fpc=np.full(n, population))
    (cell,) = estimate_mean(srs, rng.normal(size=n))
    assert cell.deff == pytest.approx(1.0, rel=1e-12)
    (total,) = estimate_total(srs, rng.normal(size=n))
    assert total.deff == pytest.approx(1.0, rel=1e-12)


def test_a_domain_without_values_has_no_estimate() -> None:
    y = DATA["score"].copy()
    y[DATA["age"] == 3] = np.nan
    cells = {c.domain: c for c in estimate_mean(design(), y, by=DATA["age"])}
    empty = cells[(3,)]
    assert empty.n == 0 and np.isnan(empty.estimate) and np.isnan(empty.se)
    assert not empty.reliable


def test_a_proportion_needs_zero_one_values() -> None:
    y = DATA["literate"].copy()
    y[4] = 2.0
    message = "literate: a proportion needs 0/1 values; got 2.0 at row 4"
    with pytest.raises(ValueError, match=message):
        estimate_proportion(design(), y, var="literate")
    with pytest.raises(ValueError, match="ci must be one of"):
        estimate_proportion(design(), DATA["literate"], ci="exact")  # type: ignore[arg-type]


def test_values_of_the_wrong_length_are_rejected() -> None:
    with pytest.raises(ValueError, match="expected 600 values, got 3"):
        estimate_mean(design(), np.ones(3))


def test_boolean_indicators_are_accepted() -> None:
    (a,) = estimate_proportion(design(), DATA["literate"] == 1)
    (b,) = estimate_proportion(design(), DATA["literate"])
    assert a == b


# --- properties ---------------------------------------------------------------------------


@st.composite
def designs_with_data(draw: st.DrawFn) -> tuple[SurveyDesign, np.ndarray, np.ndarray]:
    seed = draw(st.integers(0, 2**31))
    data = county_like(seed, n=draw(st.integers(120, 400)))
    lonely = draw(st.sampled_from(["remove", "adjust", "average"]))
    base = design_create(data["weights"], strata=data["stratum"], psu=data["village"],
                         lonely_psu=lonely)  # type: ignore[arg-type]
    if draw(st.booleans()):
        rng = np.random.default_rng(seed + 1)
        grand = data["weights"].sum() * 1.3
        margins = []
        for name in ("town", "age"):
            codes = data[name]
            totals = np.bincount(codes, data["weights"]) * rng.uniform(0.8, 1.2, codes.max() + 1)
            margins.append(Margin(codes, totals * grand / totals.sum(), name))
        base = weights_rake(base, margins).design
    y = data["score"].copy()
    y[np.random.default_rng(seed + 2).random(y.size) < draw(st.sampled_from([0.0, 0.05]))] = np.nan
    return base, y, data["town"] * 10 + data["sex"]


@settings(max_examples=60, deadline=None)
@given(designs_with_data())
def test_domain_totals_add_up_to_the_overall_total(
    case: tuple[SurveyDesign, np.ndarray, np.ndarray],
) -> None:
    survey, y, groups = case
    (overall,) = estimate_total(survey, y)
    cells = estimate_total(survey, y, by=groups)
    assert sum(c.estimate for c in cells) == pytest.approx(overall.estimate, rel=1e-10)
    assert sum(c.weighted_n for c in cells) == pytest.approx(overall.weighted_n, rel=1e-10)
    assert sum(c.n for c in cells) == overall.n


@settings(max_examples=60, deadline=None)
@given(designs_with_data(), st.floats(-1e4, 1e4).filter(lambda v: abs(v) > 1e-3))
def test_weighted_mean_of_a_constant_is_the_constant(
    case: tuple[SurveyDesign, np.ndarray, np.ndarray], constant: float,
) -> None:
    survey, _, groups = case
    y = np.full(survey.n_rows, constant)
    for cell in estimate_mean(survey, y) + estimate_mean(survey, y, by=groups):
        assert cell.estimate == pytest.approx(constant, rel=1e-12)
        assert cell.se <= 1e-9 * abs(constant)


@settings(max_examples=60, deadline=None)
@given(designs_with_data(), st.floats(40, 90))
def test_proportion_intervals_contain_the_estimate_inside_zero_one(
    case: tuple[SurveyDesign, np.ndarray, np.ndarray], cut: float,
) -> None:
    survey, y, groups = case
    indicator = np.where(np.isnan(y), np.nan, (y >= cut).astype(float))
    for method in ("logit", "beta"):
        cells = estimate_proportion(survey, indicator, by=groups, ci=method)
        for cell in cells:
            if 0 < cell.estimate < 1 and cell.df > 0:
                assert 0 <= cell.ci_low <= cell.estimate <= cell.ci_high <= 1
            elif method == "beta" and cell.df > 0:
                assert 0 <= cell.ci_low <= cell.estimate <= cell.ci_high <= 1


@settings(max_examples=40, deadline=None)
@given(designs_with_data())
def test_a_single_domain_equals_the_whole_population(
    case: tuple[SurveyDesign, np.ndarray, np.ndarray],
) -> None:
    survey, y, _ = case
    (overall,) = estimate_mean(survey, y)
    (single,) = estimate_mean(survey, y, by=np.zeros(survey.n_rows, dtype=int))
    assert single.domain == (0,)
    assert single.estimate == pytest.approx(overall.estimate, rel=1e-13)
    assert single.se == pytest.approx(overall.se, rel=1e-10)
    assert single.df == overall.df


# --- ratios, contrasts, differences, design effects -------------------------------------------


def test_a_ratio_is_the_ratio_of_totals_with_the_linearised_variance() -> None:
    x = DATA["score"] / 10 + 1
    y = DATA["literate"]
    (cell,) = estimate_ratio(design(), y, x, var="rate")
    w = DATA["weights"]
    ratio = float(w @ y / (w @ x))
    assert cell.estimate == pytest.approx(ratio, rel=1e-13)
    influence = w * (y - ratio * x) / (w @ x)
    assert cell.se == pytest.approx(np.sqrt(variance_taylor(design(), influence)[0, 0]), rel=1e-12)
    (mean,) = estimate_mean(design(), y)
    (unit,) = estimate_ratio(design(), y, np.ones(y.size))
    assert unit.estimate == pytest.approx(mean.estimate, rel=1e-13)
    assert unit.se == pytest.approx(mean.se, rel=1e-12)


def test_the_two_design_effects_differ_by_the_finite_population_factor() -> None:
    for cell in estimate_mean(design(), DATA["score"], by=DATA["town"]):
        factor = (cell.weighted_n - cell.n) / cell.weighted_n
        assert cell.deff_replace == pytest.approx(cell.deff * factor, rel=1e-12)
        assert cell.n_eff == pytest.approx(cell.n / cell.deff, rel=1e-12)


def test_a_domain_difference_uses_the_covariance_of_the_domains() -> None:
    survey = design()
    age = DATA["age"]
    difference = estimate_contrast(survey, DATA["score"], by=age, contrast={2: 1, 0: -1})
    cells = {c.domain: c for c in estimate_mean(survey, DATA["score"], by=age)}
    assert difference.estimate == pytest.approx(cells[(2,)].estimate - cells[(0,)].estimate,
                                                 rel=1e-12)
    w, y = DATA["weights"], DATA["score"]
    influences = []
    for level, sign in ((2, 1.0), (0, -1.0)):
        in_d = age == level
        mean_d = np.sum((w * y)[in_d]) / w[in_d].sum()
        influences.append(sign * np.where(in_d, w * (y - mean_d) / w[in_d].sum(), 0.0))
    expected = np.sqrt(variance_taylor(survey, influences[0] + influences[1])[0, 0])
    assert difference.se == pytest.approx(expected, rel=1e-12)
    assert difference.df == survey.degrees_of_freedom
    pairs = estimate_domain_differences(survey, DATA["literate"], by=age, statistic="proportion")
    assert len(pairs) == 6 and all(0 <= p.p_value <= 1 for p in pairs)
    versus = estimate_domain_differences(survey, DATA["score"], by=age, reference=0)
    assert [p.label for p in versus] == ["1 - 0", "2 - 0", "3 - 0"]
    assert versus[1].se == pytest.approx(difference.se, rel=1e-12)
    with pytest.raises(ValueError, match="no domain 9"):
        estimate_contrast(survey, DATA["score"], by=age, contrast={9: 1})


def test_a_difference_between_waves_adds_variances_with_welch_df() -> None:
    (a,) = estimate_mean(design(), DATA["score"])
    other = county_like(seed=99)
    wave2 = design_create(other["weights"], strata=other["stratum"], psu=other["village"])
    (b,) = estimate_mean(wave2, other["score"])
    change = estimate_difference(a, b)
    assert change.estimate == pytest.approx(a.estimate - b.estimate)
    assert change.se == pytest.approx(np.hypot(a.se, b.se))
    v1, v2 = a.se**2, b.se**2
    assert change.df == pytest.approx((v1 + v2) ** 2 / (v1**2 / a.df + v2**2 / b.df))
    assert change.ci_low < change.estimate < change.ci_high


@settings(max_examples=40, deadline=None)
@given(designs_with_data())
def test_domain_means_combine_to_the_overall_mean(
    case: tuple[SurveyDesign, np.ndarray, np.ndarray],
) -> None:
    survey, y, groups = case
    (overall,) = estimate_mean(survey, y)
    cells = estimate_mean(survey, y, by=groups)
    combined = sum(c.estimate * c.weighted_n for c in cells) / sum(c.weighted_n for c in cells)
    assert combined == pytest.approx(overall.estimate, rel=1e-10)


@settings(max_examples=30, deadline=None)
@given(designs_with_data(), st.floats(40, 90),
       st.sampled_from(["logit", "beta", "likelihood", "asin", "wilson"]))
def test_every_proportion_interval_contains_the_estimate_inside_zero_one(
    case: tuple[SurveyDesign, np.ndarray, np.ndarray], cut: float, method: str,
) -> None:
    survey, y, groups = case
    indicator = np.where(np.isnan(y), np.nan, (y >= cut).astype(float))
    for cell in estimate_proportion(survey, indicator, by=groups, ci=method):  # type: ignore[arg-type]
        if np.isnan(cell.ci_low):
            # Undefined at p = 0 or 1 (logit, asin, likelihood), or where R's profile fails.
            assert method in ("logit", "asin", "likelihood")
            continue
        assert 0.0 <= cell.ci_low <= cell.estimate <= cell.ci_high <= 1.0
