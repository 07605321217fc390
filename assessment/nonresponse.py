"""Weighting classes for the nonresponse adjustment, as pure functions (no Django).

The adjustment itself is `scoring.weights_nonresponse`: within a class c the respondents'
weights are multiplied by  Σ_{eligible sampled in c} d / Σ_{respondents in c} d.  This module
forms the classes: cells (e.g. town × urban/rural) are collapsed hierarchically until every
class has at least `min_respondents` respondents and an adjustment factor of at most
`max_factor`; a failing cell is merged with its siblings into its parent (town × urban/rural →
town), failing top-level cells are pooled together, and a pool that still fails takes in every
case (one class).  Small classes and large factors make the adjusted weights, and so the
estimates, unstable; Kalton & Flores-Cervantes suggest at least 20–30 respondents per class and
factors not above 1.5–2.

References
----------
.. [1] Kalton, G. & Flores-Cervantes, I. (2003). Weighting methods. *Journal of Official
   Statistics* 19, 81–97, §2.2 (weighting-class adjustment) and §4 (collapsing classes).
.. [2] Valliant, R., Dever, J. A. & Kreuter, F. (2018). *Practical Tools for Designing and
   Weighting Survey Samples*, 2nd ed., Springer, §13.5.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

POOLED = ("*",)  # the class of top-level cells too small on their own


def class_label(key: tuple[str, ...]) -> str:
    """Return the printable label of a class key: 'yushan|urban', 'yushan', '*' (pooled), 'all'."""
    return "|".join(key) if key else "all"


def classes_collapse(
    cells: Sequence[tuple[str, ...]],
    responded: npt.ArrayLike,
    weights: npt.ArrayLike,
    *,
    min_respondents: int = 20,
    max_factor: float = 2.0,
) -> list[str]:
    """Return the weighting class label of every case after collapsing small cells.

    Parameters
    ----------
    cells : sequence of tuples of str
        Each case's cell, coarse to fine (e.g. ``("yushan", "urban")``).
    responded : array_like of bool
        Whether the case responded.
    weights : array_like of float
        Weight of each case in the adjustment (e.g. household base weight, times e for cases of
        unknown eligibility).
    min_respondents : int
        Fewest respondents a class may have.
    max_factor : float
        Largest adjustment factor Σ d / Σ_{respondents} d a class may need.

    Returns
    -------
    list of str
        One label per case (see `class_label`).

    References
    ----------
    Kalton & Flores-Cervantes (2003), §2.2 and §4.
    """
    keys = [tuple(c) for c in cells]
    flag = np.asarray(responded, dtype=bool)
    w = np.asarray(weights, dtype=np.float64)
    if flag.shape != (len(keys),) or w.shape != (len(keys),):
        raise ValueError("cells, responded and weights must have one entry per case")
    if not flag.any():
        raise ValueError("no case responded: there is nothing to adjust")

    def failing() -> list[tuple[str, ...]]:
        totals: dict[tuple[str, ...], list[float]] = {}
        for key, r, weight in zip(keys, flag, w):
            t = totals.setdefault(key, [0.0, 0.0, 0.0])  # respondents, Σd, Σd of respondents
            t[0] += bool(r)
            t[1] += weight
            t[2] += weight if r else 0.0
        return [
            k for k, (n, total, resp) in totals.items()
            if k and (n < min_respondents or resp <= 0 or total / resp > max_factor)
        ]

    while True:
        bad = failing()
        if not bad:
            break
        depth = max(len(k) for k in bad)
        if depth >= 2:
            parents = {k[:-1] for k in bad if len(k) == depth}
            keys = [k[:-1] if len(k) == depth and k[:-1] in parents else k for k in keys]
        elif bad == [POOLED]:
            keys = [() for _ in keys]  # the pool is still too small: one class for everything
        else:
            pooled = set(bad) | {POOLED}
            keys = [POOLED if k in pooled else k for k in keys]
    return [class_label(k) for k in keys]
