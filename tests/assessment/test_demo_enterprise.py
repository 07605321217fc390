"""The demo's enterprise survey (assessment/demo/enterprise.py): key-industry workers answering
the occupational health test, with its frame, samples, true model and weights.

The pure parts run on the synthetic population; the database part on the session's demo
county, where the enterprise waves are built (in a transaction rolled back after the module)
unless `manage.py demo` built them already.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from django.db import transaction

from assessment.demo import enterprise as ent
from assessment.demo.county import TOWNS
from assessment.demo.population import Population
from assessment.demo.truth import OCCUPATIONAL, item_parameters, wave_truth
from assessment.sampling import pps_probabilities

STATED = {2022: 0.780, 2023: 0.815, 2024: 0.850, 2025: 0.880}  # docs/demo.md


@pytest.fixture(scope="module")
def frame(population: Population) -> ent.WorkerFrame:
    return ent.build_worker_frame(population)


# -- the frame, the sample, the truth (pure) ----------------------------------------------------


def test_every_industrial_worker_aged_18_to_59_works_for_one_enterprise_of_their_town(population: Population, frame: ent.WorkerFrame) -> None:
    workers = np.flatnonzero((population.occupation == 1) & (population.age >= 18) & (population.age <= 59))
    np.testing.assert_array_equal(np.sort(frame.person), workers)
    np.testing.assert_array_equal(frame.town[frame.enterprise], population.town[frame.person])
    assert frame.size.sum() == workers.size and frame.size.min() >= 1
    assert len(set(frame.code)) == len(frame.code) == len(frame.name_zh) == len(set(frame.name_zh))
    per_town = Counter(frame.town.tolist())
    assert set(per_town) == set(range(len(TOWNS))) and min(per_town.values()) >= 4
    # Streets and the development zone are urban; towns have enterprises in the seat and outside.
    kinds = np.asarray([t.kind for t in TOWNS])[frame.town]
    assert frame.urban[kinds != "town"].all()
    assert 0.1 < frame.urban[kinds == "town"].mean() < 0.6


def test_the_frame_is_the_same_for_the_same_seed(population: Population, frame: ent.WorkerFrame) -> None:
    again = ent.build_worker_frame(population)
    assert again.code == frame.code
    np.testing.assert_array_equal(again.person, frame.person)
    np.testing.assert_array_equal(again.effect, frame.effect)


def test_enterprises_are_allocated_30_with_at_least_2_per_town(frame: ent.WorkerFrame) -> None:
    allocation = ent.enterprise_allocation(frame)
    assert allocation.sum() == 30 and allocation.min() >= 2


def test_a_sample_takes_20_workers_per_enterprise_with_the_pps_probability(population: Population, frame: ent.WorkerFrame) -> None:
    sample = ent.draw_enterprise_sample(population, frame, np.random.default_rng([1, 2]))
    allocation = ent.enterprise_allocation(frame)
    chosen = np.unique(sample.enterprise)
    np.testing.assert_array_equal(np.bincount(frame.town[chosen], minlength=len(TOWNS)), allocation)
    per_enterprise = Counter(sample.enterprise.tolist())
    for e, n in per_enterprise.items():
        assert n == min(20, frame.size[e])
    for t in range(len(TOWNS)):
        units = np.flatnonzero(frame.town == t)
        pi, certain = pps_probabilities(frame.size[units].astype(float), int(allocation[t]))
        expected = dict(zip(units.tolist(), pi.tolist()))
        rows = np.flatnonzero(frame.town[sample.enterprise] == t)
        for i in rows:
            assert sample.prob_enterprise[i] == pytest.approx(expected[int(sample.enterprise[i])], rel=1e-12)
    np.testing.assert_allclose(sample.prob_worker, np.minimum(1.0, 20 / frame.size[sample.enterprise]))
    # Workers come from their enterprise's roster, each once.
    np.testing.assert_array_equal(frame.enterprise[sample.worker], sample.enterprise)
    assert np.unique(sample.worker).size == sample.worker.size
    assert set(sample.outcome) <= {"complete", "partial", "refusal", "non_contact"}
    assert 0.80 < np.mean(np.asarray(sample.outcome) == "complete") < 0.95


def test_the_true_model_gives_the_stated_shares_among_the_frames_workers(population: Population, frame: ent.WorkerFrame) -> None:
    assert (OCCUPATIONAL.age_min, OCCUPATIONAL.age_max) == (16, 59)
    assert OCCUPATIONAL.education == (0.0, 0.5, 1.0, 1.5) and OCCUPATIONAL.age_slope == -0.01
    assert dict(OCCUPATIONAL.true_share) == STATED
    truths = ent.enterprise_truths(population, frame, np.ones(20), 16.0)
    for year, truth in truths.items():
        assert truth.share == pytest.approx(STATED[year], abs=1e-4)
        np.testing.assert_array_equal(truth.eligible, np.sort(frame.person))
    # The enterprise terms: size class, industry and the enterprise's own effect.
    offset = frame.offset()
    e = int(frame.enterprise[0])
    expected = ent.SIZE_EFFECT[frame.size_class[e]] + ent.INDUSTRIES[int(frame.industry[e])].effect + frame.effect[e]
    assert offset[0] == pytest.approx(expected)
    large = np.asarray([frame.size_class[k] == "large" for k in frame.enterprise])
    assert truths[2025].literate[np.argsort(frame.person)][large[np.argsort(frame.person)]].mean() > truths[2025].share


def test_the_households_true_model_is_unchanged_by_the_new_arguments(population: Population) -> None:
    from assessment.demo.truth import SCIENCE

    items = item_parameters(SCIENCE, np.full(50, 2.0))
    plain = wave_truth(SCIENCE, population, 2024, items, 70.0)
    explicit = wave_truth(SCIENCE, population, 2024, items, 70.0, eligible=plain.eligible, offset=np.zeros(plain.eligible.size))
    np.testing.assert_array_equal(plain.literate, explicit.literate)


# -- in the database ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(demo_county: Any, django_db_blocker: Any) -> Iterator[list[ent.EnterpriseWaveResult]]:
    from assessment.models import County, Wave

    with django_db_blocker.unblock():
        county = County.objects.get(pk=demo_county.county_id)
        if Wave.objects.filter(county=county, kind=Wave.Kind.ENTERPRISE).exists():
            yield ent.enterprise_surveys_build(county, log=lambda _line: None)
            return
        block = transaction.atomic()
        block.__enter__()
        try:
            yield ent.enterprise_surveys_build(county, log=lambda _line: None)
        finally:
            transaction.set_rollback(True)
            block.__exit__(None, None, None)


@pytest.mark.django_db
def test_four_closed_enterprise_waves_field_the_occupational_health_test(built: Any, demo_county: Any) -> None:
    from assessment.models import Frame, Wave, WaveInstrument

    waves = list(Wave.objects.filter(county_id=demo_county.county_id, kind=Wave.Kind.ENTERPRISE).order_by("year"))
    assert [w.code for w in waves] == ["2022-enterprise", "2023-enterprise", "2024-enterprise", "2025-enterprise"]
    assert {w.status for w in waves} == {"closed"}
    for wave in waves:
        fielded = dict(WaveInstrument.objects.filter(wave=wave).values_list("instrument_version__instrument__code", "eligibility"))
        assert fielded == {"demographics": "", "occupational_health": "${age} >= 16 and ${age} <= 59"}
        assert {t.indicator: float(t.value) for t in wave.targets.all()} == {"occupational_health": 0.9}
    frame = Frame.objects.get(county_id=demo_county.county_id, kind=Frame.Kind.ENTERPRISE)
    assert frame.units.count() > 300
    assert {u.attributes["industry"] for u in frame.units.all()} == {i.code for i in ent.INDUSTRIES}


@pytest.mark.django_db
def test_each_enterprise_wave_samples_30_enterprises_and_scores_every_complete(built: Any, demo_county: Any, population: Population) -> None:
    from assessment.models import Case, SampledUnit, Wave
    from questionnaires.models import Response, ResponseScore

    wave = Wave.objects.get(county_id=demo_county.county_id, code="2025-enterprise")
    assert SampledUnit.objects.filter(draw__design__wave=wave).count() == 30
    cases = Case.objects.filter(wave=wave)
    assert set(cases.values_list("prob_person", flat=True)) == {1.0}
    assert not cases.filter(household__isnull=False).exists()
    completes = cases.filter(disposition="complete").count()
    for code in ("demographics", "occupational_health"):
        assert Response.objects.filter(wave=wave, instrument_version__instrument__code=code).count() == completes
        assert ResponseScore.objects.filter(response__wave=wave, response__instrument_version__instrument__code=code).count() == completes
    ages = [r["age"] for r in Response.objects.filter(wave=wave, instrument_version__instrument__code="demographics").values_list("answers", flat=True)]
    assert 18 <= min(ages) and max(ages) <= 59
    occupations = {r["occupation"] for r in Response.objects.filter(wave=wave, instrument_version__instrument__code="demographics").values_list("answers", flat=True)}
    assert occupations == {"industrial_worker"}


@pytest.mark.django_db
def test_the_weights_are_raked_to_the_worker_margins(built: Any, demo_county: Any) -> None:
    from assessment.models import Wave, WeightSet
    from scoring.adapters import margin_totals, respondent_table, stored_weights

    wave = Wave.objects.get(county_id=demo_county.county_id, code="2025-enterprise")
    weight_set = WeightSet.objects.get(wave=wave, instrument__code="occupational_health", is_current=True)
    assert weight_set.margin_set.name == "重点行业企业职工（模拟）16–59岁"
    totals = margin_totals(weight_set.margin_set)
    table = respondent_table(wave, "occupational_health")
    final = stored_weights(weight_set).final
    for variable in ("town", "sex_age", "urban_rural", "education"):
        for level, total in totals[variable].items():
            assert final[table.labels[variable] == level].sum() == pytest.approx(total, rel=1e-8)
    assert sum(totals["town"].values()) == pytest.approx(50_735)


@pytest.mark.django_db
def test_the_estimates_cover_the_true_shares_and_a_second_run_adds_nothing(built: list[ent.EnterpriseWaveResult], demo_county: Any) -> None:
    from assessment.models import Case, County, WeightSet

    assert [r.year for r in built] == [2022, 2023, 2024, 2025]
    assert [r.truth for r in built] == pytest.approx(list(STATED.values()), abs=1e-4)
    assert sum(r.ci_low <= r.truth <= r.ci_high for r in built) >= 3
    assert all(400 < r.n < 600 for r in built)
    before = (Case.objects.count(), WeightSet.objects.count())
    again = ent.enterprise_surveys_build(County.objects.get(pk=demo_county.county_id), log=lambda _line: None)
    assert (Case.objects.count(), WeightSet.objects.count()) == before
    assert [r.estimate for r in again] == [r.estimate for r in built]
    assert "occupational_health estimate" in built[-1].line()
