"""A synthetic resident population of the demo county (pure numpy, reproducible by seed).

Persons live in households, households in villages (rural) or communities (urban),
those in towns.  Age, sex, education and occupation follow simple stated rules (see
docs/demo.md) chosen so that the population looks like a north-China rural county:
an ageing rural population, more schooling among the young and in town, industry in
the development zone.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from assessment.demo.county import COMMUNITY_NAMES, TOWNS, VILLAGE_FIRST, VILLAGE_SECOND

OCCUPATION = (
    "farmer",
    "industrial_worker",
    "cadre",
    "civil_servant",
    "professional",
    "business_service",
    "student",
    "retired",
    "homemaker_unemployed",
    "other",
)
SEX = ("male", "female")

# Share of residents by five-year age band 0–4 … 85–89 (a rural north-China profile).
_AGE_BANDS = np.array(
    [4.5, 5.5, 5.5, 5.0, 4.6, 5.6, 7.4, 6.6, 6.2, 8.2, 8.6, 8.0, 6.2, 6.0, 4.4, 3.0, 2.0, 1.0]
)
_HOUSEHOLD_SIZES = np.array([1, 2, 3, 4, 5, 6])
_HOUSEHOLD_SIZE_P = np.array([0.14, 0.30, 0.24, 0.18, 0.09, 0.05])


@dataclass(frozen=True)
class Villages:
    town: npt.NDArray[np.int64]  # index into TOWNS
    urban: npt.NDArray[np.bool_]
    code: list[str]
    name_zh: list[str]
    target_population: npt.NDArray[np.int64]


@dataclass(frozen=True)
class Population:
    villages: Villages
    household_village: npt.NDArray[np.int64]  # per household
    person_household: npt.NDArray[np.int64]  # per person, sorted by household
    age: npt.NDArray[np.int64]
    male: npt.NDArray[np.bool_]
    education: npt.NDArray[np.int64]  # index into EDUCATION
    occupation: npt.NDArray[np.int64]  # index into OCCUPATION
    person_effect: npt.NDArray[np.float64]  # stable individual propensity, N(0, 1)

    @property
    def size(self) -> int:
        return int(self.age.size)

    @cached_property
    def village(self) -> npt.NDArray[np.int64]:
        return self.household_village[self.person_household]

    @cached_property
    def town(self) -> npt.NDArray[np.int64]:
        return self.villages.town[self.village]

    @cached_property
    def urban(self) -> npt.NDArray[np.bool_]:
        return self.villages.urban[self.village]

    def household_slices(self) -> npt.NDArray[np.int64]:
        """Return the start offset of each household's persons (plus the end)."""
        counts = np.bincount(self.person_household, minlength=self.household_village.size)
        return np.concatenate([[0], np.cumsum(counts)])


def _villages(rng: np.random.Generator) -> Villages:
    town, urban, code, name, target = [], [], [], [], []
    used: set[str] = set()
    for t, spec in enumerate(TOWNS):
        urban_pop = int(round(spec.population * spec.urban_share))
        rural_pop = spec.population - urban_pop
        n_comm = max(1, int(round(urban_pop / 5200)))
        n_vill = max(2, int(round(rural_pop / 1150)))
        comm_sizes = rng.dirichlet(np.full(n_comm, 8.0)) * urban_pop
        vill_sizes = rng.dirichlet(np.full(n_vill, 5.0)) * rural_pop
        for i, size in enumerate(comm_sizes):
            base = COMMUNITY_NAMES[(t * 3 + i) % len(COMMUNITY_NAMES)]
            label = f"{base}社区" if f"{base}社区" not in used else f"{base}{i + 1}社区"
            used.add(label)
            town.append(t), urban.append(True), code.append(f"{spec.code}-c{i + 1:02d}")
            name.append(label), target.append(int(round(size)))
        for i, size in enumerate(vill_sizes):
            while True:
                label = f"{rng.choice(list(VILLAGE_FIRST))}{rng.choice(VILLAGE_SECOND)}村"
                if label not in used:
                    break
            used.add(label)
            town.append(t), urban.append(False), code.append(f"{spec.code}-v{i + 1:02d}")
            name.append(label), target.append(int(round(size)))
    return Villages(
        town=np.asarray(town, dtype=np.int64),
        urban=np.asarray(urban, dtype=bool),
        code=code,
        name_zh=name,
        target_population=np.asarray(target, dtype=np.int64),
    )


def _choose(rng: np.random.Generator, probs: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Draw one category per row of PROBS (rows need not be normalised)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.uniform(size=probs.shape[0]) * cum[:, -1]
    return (u[:, None] > cum).sum(axis=1).astype(np.int64)


def build_population(seed: int = 20250101) -> Population:
    """Return the synthetic population for SEED (about 370,000 residents)."""
    rng = np.random.default_rng(seed)
    villages = _villages(rng)
    household_village: list[npt.NDArray[np.int64]] = []
    sizes: list[npt.NDArray[np.int64]] = []
    for v, target in enumerate(villages.target_population):
        n_hh = int(round(target / 2.93))
        s = rng.choice(_HOUSEHOLD_SIZES, size=n_hh, p=_HOUSEHOLD_SIZE_P)
        household_village.append(np.full(n_hh, v, dtype=np.int64))
        sizes.append(s)
    hh_village = np.concatenate(household_village)
    hh_size = np.concatenate(sizes)
    person_household = np.repeat(np.arange(hh_village.size), hh_size)
    n = person_household.size
    urban = villages.urban[hh_village[person_household]]
    town = villages.town[hh_village[person_household]]

    band = rng.choice(_AGE_BANDS.size, size=n, p=_AGE_BANDS / _AGE_BANDS.sum())
    age = band * 5 + rng.integers(0, 5, size=n)
    male = rng.uniform(size=n) < 0.505

    # Education: an ordered latent variable; younger and urban residents have more schooling.
    latent = rng.normal(size=n) + 0.9 * urban - 0.032 * (age - 40)
    education = np.searchsorted(np.array([-0.3, 1.0, 1.7]), latent).astype(np.int64)
    education[age < 12] = 0
    education[(age >= 12) & (age < 15)] = np.minimum(education[(age >= 12) & (age < 15)], 1)
    education[(age >= 15) & (age < 18)] = np.clip(education[(age >= 15) & (age < 18)], 1, 2)

    # Occupation: probability rows over OCCUPATION, by age, residence, schooling and town.
    industry = np.array([spec.industry for spec in TOWNS])[town]
    tertiary = (education == 3).astype(float)
    senior = (education >= 2).astype(float)
    rural = (~urban).astype(float)
    probs = np.zeros((n, len(OCCUPATION)))
    probs[:, 0] = 0.05 + 0.50 * rural * (1 - senior)  # farmer
    probs[:, 1] = 0.22 * industry * (1 - tertiary * 0.6)  # industrial worker
    probs[:, 2] = 0.010 + 0.05 * tertiary  # cadre
    probs[:, 3] = 0.015 + 0.12 * tertiary  # civil servant
    probs[:, 4] = 0.03 + 0.18 * tertiary + 0.04 * senior  # professional
    probs[:, 5] = 0.10 + 0.08 * urban  # business and services
    probs[:, 6] = 0.0  # student
    probs[:, 7] = 0.0  # retired
    probs[:, 8] = 0.07  # homemaker / unemployed
    probs[:, 9] = 0.04  # other
    occupation = _choose(rng, probs)
    young = (age >= 15) & (age <= 22)
    in_school = young & (rng.uniform(size=n) < np.where(age <= 18, 0.85, 0.35 + 0.15 * urban))
    occupation[in_school] = 6
    occupation[age < 15] = 6
    old = age >= 60
    elder_probs = np.zeros((int(old.sum()), len(OCCUPATION)))
    elder_probs[:, 0] = 0.62 * rural[old]
    elder_probs[:, 7] = 0.30 + 0.55 * urban[old]
    elder_probs[:, 8] = 0.08
    elder_probs[:, 5] = 0.03
    occupation[old] = _choose(rng, elder_probs)

    return Population(
        villages=villages,
        household_village=hh_village,
        person_household=person_household,
        age=age.astype(np.int64),
        male=male,
        education=education,
        occupation=occupation,
        person_effect=rng.normal(size=n),
    )
