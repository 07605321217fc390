"""Classical item analysis of a test, weighted by the survey weights.

For a matrix of item scores (respondents × items) and the respondents' weights this module
gives, per item, the difficulty (the weighted share of the item's points earned: for an
all-or-nothing item the share answering correctly), the corrected item–total (item–rest)
point-biserial correlation, Cronbach's alpha of the test and alpha with the item deleted,
the weighted share choosing each option, and flags for items that misbehave.

Every population moment (mean, variance, covariance) is estimated with the weights as a
ratio (Hájek) estimator, ``Σ w x / Σ w``, and every coefficient is the plug-in function of
those moments, the usual way of estimating a finite-population quantity from a weighted
sample ([4]_, [5]_).  With all weights equal the figures are the classical
unweighted ones; alpha and the correlations do not depend on the divisor (``n`` or ``n - 1``)
because it cancels in their ratios.  Frequency weights and duplicated rows give the same
result.

Scores must be complete: an omitted answer is an item score of 0, as in the total score.

References
----------
.. [1] Crocker, L. & Algina, J. (1986). *Introduction to Classical and Modern Test Theory*.
   Holt, Rinehart and Winston: the chapters on reliability (coefficient alpha) and on item
   analysis (item difficulty, distractors, point-biserial item–total correlation and its
   correction for the item's own contribution).
.. [2] Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
   *Psychometrika* 16, 297–334.
.. [3] Henrysson, S. (1963). Correction of item-total correlations in item analysis.
   *Psychometrika* 28, 211–218.
.. [4] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
.. [5] Skinner, C. J., Holt, D. & Smith, T. M. F. (eds.) (1989). *Analysis of Complex
   Surveys*. Wiley.
.. [6] Ebel, R. L. (1965). *Measuring Educational Achievement*. Prentice-Hall (discrimination
   below about 0.2 marks an item for revision).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.arrays import FloatArray

FLAG_NEGATIVE_DISCRIMINATION = "negative_discrimination"
FLAG_LOW_DISCRIMINATION = "low_discrimination"
FLAG_NO_VARIANCE = "no_variance"
FLAG_TOO_HARD = "too_hard"
FLAG_TOO_EASY = "too_easy"
FLAGS = (FLAG_NEGATIVE_DISCRIMINATION, FLAG_LOW_DISCRIMINATION, FLAG_NO_VARIANCE, FLAG_TOO_HARD, FLAG_TOO_EASY)

DEFAULT_MIN_DISCRIMINATION = 0.1
DEFAULT_MIN_DIFFICULTY = 0.05
DEFAULT_MAX_DIFFICULTY = 0.95

# A variance this small relative to the items' is rounding error: the quantity does not vary.
_RELATIVE_ZERO = 1e-12


def _scores(scores: npt.ArrayLike) -> FloatArray:
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("scores must be a (respondents, items) matrix")
    if not np.all(np.isfinite(x)):
        raise ValueError("scores must be finite: score an omitted answer as 0")
    return x


def _weights(weights: npt.ArrayLike | None, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"weights must have shape ({n},)")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and not negative")
    if n and w.sum() <= 0:
        raise ValueError("the weights sum to 0")
    return w


def weighted_covariance(scores: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> FloatArray:
    """Return the weighted covariance matrix of the item scores.

    Parameters
    ----------
    scores : array_like, shape (n, k)
        Item scores of n respondents on k items.
    weights : array_like, shape (n,), optional
        Survey weights (default: all 1).

    Returns
    -------
    ndarray, shape (k, k)
        ``S[j, l] = Σ w (x_j - m_j)(x_l - m_l) / Σ w`` with ``m_j = Σ w x_j / Σ w``: the
        plug-in (Hájek) estimate of the population covariance ([4]_).  NaN when
        there are no respondents.
    """
    x = _scores(scores)
    n, k = x.shape
    w = _weights(weights, n)
    if n == 0:
        return np.full((k, k), np.nan)
    total = w.sum()
    # A constant column is centred exactly, so that it has no variance at all rather than rounding error.
    constant = np.all(x == x[:1], axis=0)
    centred = np.where(constant, 0.0, x - (w @ x) / total)
    return np.asarray((centred * w[:, np.newaxis]).T @ centred / total, dtype=np.float64)


def _varies(variance: FloatArray, scale: float) -> npt.NDArray[np.bool_]:
    return np.asarray(variance > _RELATIVE_ZERO * scale, dtype=bool)


def item_difficulty(
    scores: npt.ArrayLike, max_points: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> FloatArray:
    """Return each item's difficulty: the weighted mean score as a share of its maximum.

    Parameters
    ----------
    scores : array_like, shape (n, k)
        Item scores (points earned).
    max_points : array_like, shape (k,)
        The points each item is worth.
    weights : array_like, shape (n,), optional
        Survey weights (default: all 1).

    Returns
    -------
    ndarray, shape (k,)
        ``p_j = Σ w x_j / (Σ w · max_j)``: for an item scored all-or-nothing, the weighted
        share of respondents answering it correctly (the item "p-value" of [1]_; higher
        means easier).  NaN when there are no respondents.
    """
    x = _scores(scores)
    n, k = x.shape
    w = _weights(weights, n)
    top = np.asarray(max_points, dtype=np.float64)
    if top.shape != (k,) or np.any(top <= 0):
        raise ValueError(f"max_points must be {k} positive numbers")
    if n == 0:
        return np.full(k, np.nan)
    return np.asarray((w @ x) / w.sum() / top, dtype=np.float64)


def item_rest_correlation(scores: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> FloatArray:
    """Return each item's corrected item–total (item–rest) point-biserial correlation.

    Parameters
    ----------
    scores : array_like, shape (n, k)
        Item scores.
    weights : array_like, shape (n,), optional
        Survey weights (default: all 1).

    Returns
    -------
    ndarray, shape (k,)
        The weighted Pearson correlation of item ``j`` with the rest score ``T - x_j`` (the
        total without the item, so that the item does not correlate with itself: [1]_,
        [3]_).  From the covariance matrix ``S``, with row sums ``s_j`` and total
        ``s = Σ S``::

            r_j = (s_j - S_jj) / sqrt(S_jj · (s - 2 s_j + S_jj))

        For a 0/1 item this is the point-biserial correlation.  NaN where the item or the
        rest score does not vary.
    """
    cov = weighted_covariance(scores, weights)
    row = cov.sum(axis=1)
    diag = np.diag(cov)
    rest_var = cov.sum() - 2 * row + diag
    scale = float(np.trace(cov)) if cov.size else 0.0
    valid = _varies(diag, scale) & _varies(rest_var, scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (row - diag) / np.sqrt(np.where(valid, diag * rest_var, 1.0))
    return np.asarray(np.where(valid, np.clip(r, -1.0, 1.0), np.nan), dtype=np.float64)


def _alpha(k: int, item_variance: float, total_variance: float) -> float:
    if k < 2 or not total_variance > _RELATIVE_ZERO * item_variance or not total_variance > 0:
        return float("nan")
    return k / (k - 1) * (1 - item_variance / total_variance)


def cronbach_alpha(scores: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
    """Return Cronbach's coefficient alpha of the test, weighted.

    Parameters
    ----------
    scores : array_like, shape (n, k)
        Item scores.
    weights : array_like, shape (n,), optional
        Survey weights (default: all 1).

    Returns
    -------
    float
        ``α = k / (k - 1) · (1 - Σ_j S_jj / Σ_jl S_jl)`` ([2]_, [1]_), with the
        weighted covariances ``S``.  At most 1; it can be negative when the items covary
        negatively on average.  NaN for fewer than 2 items or a total that does not vary.
    """
    cov = weighted_covariance(scores, weights)
    return _alpha(cov.shape[0], float(np.trace(cov)), float(cov.sum()))


def alpha_if_item_deleted(scores: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> FloatArray:
    """Return, per item, Cronbach's alpha of the test without that item.

    Parameters
    ----------
    scores : array_like, shape (n, k)
        Item scores.
    weights : array_like, shape (n,), optional
        Survey weights (default: all 1).

    Returns
    -------
    ndarray, shape (k,)
        ``α_(j) = (k - 1) / (k - 2) · (1 - (Σ S_ll - S_jj) / (s - 2 s_j + S_jj))`` with the
        notation of :func:`item_rest_correlation`: alpha of the remaining ``k - 1`` items
        ([1]_).  An item whose deletion raises alpha above the test's lowers the
        internal consistency.  NaN for fewer than 3 items.
    """
    cov = weighted_covariance(scores, weights)
    k = cov.shape[0]
    row = cov.sum(axis=1)
    diag = np.diag(cov)
    rest_var = cov.sum() - 2 * row + diag
    trace = float(np.trace(cov))
    return np.asarray([_alpha(k - 1, trace - float(diag[j]), float(rest_var[j])) for j in range(k)], dtype=np.float64)


@dataclass(frozen=True)
class OptionShares:
    """Weighted shares of respondents choosing each option of one item.

    Attributes
    ----------
    shares : ndarray, shape (m,)
        Share choosing each option (for a multiple-choice item the shares may sum past 1).
    omitted : float
        Share choosing no option.
    """

    shares: FloatArray
    omitted: float


def option_shares(selected: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> OptionShares:
    """Return the weighted share of respondents choosing each option of an item.

    Parameters
    ----------
    selected : array_like of bool, shape (n, m)
        ``selected[i, o]`` is true when respondent ``i`` chose option ``o``.
    weights : array_like, shape (n,), optional
        Survey weights (default: all 1).

    Returns
    -------
    OptionShares
        ``Σ w · selected_o / Σ w`` per option, and the share with no option chosen: the
        distractor analysis of [1]_ (a wrong option nobody chooses does not
        work as a distractor; one chosen more than the key by able respondents suggests a
        miskeyed or ambiguous item).  NaN when there are no respondents.
    """
    chosen = np.asarray(selected, dtype=bool)
    if chosen.ndim != 2:
        raise ValueError("selected must be a (respondents, options) matrix")
    n, m = chosen.shape
    w = _weights(weights, n)
    if n == 0:
        return OptionShares(np.full(m, np.nan), float("nan"))
    total = w.sum()
    return OptionShares(
        shares=np.asarray(w @ chosen / total, dtype=np.float64),
        omitted=float(w[~chosen.any(axis=1)].sum() / total),
    )


def item_flags(
    difficulty: npt.ArrayLike,
    discrimination: npt.ArrayLike,
    *,
    min_discrimination: float = DEFAULT_MIN_DISCRIMINATION,
    min_difficulty: float = DEFAULT_MIN_DIFFICULTY,
    max_difficulty: float = DEFAULT_MAX_DIFFICULTY,
) -> tuple[tuple[str, ...], ...]:
    """Return, per item, the names of the rules it breaks (empty when it behaves).

    Parameters
    ----------
    difficulty : array_like, shape (k,)
        Item difficulties (:func:`item_difficulty`).
    discrimination : array_like, shape (k,)
        Corrected item–rest correlations (:func:`item_rest_correlation`).
    min_discrimination : float
        A correlation at or above 0 but below this is ``low_discrimination`` (near zero:
        the item hardly separates able from less able respondents; compare [6]_).
    min_difficulty, max_difficulty : float
        A difficulty below the first is ``too_hard`` (almost nobody right), above the second
        ``too_easy`` (almost everybody right).

    Returns
    -------
    tuple of tuple of str
        Flags among ``negative_discrimination`` (the item goes against the rest of the test:
        often a wrong key), ``low_discrimination``, ``no_variance`` (no correlation can be
        computed: everybody scored the same), ``too_hard``, ``too_easy``.
    """
    p = np.asarray(difficulty, dtype=np.float64)
    r = np.asarray(discrimination, dtype=np.float64)
    if p.shape != r.shape or p.ndim != 1:
        raise ValueError("difficulty and discrimination must be vectors of the same length")
    flags = []
    for pj, rj in zip(p.tolist(), r.tolist()):
        found: list[str] = []
        if np.isnan(rj):
            found.append(FLAG_NO_VARIANCE)
        elif rj < 0:
            found.append(FLAG_NEGATIVE_DISCRIMINATION)
        elif rj < min_discrimination:
            found.append(FLAG_LOW_DISCRIMINATION)
        if pj < min_difficulty:
            found.append(FLAG_TOO_HARD)
        elif pj > max_difficulty:
            found.append(FLAG_TOO_EASY)
        flags.append(tuple(found))
    return tuple(flags)


@dataclass(frozen=True)
class ItemAnalysis:
    """The item analysis of one test in one sample (or domain).

    Attributes
    ----------
    n : int
        Respondents.
    weight_total : float
        Their sum of weights.
    difficulty, discrimination, alpha_if_deleted : ndarray, shape (k,)
        Per item: :func:`item_difficulty`, :func:`item_rest_correlation`,
        :func:`alpha_if_item_deleted`.
    alpha : float
        :func:`cronbach_alpha` of the whole test.
    total_mean, total_sd : float
        Weighted mean and standard deviation of the total score.
    options : tuple of OptionShares or None
        Per item, the option shares (None when no selections were given).
    flags : tuple of tuple of str
        Per item, :func:`item_flags`.
    """

    n: int
    weight_total: float
    difficulty: FloatArray
    discrimination: FloatArray
    alpha: float
    alpha_if_deleted: FloatArray
    total_mean: float
    total_sd: float
    options: tuple[OptionShares, ...] | None
    flags: tuple[tuple[str, ...], ...]


def item_analysis(
    scores: npt.ArrayLike,
    max_points: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    selections: Sequence[npt.ArrayLike] | None = None,
    min_discrimination: float = DEFAULT_MIN_DISCRIMINATION,
    min_difficulty: float = DEFAULT_MIN_DIFFICULTY,
    max_difficulty: float = DEFAULT_MAX_DIFFICULTY,
) -> ItemAnalysis:
    """Return the whole item analysis of a test.

    Parameters
    ----------
    scores : array_like, shape (n, k)
        Item scores (omitted answers scored 0).
    max_points : array_like, shape (k,)
        The points each item is worth.
    weights : array_like, shape (n,), optional
        Survey weights (default: all 1).
    selections : sequence of k array_like of bool, optional
        Per item, the (n, m_j) matrix of options chosen (:func:`option_shares`).
    min_discrimination, min_difficulty, max_difficulty : float
        Thresholds of :func:`item_flags`.

    Returns
    -------
    ItemAnalysis
    """
    x = _scores(scores)
    n, k = x.shape
    w = _weights(weights, n)
    if selections is not None and len(selections) != k:
        raise ValueError(f"selections must give one matrix per item ({k})")
    difficulty = item_difficulty(x, max_points, w)
    discrimination = item_rest_correlation(x, w)
    total = x.sum(axis=1)
    weight_total = float(w.sum())
    if n:
        total_mean = float(w @ total / weight_total)
        total_sd = float(np.sqrt(w @ (total - total_mean) ** 2 / weight_total))
    else:
        total_mean = total_sd = float("nan")
    options = None
    if selections is not None:
        # option_shares refuses a matrix whose rows do not match the weights, one per respondent.
        options = tuple(option_shares(chosen, w) for chosen in selections)
    return ItemAnalysis(
        n=n,
        weight_total=weight_total,
        difficulty=difficulty,
        discrimination=discrimination,
        alpha=cronbach_alpha(x, w),
        alpha_if_deleted=alpha_if_item_deleted(x, w),
        total_mean=total_mean,
        total_sd=total_sd,
        options=options,
        flags=item_flags(
            difficulty, discrimination, min_discrimination=min_discrimination,
            min_difficulty=min_difficulty, max_difficulty=max_difficulty,
        ),
    )
