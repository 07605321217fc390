"""The stated true model (assessment/demo/truth.py) and its agreement with the real scoring keys.

The demo's truth decides literacy from item thresholds (θ above the critical threshold) without
generating answers; the platform decides it by scoring answers against the key.  The two must
agree person by person, or the demo's "true share" is not the share the estimator targets.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.demo import truth as true_model
from assessment.demo.answers import answers_from_pattern
from assessment.demo.population import Population
from assessment.demo.truth import HEALTH, MODELS, SCIENCE, WaveTruth, critical_thresholds, item_parameters, wave_truth
from scoring.keys import encode_answers, score

YEARS = (2022, 2023, 2024, 2025)
# docs/demo.md: the true shares by year.
STATED = {
    "science_literacy": (0.132, 0.149, 0.167, 0.186),
    "health_literacy": (0.246, 0.268, 0.289, 0.313),
}


def test_models_carry_the_documented_parameters() -> None:
    assert (SCIENCE.age_min, SCIENCE.age_max, HEALTH.age_min, HEALTH.age_max) == (18, 69, 15, 69)
    assert SCIENCE.education == (0.0, 0.7, 1.4, 2.1)
    assert HEALTH.education == (0.0, 0.6, 1.2, 1.8)
    assert (SCIENCE.urban, HEALTH.urban) == (0.35, 0.3)
    assert (SCIENCE.age_slope, HEALTH.age_slope) == (-0.015, -0.02)
    assert dict(SCIENCE.occupation) == {
        "cadre": 0.8, "civil_servant": 0.8, "professional": 0.6, "student": 0.4, "business_service": 0.1,
        "retired": -0.1, "homemaker_unemployed": -0.2, "farmer": -0.25,
    }
    assert dict(HEALTH.occupation) == {
        "cadre": 0.6, "civil_servant": 0.7, "professional": 0.7, "student": 0.3, "business_service": 0.1,
        "industrial_worker": -0.05, "homemaker_unemployed": -0.1, "farmer": -0.3,
    }
    for model in MODELS.values():
        assert (model.person_sd, model.wave_sd) == (0.6, 0.3)
        assert tuple(model.true_share[y] for y in YEARS) == STATED[model.instrument]


def test_bank_keys_give_the_documented_cut_offs(db: None, bank_keys: Any) -> None:
    science, health = bank_keys["science_literacy"], bank_keys["health_literacy"]
    assert (science.arrays.max_points, science.cut_points) == (100.0, 70.0)
    assert health.arrays.max_points == 66.0
    assert health.cut_points == pytest.approx(0.8 * 66)
    assert set(np.unique(health.arrays.points)) == {1.0, 2.0}  # multiple choice counts 2


def test_item_parameters_are_fixed_per_instrument() -> None:
    points = np.full(50, 2.0)
    a, b = item_parameters(SCIENCE, points), item_parameters(SCIENCE, points)
    np.testing.assert_array_equal(a.difficulty, b.difficulty)
    np.testing.assert_array_equal(a.discrimination, b.discrimination)
    assert np.all((a.discrimination >= 1) & (a.discrimination <= 2))
    assert a.difficulty.std() == pytest.approx(0.8, rel=0.3)
    assert not np.array_equal(item_parameters(HEALTH, points).difficulty, a.difficulty)


@pytest.mark.parametrize("year", YEARS)
@pytest.mark.parametrize("code", ["science_literacy", "health_literacy"])
def test_true_share_equals_the_stated_share_within_one_resident(
    db: None, population: Population, bank_keys: Any, code: str, year: int
) -> None:
    key = bank_keys[code]
    model = MODELS[code]
    truth = wave_truth(model, population, year, item_parameters(model, key.arrays.points), key.cut_points)
    in_range = (population.age >= model.age_min) & (population.age <= model.age_max)
    np.testing.assert_array_equal(truth.eligible, np.flatnonzero(in_range))
    n = truth.eligible.size
    assert abs(truth.share - model.true_share[year]) <= 1 / n


def test_wave_truth_is_reproducible_and_fresh_each_year(
    db: None, population: Population, bank_keys: Any, truth_2025: Any
) -> None:
    key = bank_keys["science_literacy"]
    items = item_parameters(SCIENCE, key.arrays.points)
    again = wave_truth(SCIENCE, population, 2025, items, key.cut_points)
    np.testing.assert_array_equal(again.theta, truth_2025["science_literacy"].theta)
    np.testing.assert_array_equal(again.literate, truth_2025["science_literacy"].literate)
    # θ differs between years by α and 0.3·(ε₂₀₂₅ − ε₂₀₂₄): a standard deviation of 0.3·√2.
    before = wave_truth(SCIENCE, population, 2024, items, key.cut_points)
    change = (again.theta - again.alpha) - (before.theta - before.alpha)
    assert change.mean() == pytest.approx(0.0, abs=0.005)
    assert change.std() == pytest.approx(0.3 * np.sqrt(2), rel=0.01)


def test_ability_follows_the_stated_covariates(db: None, population: Population, truth_2025: Any) -> None:
    # θ − α − (covariates incl. 0.6·z) is the fresh wave effect 0.3·ε: mean 0, sd 0.3, independent of age.
    truth = truth_2025["health_literacy"]
    residual = truth.theta - truth.alpha - HEALTH.covariates(population)[truth.eligible]
    assert residual.mean() == pytest.approx(0.0, abs=0.005)
    assert residual.std() == pytest.approx(0.3, rel=0.01)
    assert abs(np.corrcoef(residual, population.age[truth.eligible])[0, 1]) < 0.01
    # Spot-check the covariates of one resident against the documented formula.
    person = int(truth.eligible[1234])
    expected = (
        HEALTH.education[population.education[person]]
        + 0.3 * population.urban[person]
        - 0.02 * (population.age[person] - 40)
        + HEALTH.occupation.get(true_model.OCCUPATION[population.occupation[person]], 0.0)
        + 0.6 * population.person_effect[person]
    )
    assert HEALTH.covariates(population)[person] == pytest.approx(expected)


def _persons_to_check(truth: WaveTruth, points: np.ndarray, cut: float, rng: np.random.Generator) -> np.ndarray:
    """Return 300 random eligible residents and 200 whose points fall within 2 of the cut-off."""
    random = rng.choice(truth.eligible, size=300, replace=False)
    pool = np.sort(rng.choice(truth.eligible, size=20_000, replace=False))
    got = truth.correct(pool) @ points
    border = pool[np.abs(got - cut) <= 2]
    assert border.size >= 200
    return np.unique(np.concatenate([random, rng.choice(border, size=200, replace=False)]))


@pytest.mark.parametrize("code", ["science_literacy", "health_literacy"])
def test_literacy_flag_of_the_truth_equals_the_key_applied_to_generated_answers(
    db: None, bank_keys: Any, truth_2025: Any, code: str
) -> None:
    key, truth = bank_keys[code], truth_2025[code]
    rng = np.random.default_rng(99)
    persons = _persons_to_check(truth, key.arrays.points, key.cut_points, rng)
    pattern = truth.correct(persons)
    answers = answers_from_pattern(key.arrays, pattern, key.multiple, rng)
    result = score(key.arrays, encode_answers(key.arrays, answers))
    # Every answer is scored right exactly where the true model says it is answered correctly …
    np.testing.assert_array_equal(result.item_points > 0, pattern)
    assert result.answered.all()
    # … so the key's benchmark equals the truth's literacy flag, person by person.
    literate = truth.literate[np.searchsorted(truth.eligible, persons)]
    flags = result.flags[key.headline]
    mismatch = np.flatnonzero(flags != literate)
    assert mismatch.size == 0, f"{mismatch.size} of {persons.size} persons disagree, e.g. {persons[mismatch[:5]]}"
    assert 0 < literate.sum() < persons.size


def test_wrong_multiple_choice_answers_are_partly_right_sets(db: None, bank_keys: Any) -> None:
    key = bank_keys["health_literacy"]
    multiple = np.flatnonzero(key.multiple)
    pattern = np.zeros((200, len(key.arrays.item_names)), dtype=bool)
    answers = answers_from_pattern(key.arrays, pattern, key.multiple, np.random.default_rng(3))
    for j in multiple:
        name = key.arrays.item_names[j]
        right = {o for o, i in key.arrays.option_index[j].items() if key.arrays.correct_mask[j] >> i & 1}
        for row in answers:
            chosen = set(row[name])
            assert chosen != right and len(chosen ^ right) == 1


def test_truth_refuses_residents_outside_the_age_range(db: None, population: Population, truth_2025: Any) -> None:
    too_young = np.flatnonzero(population.age == 16)[:1]
    with pytest.raises(ValueError, match="outside the instrument's age range"):
        truth_2025["science_literacy"].correct(too_young)


# --- the critical threshold --------------------------------------------------------------


def _points_below(thresholds: np.ndarray, points: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return (thresholds.astype(np.float64) < theta[:, None]) @ points


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    values=st.sampled_from([(2.0,), (1.0, 2.0), (1.0, 2.0, 3.0), (0.5,)]),
    k=st.integers(min_value=1, max_value=12),
    cut_share=st.floats(min_value=0.01, max_value=1.2),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_critical_threshold_is_where_the_points_first_reach_the_cut(
    values: tuple[float, ...], k: int, cut_share: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    points = rng.choice(values, size=k)
    thresholds = rng.normal(size=(30, k)).astype(np.float32)
    thresholds[:, 0] = thresholds[:, -1]  # ties between items
    cut = float(cut_share * points.sum())
    critical = critical_thresholds(thresholds, points, cut)
    finite = np.isfinite(critical)
    # Above the critical threshold the points reach the cut; at it they do not (θ > T is strict).
    above = _points_below(thresholds[finite], points, np.nextafter(critical[finite], np.inf))
    at = _points_below(thresholds[finite], points, critical[finite])
    assert np.all(above >= cut - 1e-9)
    assert np.all(at < cut - 1e-9)
    # Infinite exactly where the cut is out of reach.
    np.testing.assert_array_equal(~finite, points.sum() < cut - 1e-9)
    assert np.all(critical[~finite] == np.inf)
