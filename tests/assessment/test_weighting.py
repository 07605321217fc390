"""Weight sets (assessment/weighting.py) on the demo county: calibration, versions, audit."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.utils import translation

from assessment.estimation import wave_design
from assessment.models import AuditEvent, CensusMargin, CensusMarginSet, County, Wave, Weight, WeightSet
from assessment.weighting import METHOD, calibrated_design, margin_set_for, weight_set_compute
from questionnaires.models import Instrument, Response
from scoring.adapters import DataProblem, RespondentTable, margin_totals, respondent_table, stored_weights

LITERACY = ("science_literacy", "health_literacy")
RAKING = ("town", "sex_age", "urban_rural", "education")


@pytest.fixture
def county(demo_county: Any, db: None) -> County:
    return County.objects.get(pk=demo_county.county_id)


def wave_2025(county: County) -> Wave:
    return Wave.objects.get(county=county, year=2025, kind=Wave.Kind.HOUSEHOLD)


def current(wave: Wave, code: str) -> WeightSet:
    return WeightSet.objects.get(wave=wave, instrument__code=code, is_current=True)


@pytest.mark.parametrize("code", LITERACY)
@pytest.mark.parametrize("year", [2022, 2023, 2024, 2025])
def test_final_weights_hit_every_census_margin(county: County, year: int, code: str) -> None:
    wave = Wave.objects.get(county=county, year=year, kind=Wave.Kind.HOUSEHOLD)
    weight_set = current(wave, code)
    table = respondent_table(wave, code)
    stored = stored_weights(weight_set)
    np.testing.assert_array_equal(stored.response_id, table.response_id)
    totals = margin_totals(weight_set.margin_set)
    assert set(RAKING) <= set(totals)
    for variable in RAKING:
        labels = table.labels[variable]
        assert set(labels) == set(totals[variable]), variable  # every census level has respondents
        for level, total in totals[variable].items():
            got = stored.final[labels == level].sum()
            assert abs(got - total) <= 1e-8 * total, (variable, level, got, total)


@pytest.mark.parametrize("code", LITERACY)
def test_weight_rows_keep_base_weights_and_design_coordinates(county: County, code: str) -> None:
    wave = wave_2025(county)
    weight_set = current(wave, code)
    table = respondent_table(wave, code)
    stored = stored_weights(weight_set)
    np.testing.assert_allclose(stored.base, 1 / table.pi, rtol=1e-12)
    # Nonresponse adjustment (adapted deliberately with it): base × the factor of the case's town × urban/rural cell.
    factors = weight_set.method["nonresponse"]["factors"]
    cells = [f"{t}|{u}" for t, u in zip(table.labels["town"], table.labels["urban_rural"])]
    np.testing.assert_allclose(stored.adjusted, stored.base * np.asarray([factors[c] for c in cells]), rtol=1e-12)
    assert all(f >= 1 for f in factors.values())
    np.testing.assert_array_equal(stored.stratum, table.stratum)
    np.testing.assert_array_equal(stored.psu, table.psu)
    d = weight_set.diagnostics
    assert d["respondents"] == table.n
    assert d["converged"] is True and d["max_rel_error"] <= 1e-10
    assert d["sum_final"] == pytest.approx(sum(margin_totals(weight_set.margin_set)["town"].values()))
    assert d["sum_base"] == pytest.approx(stored.base.sum())
    assert d["deff_weighting"] == pytest.approx(1 + stored.final.var() / stored.final.mean() ** 2)
    computed = {"e", "classes", "factors"}
    assert {**weight_set.method, "nonresponse": {k: v for k, v in weight_set.method["nonresponse"].items() if k not in computed}} == METHOD
    age_min, age_max = {"science_literacy": (18, 69), "health_literacy": (15, 69)}[code]
    assert (weight_set.margin_set.age_min, weight_set.margin_set.age_max) == (age_min, age_max)


def test_recomputing_unchanged_data_returns_the_current_set(county: County) -> None:
    wave = wave_2025(county)
    before = current(wave, "science_literacy")
    events = AuditEvent.objects.count()
    outcome = weight_set_compute(wave=wave, instrument_code="science_literacy")
    assert outcome.created is False
    assert outcome.weight_set.pk == before.pk
    assert WeightSet.objects.filter(wave=wave, instrument__code="science_literacy").count() == 1
    assert AuditEvent.objects.count() == events


def test_rejecting_a_response_makes_the_set_stale_and_recomputing_makes_version_2(county: County) -> None:
    wave = wave_2025(county)
    first = current(wave, "science_literacy")
    n_first = Weight.objects.filter(weight_set=first).count()
    rejected = Response.objects.filter(wave=wave, instrument_version__instrument__code="science_literacy").order_by("pk")[10]
    rejected.review = Response.Review.REJECTED
    rejected.save(update_fields=["review"])

    with pytest.raises(DataProblem, match=r"2025 轮次（science_literacy）的权重已过期：第 1 版"):
        wave_design(wave, "science_literacy")

    admin = get_user_model().objects.get(username="admin")
    outcome = weight_set_compute(wave=wave, instrument_code="science_literacy", user=admin)
    assert outcome.created is True
    second = outcome.weight_set
    assert (second.version, second.is_current, second.created_by) == (2, True, admin)
    assert second.inputs_hash != first.inputs_hash
    first.refresh_from_db()
    assert first.is_current is False
    assert Weight.objects.filter(weight_set=first).count() == n_first  # version 1 stays as it was
    assert Weight.objects.filter(weight_set=second).count() == n_first - 1
    assert not Weight.objects.filter(weight_set=second, response=rejected).exists()
    wd = wave_design(wave, "science_literacy")
    assert wd.weight_set == second and wd.table.n == n_first - 1
    event = AuditEvent.objects.get(action="weights.compute", object_id=str(second.pk))
    assert event.actor == admin
    assert event.summary == f"2025 science_literacy v2: {n_first - 1} respondents"
    # The health set is untouched by a science rejection.
    assert weight_set_compute(wave=wave, instrument_code="health_literacy").created is False


def test_new_census_margins_make_a_new_version(county: County) -> None:
    wave = wave_2025(county)
    old = current(wave, "health_literacy")
    newer = CensusMarginSet.objects.create(
        county=county, name="2021 update", reference_year=2021, age_min=15, age_max=69
    )
    CensusMargin.objects.bulk_create(
        CensusMargin(margin_set=newer, variable=m.variable, level=m.level, total=m.total * 1.02)
        for m in old.margin_set.margins.all()
    )
    assert margin_set_for(wave, Instrument.objects.get(code="health_literacy")) == newer
    outcome = weight_set_compute(wave=wave, instrument_code="health_literacy")
    assert outcome.created and outcome.weight_set.version == 2
    assert outcome.weight_set.margin_set == newer
    assert outcome.weight_set.diagnostics["sum_final"] == pytest.approx(1.02 * old.diagnostics["sum_final"])


def test_an_audit_event_is_written_for_each_computed_weight_set(county: County) -> None:
    sets = list(WeightSet.objects.filter(wave__county=county, wave__kind=Wave.Kind.HOUSEHOLD))
    assert len(sets) == 8
    for weight_set in sets:
        event = AuditEvent.objects.get(action="weights.compute", object_type="WeightSet", object_id=str(weight_set.pk))
        assert event.details == weight_set.diagnostics
        assert event.summary.startswith(f"{weight_set.wave.code} {weight_set.instrument.code} v{weight_set.version}:")


def test_missing_census_margins_raise_a_clear_data_problem(county: County) -> None:
    elsewhere = County.objects.create(code="370000", name_zh="无普查县", name_en="No census county")
    wave = Wave.objects.create(county=elsewhere, code="2025", year=2025, name_zh="2025", name_en="2025")
    with pytest.raises(DataProblem, match="无普查县没有 18–69 岁人口的控制数：请先导入人口控制数。"):
        weight_set_compute(wave=wave, instrument_code="science_literacy")
    with translation.override("en"), pytest.raises(DataProblem, match="no census margins for ages 18–69 in No census county"):
        weight_set_compute(wave=wave, instrument_code="science_literacy")
    assert not WeightSet.objects.filter(wave=wave).exists()


def _table(county: County) -> tuple[RespondentTable, dict[str, dict[str, float]]]:
    weight_set = current(wave_2025(county), "science_literacy")
    return respondent_table(weight_set.wave, "science_literacy"), margin_totals(weight_set.margin_set)


def test_margin_set_without_a_raking_variable_is_refused(county: County) -> None:
    table, totals = _table(county)
    del totals["education"]
    with pytest.raises(DataProblem, match="人口控制数缺少这些变量的总数：education。"):
        calibrated_design(table, totals)


def test_respondent_level_without_a_census_total_is_refused(county: County) -> None:
    table, totals = _table(county)
    del totals["town"]["devzone"]
    with pytest.raises(DataProblem, match="有答卷的“town”为“devzone”，人口控制数中却没有这一类的总数。"):
        calibrated_design(table, totals)


def test_census_level_without_respondents_is_refused(county: County) -> None:
    table, totals = _table(county)
    totals["town"]["nowhere"] = 1000.0
    with pytest.raises(DataProblem, match="“town”为“nowhere”的一类有 1,000 人，却没有一份可用的答卷"):
        calibrated_design(table, totals)


def test_census_margins_with_different_grand_totals_are_refused(county: County) -> None:
    table, totals = _table(county)
    totals["town"]["devzone"] += 1000.0
    with pytest.raises(DataProblem, match="按人口控制数调整（raking）失败：.*disagree on the grand total"):
        calibrated_design(table, totals)
    with translation.override("en"), pytest.raises(DataProblem, match="^raking failed: .*disagree on the grand total"):
        calibrated_design(table, totals)


def test_no_usable_responses_is_refused(county: County) -> None:
    table, totals = _table(county)
    empty = RespondentTable(
        response_id=table.response_id[:0],
        case_id=table.case_id[:0],
        stratum=table.stratum[:0],
        psu=table.psu[:0],
        pi=table.pi[:0],
        labels={k: v[:0] for k, v in table.labels.items()},
        groups={},
    )
    with pytest.raises(DataProblem, match="没有可用于计算权重的答卷。"):
        calibrated_design(empty, totals)


def test_calibrated_design_is_pure_given_its_inputs(county: County) -> None:
    table, totals = _table(county)
    a, b = calibrated_design(table, totals), calibrated_design(table, totals)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.converged and a.max_rel_error <= 1e-10
