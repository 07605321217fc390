"""The synthetic Pingyin population (assessment/demo/population.py, county.py)."""
from __future__ import annotations

import numpy as np
import pytest

from assessment.demo.county import COUNTY_CODE, COUNTY_NAME_ZH, TOWNS
from assessment.demo.population import OCCUPATION, Population, build_population
from assessment.demography import EDUCATION_LEVELS

# As docs/demo.md lists them: a change here must be deliberate.
TOWN_NAMES = ("榆山街道", "锦水街道", "东阿镇", "玫瑰镇", "洪范池镇", "孔村镇", "孝直镇", "安城镇", "经济开发区")
TOWN_CODES = ("yushan", "jinshui", "donge", "meigui", "hongfanchi", "kongcun", "xiaozhi", "ancheng", "devzone")


def test_county_is_pingyin_with_its_nine_towns_and_streets() -> None:
    assert (COUNTY_CODE, COUNTY_NAME_ZH) == ("370124", "平阴县")
    assert tuple(t.name_zh for t in TOWNS) == TOWN_NAMES
    assert tuple(t.code for t in TOWNS) == TOWN_CODES
    assert sum(t.population for t in TOWNS) == 370_000


def test_population_has_about_370000_residents(population: Population) -> None:
    assert population.size == pytest.approx(370_000, rel=0.01)


def test_every_town_has_about_its_stated_population_and_urban_share(population: Population) -> None:
    per_town = np.bincount(population.town, minlength=len(TOWNS))
    urban = np.bincount(population.town, weights=population.urban, minlength=len(TOWNS)) / per_town
    for t, spec in enumerate(TOWNS):
        assert per_town[t] == pytest.approx(spec.population, rel=0.03), spec.code
        assert urban[t] == pytest.approx(spec.urban_share, abs=0.02), spec.code


def test_villages_and_communities_have_unique_codes_and_names_within_their_town(population: Population) -> None:
    v = population.villages
    assert len(v.code) == pytest.approx(222, abs=5)
    assert len(set(v.code)) == len(v.code)
    assert len(set(v.name_zh)) == len(v.name_zh)
    for i, code in enumerate(v.code):
        town = TOWNS[int(v.town[i])]
        assert code.startswith(f"{town.code}-{'c' if v.urban[i] else 'v'}")
        assert v.name_zh[i].endswith("社区" if v.urban[i] else "村")
    assert set(v.town.tolist()) == set(range(len(TOWNS)))


def test_households_are_contiguous_non_empty_and_live_in_one_village(population: Population) -> None:
    ph = population.person_household
    assert np.all(np.diff(ph) >= 0)  # persons sorted by household
    sizes = np.bincount(ph, minlength=population.household_village.size)
    assert sizes.min() >= 1 and sizes.max() <= 6
    assert population.household_village.size == pytest.approx(126_000, rel=0.02)
    assert population.size / population.household_village.size == pytest.approx(2.93, abs=0.05)
    slices = population.household_slices()
    assert slices[0] == 0 and slices[-1] == population.size
    np.testing.assert_array_equal(np.diff(slices), sizes)
    # A village's persons are exactly the persons of its households.
    np.testing.assert_array_equal(population.village, population.household_village[ph])
    assert np.all(np.diff(population.household_village) >= 0)  # households sorted by village


def test_village_populations_match_their_targets(population: Population) -> None:
    counts = np.bincount(population.village, minlength=len(population.villages.code))
    targets = population.villages.target_population
    # Households are drawn with mean size 2.93 around target/2.93 households.
    assert np.all(counts > 0)
    assert counts.sum() == pytest.approx(targets.sum(), rel=0.01)


def test_ages_run_from_0_to_89(population: Population) -> None:
    assert population.age.min() == 0
    assert population.age.max() == 89
    share_15_69 = np.mean((population.age >= 15) & (population.age <= 69))
    assert 0.65 < share_15_69 < 0.80


def test_education_and_occupation_follow_the_stated_rules(population: Population) -> None:
    age, edu, occ = population.age, population.education, population.occupation
    assert set(np.unique(edu)) <= set(range(len(EDUCATION_LEVELS)))
    assert set(np.unique(occ)) <= set(range(len(OCCUPATION)))
    assert np.all(edu[age < 12] == 0)
    assert np.all(edu[(age >= 12) & (age < 15)] <= 1)
    assert np.all((edu[(age >= 15) & (age < 18)] >= 1) & (edu[(age >= 15) & (age < 18)] <= 2))
    assert np.all(occ[age < 15] == OCCUPATION.index("student"))
    # Schooling rises with urban residence and falls with age (among adults).
    adults = (age >= 25) & (age <= 69)
    assert edu[adults & population.urban].mean() > edu[adults & ~population.urban].mean() + 0.3
    assert edu[adults & (age < 40)].mean() > edu[adults & (age >= 55)].mean() + 0.3
    # Industry concentrates in the development zone.
    worker = occ == OCCUPATION.index("industrial_worker")
    working = (age >= 18) & (age < 60)
    zone = population.town == TOWN_CODES.index("devzone")
    assert worker[working & zone].mean() > 1.5 * worker[working & ~zone].mean()


def test_sexes_are_about_even(population: Population) -> None:
    assert population.male.mean() == pytest.approx(0.505, abs=0.005)


def test_population_is_reproducible_from_its_seed(population: Population) -> None:
    again = build_population(20250101)
    for name in ("person_household", "household_village", "age", "male", "education", "occupation", "person_effect"):
        np.testing.assert_array_equal(getattr(again, name), getattr(population, name), err_msg=name)
    assert again.villages.code == population.villages.code
    assert again.villages.name_zh == population.villages.name_zh
    np.testing.assert_array_equal(again.villages.target_population, population.villages.target_population)


def test_another_seed_gives_another_population(population: Population) -> None:
    other = build_population(1)
    assert other.size != population.size or not np.array_equal(other.age, population.age)
