"""One wave's sample draw and its simulated fieldwork (assessment/demo/fieldwork.py)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from assessment.demo.county import TOWNS
from assessment.demo.fieldwork import (
    HOUSEHOLDS_PER_PSU,
    MIN_PSU_PER_TOWN,
    PSU_TOTAL,
    WaveSample,
    draw_sample,
    simulate_outcomes,
    town_allocation,
)
from assessment.demo.population import Population
from assessment.sampling import pps_probabilities


@pytest.fixture(scope="module")
def sample(population: Population) -> WaveSample:
    return draw_sample(population, np.random.default_rng([777, 1]))


def test_town_allocation_gives_72_psus_with_at_least_6_per_town(population: Population) -> None:
    alloc = town_allocation(population)
    assert alloc.shape == (len(TOWNS),)
    assert alloc.sum() == PSU_TOTAL == 72
    assert alloc.min() >= MIN_PSU_PER_TOWN == 6


def test_sample_has_72_psus_of_15_households(population: Population, sample: WaveSample) -> None:
    villages, per_village = np.unique(sample.village, return_counts=True)
    assert villages.size == 72
    assert np.all(per_village == HOUSEHOLDS_PER_PSU)
    assert sample.household.size == 1080
    assert np.unique(sample.household).size == 1080
    np.testing.assert_array_equal(population.household_village[sample.household], sample.village)
    towns = population.villages.town[villages]
    np.testing.assert_array_equal(np.bincount(towns, minlength=len(TOWNS)), town_allocation(population))


def test_psu_probability_is_the_pps_probability_within_the_town(population: Population, sample: WaveSample) -> None:
    size = np.bincount(population.village, minlength=len(population.villages.code))
    alloc = town_allocation(population)
    for t in range(len(TOWNS)):
        frame = np.flatnonzero(population.villages.town == t)
        pi, certain = pps_probabilities(size[frame], int(alloc[t]))
        expected = dict(zip(frame.tolist(), zip(pi.tolist(), certain.tolist())))
        rows = np.flatnonzero(population.villages.town[sample.village] == t)
        for i in rows:
            assert (sample.prob_psu[i], bool(sample.certainty[i])) == pytest.approx(expected[int(sample.village[i])])


def test_certainty_psus_are_strata_with_households_as_psus(population: Population, sample: WaveSample) -> None:
    assert sample.certainty.any() and not sample.certainty.all()
    codes = population.villages.code
    for i in range(sample.household.size):
        town = TOWNS[int(population.villages.town[sample.village[i]])].code
        village = codes[int(sample.village[i])]
        if sample.certainty[i]:
            assert sample.prob_psu[i] == 1.0
            assert (sample.stratum[i], sample.psu[i]) == (f"{town}-{village}", f"h{sample.household[i]}")
        else:
            assert sample.prob_psu[i] < 1.0
            assert (sample.stratum[i], sample.psu[i]) == (town, village)


def test_household_probability_is_15_over_the_households_listed(population: Population, sample: WaveSample) -> None:
    listed = np.bincount(population.household_village, minlength=len(population.villages.code))
    np.testing.assert_allclose(sample.prob_household, HOUSEHOLDS_PER_PSU / listed[sample.village])


def test_kish_selects_one_resident_aged_15_to_69_and_pi_is_the_product_of_stages(
    population: Population, sample: WaveSample
) -> None:
    starts = population.household_slices()
    for i, h in enumerate(sample.household):
        ages = population.age[starts[h] : starts[h + 1]]
        k = int(np.sum((ages >= 15) & (ages <= 69)))
        assert sample.n_eligible[i] == k
        if k == 0:
            assert sample.selected[i] == -1
            assert sample.outcome[i] == "not_eligible"
        else:
            assert starts[h] <= sample.selected[i] < starts[h + 1]
            assert 15 <= population.age[sample.selected[i]] <= 69
            assert sample.outcome[i] != "not_eligible"
    ok = sample.n_eligible > 0
    np.testing.assert_allclose(sample.pi[ok], sample.prob_psu[ok] * sample.prob_household[ok] / sample.n_eligible[ok])
    assert np.all(np.isnan(sample.pi[~ok]))


def test_respondents_are_exactly_the_completed_interviews(sample: WaveSample) -> None:
    outcome = np.asarray(sample.outcome)
    np.testing.assert_array_equal(sample.respondents, np.flatnonzero(outcome == "complete"))
    assert set(outcome) <= {"complete", "partial", "refusal", "non_contact", "not_eligible"}


def test_draw_is_reproducible_from_its_generator(population: Population, sample: WaveSample) -> None:
    again = draw_sample(population, np.random.default_rng([777, 1]))
    np.testing.assert_array_equal(again.household, sample.household)
    np.testing.assert_array_equal(again.selected, sample.selected)
    assert again.outcome == sample.outcome
    other = draw_sample(population, np.random.default_rng([777, 2]))
    assert not np.array_equal(other.household, sample.household)


def test_outcomes_follow_the_stated_response_model(population: Population) -> None:
    rng = np.random.default_rng(31)
    adults = np.flatnonzero((population.age >= 15) & (population.age <= 69))
    selected = rng.choice(adults, size=200_000, replace=False)
    outcome = np.asarray(simulate_outcomes(population, selected, rng))
    urban, age = population.urban[selected], population.age[selected]
    contacted = outcome != "non_contact"

    def close(observed: np.ndarray, expected: float) -> None:
        se = np.sqrt(expected * (1 - expected) / observed.size)
        assert abs(observed.mean() - expected) < 4 * se

    close(contacted[urban], 0.88)
    close(contacted[~urban], 0.95)
    cooperated = np.isin(outcome, ["complete", "partial"])
    for mask in (urban & contacted, ~urban & contacted, contacted & (age >= 60), contacted & (age < 30)):
        expected = float(expit(2.2 - 0.6 * urban[mask] + 0.025 * (age[mask] - 40)).mean())
        close(cooperated[mask], expected)
    close(outcome[cooperated] == "partial", 0.01)
    # Nobody selected (-1) means not eligible.
    assert simulate_outcomes(population, np.array([-1, -1]), rng) == ["not_eligible", "not_eligible"]
