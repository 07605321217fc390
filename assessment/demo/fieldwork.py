"""Draw a wave's sample from the synthetic population and simulate what fieldwork finds.

Design (the demo's): strata are the towns; within a town villages and communities are
sorted urban first then by code (implicit stratification) and drawn by systematic PPS on
population, with certainty units made strata of their own whose PSUs are households;
15 households per PSU by systematic sampling; one resident aged 15–69 per household by
Kish selection.  Outcomes follow a stated response model: contact is harder in town,
cooperation lower among the young and in town.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from assessment.demo.county import TOWNS
from assessment.demo.population import Population
from assessment.sampling import allocate_proportional, kish_select, pps_systematic, systematic

PSU_TOTAL = 72
HOUSEHOLDS_PER_PSU = 15
MIN_PSU_PER_TOWN = 6
ELIGIBLE_AGES = (15, 69)


@dataclass(frozen=True)
class WaveSample:
    """One row per sampled household (case)."""

    village: npt.NDArray[np.int64]
    household: npt.NDArray[np.int64]
    stratum: list[str]
    psu: list[str]
    certainty: npt.NDArray[np.bool_]
    prob_psu: npt.NDArray[np.float64]
    prob_household: npt.NDArray[np.float64]
    kish_u: npt.NDArray[np.float64]
    selected: npt.NDArray[np.int64]  # person index, -1 when nobody is eligible
    n_eligible: npt.NDArray[np.int64]
    outcome: list[str]  # disposition code

    @property
    def prob_person(self) -> npt.NDArray[np.float64]:
        return np.where(self.n_eligible > 0, 1.0 / np.maximum(self.n_eligible, 1), np.nan)

    @property
    def pi(self) -> npt.NDArray[np.float64]:
        return self.prob_psu * self.prob_household * self.prob_person

    @property
    def respondents(self) -> npt.NDArray[np.int64]:
        """Return case positions whose interview is complete."""
        return np.flatnonzero(np.asarray(self.outcome) == "complete")


def town_allocation(pop: Population, psu_total: int = PSU_TOTAL) -> npt.NDArray[np.int64]:
    """Return PSUs per town: proportional to population with a floor so every town reports."""
    sizes = np.bincount(pop.villages.town, weights=pop.villages.target_population, minlength=len(TOWNS))
    return allocate_proportional(sizes, psu_total, MIN_PSU_PER_TOWN)


def draw_sample(
    pop: Population,
    rng: np.random.Generator,
    *,
    psu_total: int = PSU_TOTAL,
    households_per_psu: int = HOUSEHOLDS_PER_PSU,
) -> WaveSample:
    """Draw one wave's sample and simulate its fieldwork outcomes.

    PSU_TOTAL and HOUSEHOLDS_PER_PSU scale the sample (the benchmarks use a larger one); the
    defaults are the demo's design.
    """
    villages = pop.villages
    hh_start = np.concatenate([[0], np.cumsum(np.bincount(pop.household_village, minlength=len(villages.code)))])
    person_start = pop.household_slices()
    village_size = np.bincount(pop.village, minlength=len(villages.code)).astype(float)
    allocation = town_allocation(pop, psu_total)
    rows: dict[str, list] = {k: [] for k in ("village", "household", "stratum", "psu", "certainty", "prob_psu", "prob_household")}
    for t, spec in enumerate(TOWNS):
        frame = np.flatnonzero(villages.town == t)
        frame = frame[np.lexsort((np.asarray(villages.code)[frame], ~villages.urban[frame]))]
        draw = pps_systematic(village_size[frame], int(allocation[t]), rng)
        for pos in draw.selected:
            v = int(frame[pos])
            n_hh = int(hh_start[v + 1] - hh_start[v])
            picks = hh_start[v] + systematic(n_hh, households_per_psu, rng)
            certain = bool(draw.certainty[pos])
            for h in picks:
                rows["village"].append(v)
                rows["household"].append(int(h))
                rows["stratum"].append(f"{spec.code}-{villages.code[v]}" if certain else spec.code)
                rows["psu"].append(f"h{h}" if certain else villages.code[v])
                rows["certainty"].append(certain)
                rows["prob_psu"].append(float(draw.probability[pos]))
                rows["prob_household"].append(min(1.0, households_per_psu / n_hh))
    n = len(rows["household"])
    kish_u = rng.uniform(size=n)
    selected = np.full(n, -1, dtype=np.int64)
    n_eligible = np.zeros(n, dtype=np.int64)
    low, high = ELIGIBLE_AGES
    for i, h in enumerate(rows["household"]):
        members = np.arange(person_start[h], person_start[h + 1])
        ages = pop.age[members]
        eligible = (ages >= low) & (ages <= high)
        if eligible.any():
            sexes = ["male" if m else "female" for m in pop.male[members]]
            pos, k = kish_select(sexes, ages.tolist(), eligible.tolist(), float(kish_u[i]))
            selected[i], n_eligible[i] = members[pos], k
    outcome = simulate_outcomes(pop, selected, rng)
    return WaveSample(
        village=np.asarray(rows["village"], dtype=np.int64),
        household=np.asarray(rows["household"], dtype=np.int64),
        stratum=rows["stratum"],
        psu=rows["psu"],
        certainty=np.asarray(rows["certainty"], dtype=bool),
        prob_psu=np.asarray(rows["prob_psu"]),
        prob_household=np.asarray(rows["prob_household"]),
        kish_u=kish_u,
        selected=selected,
        n_eligible=n_eligible,
        outcome=outcome,
    )


def simulate_outcomes(pop: Population, selected: npt.NDArray[np.int64], rng: np.random.Generator) -> list[str]:
    """Return an AAPOR disposition per case from the stated response model."""
    out: list[str] = []
    person = np.maximum(selected, 0)
    urban = pop.urban[person]
    age = pop.age[person]
    p_contact = 0.95 - 0.07 * urban
    p_coop = expit(2.2 - 0.6 * urban + 0.025 * (age - 40))
    u_contact, u_coop, u_partial = rng.uniform(size=(3, selected.size))
    for i in range(selected.size):
        if selected[i] < 0:
            out.append("not_eligible")
        elif u_contact[i] >= p_contact[i]:
            out.append("non_contact")
        elif u_coop[i] >= p_coop[i]:
            out.append("refusal")
        elif u_partial[i] < 0.01:
            out.append("partial")
        else:
            out.append("complete")
    return out
