"""Estimates of a wave (assessment/estimation.py, scoring/adapters.py) on the demo county."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.utils import translation

from assessment.demography import EDUCATION_LEVELS
from assessment.estimation import WaveDesign, benchmark_indicator, estimate_by, estimate_overall, wave_design
from assessment.models import Case, SampledUnit, Wave, Weight, WeightSet
from questionnaires.models import ResponseScore
from scoring.adapters import DataProblem, stored_weights

PARTITIONS = ("town", "sex", "age_group", "education", "urban_rural")


@pytest.fixture
def wave(demo_county: Any, db: None) -> Wave:
    return Wave.objects.get(county_id=demo_county.county_id, year=2025, kind=Wave.Kind.HOUSEHOLD)


@pytest.fixture
def science(wave: Wave) -> WaveDesign:
    return wave_design(wave, "science_literacy")


def test_wave_design_reproduces_the_stored_weights(science: WaveDesign) -> None:
    stored = stored_weights(science.weight_set)
    np.testing.assert_allclose(science.design.weights, stored.final, rtol=1e-9)
    assert science.key.instrument_version.instrument.code == "science_literacy"


def test_wave_design_without_weights_says_to_run_the_weighting(wave: Wave) -> None:
    WeightSet.objects.filter(wave=wave, instrument__code="health_literacy").update(is_current=False)
    with pytest.raises(DataProblem, match="2025 轮次的 health_literacy 还没有权重：请先计算权重。"):
        wave_design(wave, "health_literacy")
    with translation.override("en"), pytest.raises(DataProblem, match="^wave 2025 has no weights for health_literacy yet: run the weighting first$"):
        wave_design(wave, "health_literacy")


def test_wave_design_refuses_weights_it_cannot_reproduce(wave: Wave, science: WaveDesign) -> None:
    row = Weight.objects.filter(weight_set=science.weight_set).order_by("pk").first()
    Weight.objects.filter(pk=row.pk).update(final=row.final * 1.001)
    with pytest.raises(DataProblem, match="第 1 版权重无法由其输入重新得出。"):
        wave_design(wave, "science_literacy")


def test_wave_design_refuses_a_design_changed_since_the_weights(wave: Wave, science: WaveDesign) -> None:
    # Same respondents and π, so the raked weights still reproduce, but the variance would use
    # strata and PSUs that the weight set does not record.
    certain = SampledUnit.objects.filter(draw__design__wave=wave, certainty=True).first()
    SampledUnit.objects.filter(pk=certain.pk).update(certainty=False)
    with pytest.raises(DataProblem, match=r"2025 轮次（science_literacy）的权重已过期：第 1 版权重计算之后抽样设计"):
        wave_design(wave, "science_literacy")


@pytest.mark.parametrize("code", ["science_literacy", "health_literacy"])
def test_overall_estimate_is_the_weighted_share_with_a_logit_interval(wave: Wave, code: str) -> None:
    wd = wave_design(wave, code)
    y = benchmark_indicator(wd, code)
    assert not np.isnan(y).any() and set(np.unique(y)) == {0.0, 1.0}
    cell = estimate_overall(wd, code)
    w = wd.design.weights
    assert cell.estimate == pytest.approx(np.sum(w * y) / np.sum(w), rel=1e-12)
    assert cell.n == wd.table.n
    assert cell.weighted_n == pytest.approx(w.sum())
    assert cell.ci_method == "logit"
    assert 0 < cell.ci_low < cell.estimate < cell.ci_high < 1
    # The logit interval is symmetric on the logit scale.
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    assert logit(cell.estimate) - logit(cell.ci_low) == pytest.approx(logit(cell.ci_high) - logit(cell.estimate))
    wider = estimate_overall(wd, code, level=0.99)
    assert wider.ci_low < cell.ci_low and wider.ci_high > cell.ci_high


@pytest.mark.parametrize("by", PARTITIONS)
def test_estimate_by_a_demographic_gives_one_cell_per_level_and_partitions_n(science: WaveDesign, by: str) -> None:
    overall = estimate_overall(science, "science_literacy")
    cells = estimate_by(science, "science_literacy", by)
    levels = sorted(set(science.table.labels[by]))
    assert [c.domain for c in cells] == [(level,) for level in levels]
    assert sum(c.n for c in cells) == overall.n
    assert sum(c.weighted_n for c in cells) == pytest.approx(overall.weighted_n)
    # The overall share is the domains' shares averaged by their weighted sizes.
    assert sum(c.estimate * c.weighted_n for c in cells) / overall.weighted_n == pytest.approx(overall.estimate)
    for cell in cells:
        assert cell.ci_low <= cell.estimate <= cell.ci_high


def test_estimate_by_covers_every_town_education_level_and_adult_age_group(science: WaveDesign) -> None:
    towns = [c.domain[0] for c in estimate_by(science, "science_literacy", "town")]
    assert sorted(towns) == sorted(Wave.objects.get(pk=science.wave.pk).county.towns.values_list("code", flat=True))
    assert {c.domain[0] for c in estimate_by(science, "science_literacy", "education")} == set(EDUCATION_LEVELS)
    # Science literacy is measured from 18: no 15–17 cell.
    assert [c.domain[0] for c in estimate_by(science, "science_literacy", "age_group")] == [
        "18-29", "30-39", "40-49", "50-59", "60-69",
    ]


def test_health_has_a_15_to_17_age_group(wave: Wave) -> None:
    cells = estimate_by(wave_design(wave, "health_literacy"), "health_literacy", "age_group")
    assert cells[0].domain == ("15-17",) and cells[0].n > 0


def test_estimate_by_group_gives_one_cell_per_population_group(science: WaveDesign) -> None:
    cells = estimate_by(science, "science_literacy", "group")
    groups = science.table.groups
    assert [c.domain for c in cells] == [(name,) for name, member in groups.items() if member.any()]
    assert {c.domain[0] for c in cells} == {"youth", "farmer", "worker", "elder", "cadre"}
    for cell in cells:
        assert cell.n == int(groups[cell.domain[0]].sum())
    # Elders (60+) are a subset of the 60–69 age group here.
    elder = next(c for c in cells if c.domain == ("elder",))
    sixties = next(c for c in estimate_by(science, "science_literacy", "age_group") if c.domain == ("60-69",))
    assert (elder.n, elder.estimate) == (sixties.n, pytest.approx(sixties.estimate))


def test_estimate_of_a_dimension_benchmark(wave: Wave) -> None:
    wd = wave_design(wave, "health_literacy")
    overall = estimate_overall(wd, "health_literacy")
    for aspect in ("knowledge", "lifestyle", "skills"):
        cell = estimate_overall(wd, "health_aspect", aspect)
        assert cell.n == overall.n
        assert 0 < cell.estimate < 1
    # Meeting 80% of all 66 points needs at least one aspect at 80%.
    y_total = benchmark_indicator(wd, "health_literacy")
    aspects = np.column_stack([benchmark_indicator(wd, "health_aspect", a) for a in ("knowledge", "lifestyle", "skills")])
    assert np.all(aspects[y_total == 1].max(axis=1) == 1)


def test_certainty_psus_are_their_own_strata_with_households_as_psus(science: WaveDesign) -> None:
    table = science.table
    cases = {
        c.pk: c
        for c in Case.objects.filter(pk__in=table.case_id.tolist()).select_related("town", "sampled_unit__unit")
    }
    certain = np.asarray([cases[int(c)].sampled_unit.certainty for c in table.case_id])
    assert certain.any() and not certain.all()
    for i, case_id in enumerate(table.case_id):
        case = cases[int(case_id)]
        if certain[i]:
            assert table.stratum[i] == f"{case.town.code}-{case.sampled_unit.unit.code}"
            assert table.psu[i] == case.code
        else:
            assert table.stratum[i] == case.town.code
            assert table.psu[i] == case.sampled_unit.unit.code
    certainty_strata = set(table.stratum[certain])
    town_strata = set(table.stratum[~certain])
    assert town_strata <= {c.town.code for c in cases.values()}
    assert not certainty_strata & town_strata
    for stratum in certainty_strata:
        assert np.unique(table.psu[table.stratum == stratum]).size == np.sum(table.stratum == stratum) > 1
    stored = stored_weights(science.weight_set)
    np.testing.assert_array_equal(stored.stratum, table.stratum)


def test_domain_with_no_literate_respondent_gets_a_korn_graubard_interval(wave: Wave, science: WaveDesign) -> None:
    # Logit bounds are undefined at p̂ = 0; the estimate falls back to the beta interval there only.
    zone = science.table.response_id[science.table.labels["town"] == "devzone"].tolist()
    scores = list(ResponseScore.objects.filter(key=science.key, response_id__in=zone))
    for score in scores:
        score.benchmarks = {**score.benchmarks, "science_literacy": False}
    ResponseScore.objects.bulk_update(scores, ["benchmarks"])
    cells = {c.domain[0]: c for c in estimate_by(science, "science_literacy", "town")}
    zone_cell = cells.pop("devzone")
    assert zone_cell.estimate == 0.0
    assert zone_cell.ci_method == "beta"
    assert zone_cell.ci_low == 0.0 and 0 < zone_cell.ci_high < 0.2
    assert all(c.ci_method == "logit" and np.isfinite(c.ci_low) for c in cells.values())


def test_unscored_responses_are_missing_not_illiterate(wave: Wave, science: WaveDesign) -> None:
    first = int(science.table.response_id[0])
    ResponseScore.objects.filter(response_id=first, key=science.key).delete()
    y = benchmark_indicator(science, "science_literacy")
    assert np.isnan(y[0]) and not np.isnan(y[1:]).any()
    assert estimate_overall(science, "science_literacy").n == science.table.n - 1


def test_case_without_demographics_is_named_in_the_data_problem(wave: Wave) -> None:
    from questionnaires.models import Response

    demographics = Response.objects.filter(wave=wave, instrument_version__instrument__code="demographics").order_by("pk")
    case = demographics[0].case
    demographics.filter(pk=demographics[0].pk).update(review=Response.Review.REJECTED)
    with pytest.raises(DataProblem, match=f"样本户 {case.code}：缺少基本情况问卷"):
        wave_design(wave, "health_literacy")
