"""The stated true model behind the demo's answers, and the true shares it implies.

Each resident i has, in wave w and for instrument m, an ability

    θ_imw = α_mw + edu_m[e_i] + urban_m·u_i + slope_m·(age_i − 40) + occ_m[o_i]
            + σ_person·z_i + σ_wave·ε_imw,

with z_i a stable personal effect and ε_imw fresh each wave.  Item j is answered correctly
with the two-parameter logistic probability expit(a_j (θ − b_j)).  A resident is literate
when the points of the items answered correctly reach the key's benchmark (70/100 for
science; 80% of 66 for health).  α_mw is set so that the share of literate residents in
the instrument's age range equals the wave's stated figure; the realised share in the
synthetic population (the *truth* the estimates are checked against) is returned too.

Because a correct answer happens exactly when θ exceeds the threshold
T_ij = b_j + logit(U_ij)/a_j (U_ij uniform), each resident's literacy is θ > θ*_i where
θ*_i is the threshold at which their cumulated points reach the cut-off; α follows as a
quantile, with no iteration.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from assessment.demo.population import OCCUPATION, Population


@dataclass(frozen=True)
class AbilityModel:
    instrument: str
    age_min: int
    age_max: int
    education: tuple[float, float, float, float]
    urban: float
    age_slope: float
    occupation: Mapping[str, float]
    person_sd: float
    wave_sd: float
    true_share: Mapping[int, float]  # by wave year
    seed: int
    difficulty_sd: float = 0.8
    discrimination: tuple[float, float] = (1.0, 2.0)
    occupation_default: float = 0.0
    notes: str = field(default="")

    def covariates(self, pop: Population) -> npt.NDArray[np.float64]:
        occ = np.array([self.occupation.get(code, self.occupation_default) for code in OCCUPATION])
        return (
            np.asarray(self.education)[pop.education]
            + self.urban * pop.urban
            + self.age_slope * (pop.age - 40)
            + occ[pop.occupation]
            + self.person_sd * pop.person_effect
        )


SCIENCE = AbilityModel(
    instrument="science_literacy",
    age_min=18,
    age_max=69,
    education=(0.0, 0.7, 1.4, 2.1),
    urban=0.35,
    age_slope=-0.015,
    occupation={
        "cadre": 0.8,
        "civil_servant": 0.8,
        "professional": 0.6,
        "student": 0.4,
        "business_service": 0.1,
        "farmer": -0.25,
        "retired": -0.1,
        "homemaker_unemployed": -0.2,
    },
    person_sd=0.6,
    wave_sd=0.3,
    true_share={2022: 0.132, 2023: 0.149, 2024: 0.167, 2025: 0.186},
    seed=101,
)

HEALTH = AbilityModel(
    instrument="health_literacy",
    age_min=15,
    age_max=69,
    education=(0.0, 0.6, 1.2, 1.8),
    urban=0.3,
    age_slope=-0.02,
    occupation={
        "cadre": 0.6,
        "civil_servant": 0.7,
        "professional": 0.7,
        "student": 0.3,
        "business_service": 0.1,
        "farmer": -0.3,
        "industrial_worker": -0.05,
        "homemaker_unemployed": -0.1,
    },
    person_sd=0.6,
    wave_sd=0.3,
    true_share={2022: 0.246, 2023: 0.268, 2024: 0.289, 2025: 0.313},
    seed=202,
)

# The household survey's instruments; the enterprise survey's model is OCCUPATIONAL below.
MODELS = {m.instrument: m for m in (SCIENCE, HEALTH)}

# Occupational health knowledge of key-industry workers (the enterprise survey,
# assessment/demo/enterprise.py).  Occupation and residence add nothing here: every worker
# is an industrial worker, and the enterprise adds its own effects (size class, industry and
# a stable enterprise effect), passed to wave_truth as an offset.
OCCUPATIONAL = AbilityModel(
    instrument="occupational_health",
    age_min=16,
    age_max=59,
    education=(0.0, 0.5, 1.0, 1.5),
    urban=0.0,
    age_slope=-0.01,
    occupation={},
    person_sd=0.6,
    wave_sd=0.3,
    true_share={2022: 0.780, 2023: 0.815, 2024: 0.850, 2025: 0.880},
    seed=303,
)


@dataclass(frozen=True)
class ItemParameters:
    difficulty: npt.NDArray[np.float64]
    discrimination: npt.NDArray[np.float64]
    points: npt.NDArray[np.float64]


def item_parameters(model: AbilityModel, points: npt.ArrayLike) -> ItemParameters:
    """Return the fixed item parameters of MODEL's instrument (one per scored item)."""
    pts = np.asarray(points, dtype=np.float64)
    rng = np.random.default_rng(model.seed)
    return ItemParameters(
        difficulty=rng.normal(0.0, model.difficulty_sd, size=pts.size),
        discrimination=rng.uniform(*model.discrimination, size=pts.size),
        points=pts,
    )


@dataclass(frozen=True)
class WaveTruth:
    """One wave of one instrument in the whole synthetic population."""

    year: int
    eligible: npt.NDArray[np.int64]  # person indices in the age range
    alpha: float
    theta: npt.NDArray[np.float64]  # per eligible person
    thresholds: npt.NDArray[np.float32]  # (eligible, items) T_ij
    literate: npt.NDArray[np.bool_]  # per eligible person

    @property
    def share(self) -> float:
        """Return the true share of literate residents in the age range."""
        return float(self.literate.mean())

    def share_in(self, mask: npt.NDArray[np.bool_]) -> float:
        """Return the true share among eligible persons where MASK (over eligible) holds."""
        return float(self.literate[mask].mean())

    def correct(self, persons: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Return the (persons, items) matrix of correct answers for population indices PERSONS."""
        pos = np.searchsorted(self.eligible, persons)
        if np.any(pos >= self.eligible.size) or np.any(self.eligible[np.minimum(pos, self.eligible.size - 1)] != persons):
            raise ValueError("a person outside the instrument's age range was asked")
        return self.theta[pos, None] > self.thresholds[pos]


def critical_thresholds(
    thresholds: npt.NDArray[np.float32], points: npt.NDArray[np.float64], cut: float
) -> npt.NDArray[np.float64]:
    """Return, per row, the ability above which the points of items with T_ij < θ reach CUT.

    With one point value this is an order statistic; with two (health: 1 and 2 points) the
    minimum over j (items of the larger value answered) of max(j-th larger-value threshold,
    the needed-th smaller-value threshold); otherwise a full sort.
    """
    n, k = thresholds.shape
    values = np.unique(points)
    if values.size == 1:
        need = int(np.ceil(cut / values[0] - 1e-9))
        if need <= 0:
            return np.full(n, -np.inf)
        if need > k:
            return np.full(n, np.inf)
        return np.partition(thresholds, need - 1, axis=1)[:, need - 1].astype(np.float64)
    if values.size == 2:
        small, large = float(values[0]), float(values[1])
        s1 = np.sort(thresholds[:, points == small], axis=1)
        s2 = np.sort(thresholds[:, points == large], axis=1)
        best = np.full(n, np.inf)
        for j in range(s2.shape[1] + 1):
            need = max(0, int(np.ceil((cut - large * j) / small - 1e-9)))
            if need > s1.shape[1]:
                continue
            candidate = s2[:, j - 1].astype(np.float64) if j > 0 else np.full(n, -np.inf)
            if need > 0:
                candidate = np.maximum(candidate, s1[:, need - 1])
            best = np.minimum(best, candidate)
        return best
    order = np.argsort(thresholds, axis=1)
    cum = np.cumsum(points[order], axis=1)
    reach = np.argmax(cum >= cut - 1e-9, axis=1)
    found = np.take_along_axis(thresholds, order, axis=1)[np.arange(n), reach].astype(np.float64)
    return np.where(cum[:, -1] >= cut - 1e-9, found, np.inf)


def wave_truth(
    model: AbilityModel,
    pop: Population,
    year: int,
    items: ItemParameters,
    cut_points: float,
    *,
    eligible: npt.NDArray[np.int64] | None = None,
    offset: npt.NDArray[np.float64] | None = None,
) -> WaveTruth:
    """Return the truth for YEAR: abilities, thresholds and the literate residents.

    CUT_POINTS is the key's literacy cut-off in points (70 for science; 0.8 × 66 for health).
    ELIGIBLE (sorted person indices) narrows the population below the model's age range, and
    OFFSET adds a per-person term to the ability (the enterprise survey's workers and their
    enterprise effects); by default everyone in the age range, with no offset.
    """
    rng = np.random.default_rng([model.seed, year])
    if eligible is None:
        eligible = np.flatnonzero((pop.age >= model.age_min) & (pop.age <= model.age_max)).astype(np.int64)
    x = model.covariates(pop)[eligible] + model.wave_sd * rng.normal(size=eligible.size)
    if offset is not None:
        x = x + offset
    u = np.clip(rng.random(size=(eligible.size, items.points.size), dtype=np.float32), 1e-7, 1 - 1e-7)
    difficulty = items.difficulty.astype(np.float32)[None, :]
    scale = (1.0 / items.discrimination).astype(np.float32)[None, :]
    thresholds = difficulty + np.log(u / (1 - u)) * scale
    critical = critical_thresholds(thresholds, items.points, cut_points)
    alpha = float(np.quantile(critical - x, model.true_share[year]))
    theta = alpha + x
    return WaveTruth(
        year=year,
        eligible=eligible,
        alpha=alpha,
        theta=theta,
        thresholds=thresholds,
        literate=theta > critical,
    )
