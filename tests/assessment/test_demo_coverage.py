"""The acceptance test of the demo: over fresh samples, the platform's estimator is unbiased for
the true share and its 95% logit interval covers it about 95% of the time.

Each replicate draws a new sample from the synthetic population with a seed the demo does not
use, simulates fieldwork (`draw_sample`), and estimates the 2025 science- and health-literacy
shares exactly as the platform does: a `RespondentTable` of the completed interviews in the
instrument's age range, `assessment.weighting.calibrated_design` (base weights 1/π raked to
the census margins tabulated as `assessment.demo.build.margin_labels` does), then
`scoring.estimate_proportion` with the logit interval.  A respondent's outcome is the truth's
literacy flag, which test_demo_truth.py shows equals the key applied to their answers.

Run with ``-s`` to see the measured coverage and bias.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from assessment.demo.build import margin_labels
from assessment.demo.fieldwork import WaveSample, draw_sample
from assessment.demo.population import Population
from assessment.demo.truth import MODELS, AbilityModel, WaveTruth
from assessment.weighting import calibrated_design
from scoring import estimate_proportion
from scoring.adapters import RespondentTable

pytestmark = pytest.mark.slow

REPLICATES = 200
SEED = 20251129  # the demo draws with [20250101, year]
CODES = ("science_literacy", "health_literacy")


def census_totals(pop: Population, model: AbilityModel) -> dict[str, dict[str, float]]:
    """Return the raking margins of the model's age range, tabulated as the demo imports them."""
    mask = (pop.age >= model.age_min) & (pop.age <= model.age_max)
    totals = {}
    for variable, labels in margin_labels(pop, mask).items():
        levels, counts = np.unique(labels, return_counts=True)
        totals[variable] = {str(level): float(n) for level, n in zip(levels, counts)}
    return totals


def respondent_table(pop: Population, sample: WaveSample, model: AbilityModel) -> tuple[RespondentTable, np.ndarray]:
    """Return the table the adapter would build for the sample's completed interviews in the age range."""
    rows = sample.respondents
    persons = sample.selected[rows]
    keep = (pop.age[persons] >= model.age_min) & (pop.age[persons] <= model.age_max)
    rows, persons = rows[keep], persons[keep]
    table = RespondentTable(
        response_id=np.arange(rows.size, dtype=np.int64),
        case_id=rows.astype(np.int64),
        stratum=np.asarray(sample.stratum)[rows],
        psu=np.asarray(sample.psu)[rows],
        pi=sample.pi[rows],
        labels=margin_labels(pop, persons),
        groups={},
    )
    return table, persons


@dataclass(frozen=True)
class Replicates:
    truth: dict[str, float]
    estimate: dict[str, np.ndarray]
    ci_low: dict[str, np.ndarray]
    ci_high: dict[str, np.ndarray]
    unweighted: dict[str, np.ndarray]
    households_ht: np.ndarray  # Σ 1/(π_psu π_household) over sampled households
    residents_ht: np.ndarray  # Σ 1/π over households with an eligible resident (before nonresponse)


@pytest.fixture(scope="module")
def replicates(population: Population, truth_2025: dict[str, WaveTruth]) -> Replicates:
    totals = {code: census_totals(population, MODELS[code]) for code in CODES}
    est: dict[str, list[Any]] = {code: [] for code in CODES}
    households, residents = [], []
    for r in range(REPLICATES):
        sample = draw_sample(population, np.random.default_rng([SEED, r]))
        households.append(np.sum(1.0 / (sample.prob_psu * sample.prob_household)))
        residents.append(np.nansum(1.0 / sample.pi))
        for code in CODES:
            truth = truth_2025[code]
            table, persons = respondent_table(population, sample, MODELS[code])
            raked = calibrated_design(table, totals[code])
            y = truth.literate[np.searchsorted(truth.eligible, persons)].astype(np.float64)
            (cell,) = estimate_proportion(raked.design, y, var=code, ci="logit")
            est[code].append((cell.estimate, cell.ci_low, cell.ci_high, y.mean()))
    arrays = {code: np.asarray(rows) for code, rows in est.items()}
    return Replicates(
        truth={code: truth_2025[code].share for code in CODES},
        estimate={code: a[:, 0] for code, a in arrays.items()},
        ci_low={code: a[:, 1] for code, a in arrays.items()},
        ci_high={code: a[:, 2] for code, a in arrays.items()},
        unweighted={code: a[:, 3] for code, a in arrays.items()},
        households_ht=np.asarray(households),
        residents_ht=np.asarray(residents),
    )


def mc_se(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / np.sqrt(values.size))


@pytest.mark.parametrize("code", CODES)
def test_raked_estimate_is_unbiased_for_the_true_share(db: None, replicates: Replicates, code: str) -> None:
    estimate, truth = replicates.estimate[code], replicates.truth[code]
    bias, se = float(estimate.mean() - truth), mc_se(estimate)
    print(
        f"\n{code} 2025: truth {truth:.4f}, mean estimate {estimate.mean():.4f}, bias {bias:+.4f} "
        f"({bias / se:+.2f} Monte-Carlo SE of {se:.4f}), SD {estimate.std(ddof=1):.4f} over {estimate.size} draws"
    )
    assert abs(bias) <= 3 * se


@pytest.mark.parametrize("code", CODES)
def test_logit_interval_covers_the_true_share_about_95_percent_of_the_time(
    db: None, replicates: Replicates, code: str
) -> None:
    truth = replicates.truth[code]
    low, high = replicates.ci_low[code], replicates.ci_high[code]
    covered = (low <= truth) & (truth <= high)
    too_low, too_high = int(np.sum(high < truth)), int(np.sum(low > truth))
    print(
        f"\n{code} 2025: 95% logit interval coverage {covered.mean():.3f} over {covered.size} draws "
        f"({too_low} intervals below the truth, {too_high} above), mean width {np.mean(high - low):.4f}"
    )
    assert 0.90 <= covered.mean() <= 0.985


@pytest.mark.parametrize("code", CODES)
def test_unweighted_respondent_share_is_biased_so_the_bias_test_has_power(
    db: None, replicates: Replicates, code: str
) -> None:
    # Nonresponse is lower among the old and in town, and literacy falls with age: the raw share
    # of respondents misses the truth by many Monte-Carlo SEs, which the weighting must remove.
    naive, truth = replicates.unweighted[code], replicates.truth[code]
    print(f"\n{code} 2025: unweighted respondent share bias {naive.mean() - truth:+.4f}")
    assert abs(naive.mean() - truth) > 10 * mc_se(naive)


def test_inverse_probabilities_estimate_the_households_and_residents_unbiasedly(
    db: None, population: Population, replicates: Replicates
) -> None:
    # Σ 1/π over the sample is unbiased for the population count when every π is right.
    households = population.household_village.size
    starts = population.household_slices()
    eligible = (population.age >= 15) & (population.age <= 69)
    with_eligible = int(np.sum(np.add.reduceat(eligible.astype(int), starts[:-1]) > 0))
    residents = int(eligible.sum())
    hh, res = replicates.households_ht, replicates.residents_ht
    print(
        f"\nHorvitz–Thompson counts: households {hh.mean():.0f} (true {households}), "
        f"residents 15–69 {res.mean():.0f} (true {residents}; {with_eligible} households with one)"
    )
    assert abs(hh.mean() - households) <= 3 * mc_se(hh)
    assert abs(res.mean() - residents) <= 3 * mc_se(res)
