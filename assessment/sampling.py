"""Selection algorithms for multi-stage samples, as pure numpy functions (no Django).

* `pps_systematic`: systematic probability-proportional-to-size selection of PSUs with
  certainty units (Cochran 1977, §9A; Särndal, Swensson & Wretman 1992, §3.6).
* `systematic`: systematic equal-probability selection of households within a PSU.
* `kish_select`: one respondent per household from the roster (Kish 1949), computer
  version: eligible members are ordered as in Kish's grid (men then women, each by age
  descending) and the row of the grid is a uniform number drawn and stored with the case,
  so each of the k eligible members is selected with probability exactly 1/k.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class PPSDraw:
    selected: npt.NDArray[np.int64]  # indices into the frame, in selection order
    probability: npt.NDArray[np.float64]  # inclusion probability of every frame unit
    certainty: npt.NDArray[np.bool_]  # per frame unit


def pps_probabilities(sizes: npt.ArrayLike, n: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Return (π, certainty) for a PPS sample of N units from SIZES.

    Units whose n·size/total reaches 1 are taken with certainty; n and the total are
    recomputed without them until no further unit reaches 1.
    """
    size = np.asarray(sizes, dtype=np.float64)
    if size.ndim != 1 or size.size == 0:
        raise ValueError("sizes must be a non-empty 1-d array")
    if np.any(~np.isfinite(size)) or np.any(size <= 0):
        raise ValueError("every measure of size must be a positive number")
    if not 0 < n <= size.size:
        raise ValueError(f"cannot select {n} of {size.size} units")
    certain = np.zeros(size.size, dtype=bool)
    while True:
        rest = n - int(certain.sum())
        if rest == 0:
            break
        prob = rest * size / size[~certain].sum()
        newly = (~certain) & (prob >= 1.0)
        if not newly.any():
            break
        certain |= newly
    pi = np.ones(size.size)
    rest = n - int(certain.sum())
    if rest > 0:
        pi[~certain] = rest * size[~certain] / size[~certain].sum()
    return pi, certain


def pps_systematic(sizes: npt.ArrayLike, n: int, rng: np.random.Generator) -> PPSDraw:
    """Select N units by systematic PPS with a random start, after taking certainty units.

    The frame order is kept (sort it, e.g. by town and village code, for implicit
    stratification).  Each non-certainty unit i is selected with probability π_i.
    """
    pi, certain = pps_probabilities(sizes, n)
    chosen = list(np.flatnonzero(certain))
    rest = n - len(chosen)
    if rest > 0:
        idx = np.flatnonzero(~certain)
        cum = np.cumsum(pi[idx])
        cum[-1] = float(rest)  # guard against rounding in the last cumulated value
        points = rng.uniform(0.0, 1.0) + np.arange(rest)
        # A start within an ulp of 1 can round the last point up to `rest`; it belongs to the last unit.
        hit = np.minimum(np.searchsorted(cum, points, side="right"), idx.size - 1)
        chosen.extend(idx[hit].tolist())
    return PPSDraw(selected=np.asarray(chosen, dtype=np.int64), probability=pi, certainty=certain)


def systematic(population: int, n: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Return N of POPULATION positions (0-based) by systematic sampling with a random start.

    With a fractional interval k = N/n every position has probability exactly n/N.
    """
    if population <= 0:
        raise ValueError("the listing is empty")
    n = min(n, population)
    step = population / n
    start = rng.uniform(0.0, step)
    if n == population:  # everyone; with an interval of 1, start + k could round up to k + 1
        return np.arange(population, dtype=np.int64)
    # A start within an ulp of the interval can round the last position up to POPULATION.
    return np.minimum(np.floor(start + step * np.arange(n)), population - 1).astype(np.int64)


def kish_order(sexes: Sequence[str], ages: Sequence[int]) -> list[int]:
    """Return roster positions in Kish order: men by age descending, then women."""
    return sorted(range(len(ages)), key=lambda i: (0 if sexes[i] == "male" else 1, -ages[i], i))


def kish_select(sexes: Sequence[str], ages: Sequence[int], eligible: Sequence[bool], u: float) -> tuple[int, int]:
    """Return (roster position of the selected member, number eligible) for grid row U in [0, 1)."""
    if not 0.0 <= u < 1.0:
        raise ValueError("the Kish grid row must lie in [0, 1)")
    order = [i for i in kish_order(sexes, ages) if eligible[i]]
    if not order:
        raise ValueError("no member of the household is eligible")
    return order[int(u * len(order))], len(order)


def allocate_proportional(
    sizes: npt.ArrayLike, total: int, minimum: int | npt.ArrayLike = 0, maximum: npt.ArrayLike | None = None
) -> npt.NDArray[np.int64]:
    """Return integer allocations proportional to SIZES that sum to TOTAL, each in [MINIMUM, MAXIMUM].

    The shares are clip(λ·size, minimum, maximum) with λ such that they sum to TOTAL (strata
    held at a bound are fixed and the rest re-allocated proportionally); fractions are rounded
    by largest remainder (Hamilton's method), ties going to the earlier stratum.  MINIMUM is
    one number or one per stratum; MAXIMUM (per stratum, e.g. the number of PSUs in its
    frame) defaults to no cap.
    """
    size = np.asarray(sizes, dtype=np.float64)
    if np.any(~np.isfinite(size)) or np.any(size <= 0):
        raise ValueError("every stratum needs a positive size")
    low = np.broadcast_to(np.asarray(minimum, dtype=np.float64), size.shape).copy()
    if low.sum() > total:
        shown = f"{int(low[0])}" if np.ndim(minimum) == 0 else f"{low.sum():g} in all"
        raise ValueError(f"a minimum of {shown} in {size.size} strata exceeds the total of {total}")
    high = np.full(size.size, np.inf) if maximum is None else np.asarray(maximum, dtype=np.float64).copy()
    if high.shape != size.shape:
        raise ValueError("one maximum per stratum is needed")
    if np.any(high < low):
        stratum = int(np.flatnonzero(high < low)[0])
        raise ValueError(f"stratum {stratum} can take at most {high[stratum]:g}, below its minimum of {low[stratum]:g}")
    if high.sum() < total:
        raise ValueError(f"the strata can take at most {high.sum():g} in all, fewer than the total of {total}")
    share = _bounded_shares(size, float(total), low, high)
    floor = np.minimum(np.floor(share + 1e-9), high).astype(np.int64)
    short = total - int(floor.sum())
    if short > 0:
        room = floor < high
        order = [i for i in np.argsort(-(share - floor), kind="stable") if room[i]]
        floor[order[:short]] += 1
    return floor


def _bounded_shares(
    size: npt.NDArray[np.float64], total: float, low: npt.NDArray[np.float64], high: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Return clip(λ·size, low, high) summing to TOTAL (λ by bisection, then exact on the free strata)."""
    def summed(lam: float) -> float:
        return float(np.clip(lam * size, low, high).sum())

    lo_lam, hi_lam = 0.0, 1.0
    while summed(hi_lam) < total and hi_lam < 1e300:
        hi_lam *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo_lam + hi_lam)
        if summed(mid) < total:
            lo_lam = mid
        else:
            hi_lam = mid
    lam = hi_lam
    at_low = lam * size <= low
    at_high = lam * size >= high
    free = ~(at_low | at_high)
    share = np.where(at_low, low, np.where(at_high, high, 0.0))
    if free.any():
        share[free] = (total - share[~free].sum()) * size[free] / size[free].sum()
    return share

