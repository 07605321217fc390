"""Taylor-linearisation (ultimate cluster, with replacement) variance of survey estimators.

An estimator is linearised into a score per respondent; the variance is the between-PSU
variance of the weighted score totals within strata (Binder 1983; Lumley 2010, appendix C):

.. math::

    \\hat V = \\sum_h f_h \\frac{n_h}{n_h - 1} \\sum_{i=1}^{n_h} (z_{hi} - \\bar z_h)^2,
    \\qquad z_{hi} = \\sum_{k \\in \\text{PSU } hi} w_k u_k,

with ``f_h = (N_h - n_h)/N_h`` (1 without FPC). For a calibrated design the scores are first
replaced by their residuals from the base-weighted regression on the calibration variables
(Deville & Särndal 1992). Strata with a single PSU follow R's ``survey.lonely.psu`` rules.
This reproduces R ``survey``'s ``svyrecvar`` → ``multistage`` → ``onestage`` → ``onestrat``
for a one-stage design, with ``survey.adjust.domain.lonely = FALSE``.

Scores are passed in a sparse "one entry per (row, column)" form, so that the scores of many
domains are handled with one ``np.bincount`` pass over the rows.

References
----------
.. [1] Binder, D. A. (1983). On the variances of asymptotically normal estimators from complex
   surveys. *International Statistical Review* 51, 279-292.
.. [2] Deville, J.-C. & Särndal, C.-E. (1992). Calibration estimators in survey sampling.
   *JASA* 87, 376-382.
.. [3] Lumley, T. (2010). *Complex Surveys*. Wiley, sec. 2.3, 7.4 and appendix C.
.. [4] R package ``survey`` 4.1-1: ``svyrecvar``, ``onestage``, ``onestrat``,
   ``calibrate.survey.design2``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from scoring.arrays import BoolArray, FloatArray, IntArray
from scoring.design import CERTAINTY_FRACTION, Calibration, SurveyDesign


def variance_taylor(
    design: SurveyDesign,
    influence: npt.ArrayLike,
    *,
    rows: npt.ArrayLike | None = None,
) -> FloatArray:
    """Return the Taylor-linearisation covariance matrix of estimators with given influence.

    Parameters
    ----------
    design : SurveyDesign
        The design; calibrated designs use calibration residuals.
    influence : array_like, shape (n,) or (n, k)
        Weighted influence values ``x_i = w_i u_i`` of `k` estimators, as R passes to
        ``svyrecvar`` (e.g. ``w_i (y_i - ybar) / sum(w)`` for a mean, ``w_i y_i`` for a
        total); zero for rows outside the estimator's domain.
    rows : array_like of bool, shape (n,), optional
        Rows that make up the estimation subset. Only used by ``lonely_psu="average"`` on
        uncalibrated designs, where R counts only the strata the subset reaches.

    Returns
    -------
    ndarray, shape (k, k)
        Covariance matrix.

    References
    ----------
    Binder (1983); R ``survey::svyrecvar``.
    """
    x = np.asarray(influence, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] != design.n_rows:
        raise ValueError(
            f"influence: expected shape ({design.n_rows},) or ({design.n_rows}, k), got {x.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError("influence: values must be finite")
    n, k = x.shape
    row_index = np.repeat(np.arange(n, dtype=np.intp), k)
    columns = np.tile(np.arange(k, dtype=np.intp), n)
    scores = (x / design.weights[:, None]).reshape(-1)
    present: BoolArray | None = None
    if rows is not None:
        mask = np.asarray(rows, dtype=np.bool_)
        if mask.shape != (n,):
            raise ValueError(f"rows: expected a mask of {n} values, got {mask.shape}")
        strata = np.bincount(design.stratum[mask], minlength=design.n_strata) > 0
        present = np.repeat(strata[:, None], k, axis=1)
    return taylor_from_scores(design, row_index, columns, k, scores, present=present, full=True)


def taylor_from_scores(
    design: SurveyDesign,
    rows: IntArray,
    columns: IntArray,
    n_columns: int,
    scores: FloatArray,
    *,
    present: BoolArray | None = None,
    full: bool = False,
) -> FloatArray:
    """Return variances (or the covariance matrix) of estimators given by sparse scores.

    Estimator ``j`` has influence ``w_i * scores[e]`` for each entry ``e`` with
    ``rows[e] = i`` and ``columns[e] = j``, and 0 elsewhere.

    Parameters
    ----------
    design : SurveyDesign
    rows, columns : ndarray of intp
        Row and estimator of each entry.
    n_columns : int
        Number of estimators ``k``.
    scores : ndarray
        Unweighted score ``u`` of each entry.
    present : ndarray of bool, shape (n_strata, k), optional
        Strata that each estimator's subset reaches, for ``lonely_psu="average"`` on
        uncalibrated designs (R counts the strata of the subset design). Computed from the
        entries when omitted; ignored on calibrated designs, where R keeps every stratum.
    full : bool
        Return the ``(k, k)`` covariance matrix instead of the ``k`` variances.

    References
    ----------
    R ``survey``: ``svyrecvar``, ``onestage``, ``onestrat``; Deville & Särndal (1992).
    """
    totals = bincount_2d(
        design.psu[rows], design.n_psu, columns, n_columns, design.weights[rows] * scores
    )
    if design.calibration is not None:
        totals = totals - _calibration_fit(design.calibration, rows, columns, n_columns, scores)
        present = None
    elif present is None and design.lonely_psu == "average" and design.lonely_strata.any():
        present = (
            bincount_2d(design.stratum[rows], design.n_strata, columns, n_columns, None) > 0
        )
    return stratified_psu_variance(design, totals, present=present, full=full)


def stratified_psu_variance(
    design: SurveyDesign,
    psu_totals: FloatArray,
    *,
    present: BoolArray | None = None,
    full: bool = False,
) -> FloatArray:
    """Return the with-replacement variance from PSU totals of the influence.

    Parameters
    ----------
    design : SurveyDesign
    psu_totals : ndarray, shape (n_psu, k)
        Total of the (calibration-adjusted) influence in each PSU, zero for PSUs outside a
        domain (R pads those, ``onestrat``'s ``nsubset < nPSU`` branch).
    present : ndarray of bool, shape (n_strata, k), optional
        Strata counted by ``lonely_psu="average"``; all strata by default.
    full : bool
        Return the covariance matrix instead of the variances.

    Notes
    -----
    Single-PSU strata that are not certainty strata contribute: nothing (``remove``,
    ``certainty``); ``f_h z^2``, the PSU total centred at zero (``adjust``); or nothing
    while the sum over the other strata is scaled by ``strata / strata with > 1 PSU``, both
    counted among `present` (``average``). Strata with ``f_h < 1e-7`` contribute nothing.

    References
    ----------
    R ``survey::onestrat`` and ``survey::onestage``; Lumley (2010), appendix C.
    """
    n_psu_h = design.stratum_n_psu
    fraction = design.stratum_fraction_unsampled
    starts = np.concatenate(([0], np.cumsum(n_psu_h)[:-1])).astype(np.intp)
    stratum_mean = np.add.reduceat(psu_totals, starts, axis=0) / n_psu_h[:, None]
    deviation = psu_totals - stratum_mean[design.psu_stratum]
    lonely = design.lonely_strata
    if design.lonely_psu == "adjust" and lonely.any():
        lonely_psu = lonely[design.psu_stratum]
        deviation[lonely_psu] = psu_totals[lonely_psu]
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n_psu_h > 1, fraction * n_psu_h / (n_psu_h - 1), fraction)
    scale = np.where(fraction < CERTAINTY_FRACTION, 0.0, scale)
    z = deviation * np.sqrt(scale)[design.psu_stratum][:, None]
    if full:
        variance = np.asarray(z.T @ z, dtype=np.float64)
    else:
        variance = np.asarray(np.einsum("pk,pk->k", z, z), dtype=np.float64)
    if design.lonely_psu == "average" and lonely.any():
        k = psu_totals.shape[1]
        counted = np.ones((design.n_strata, k), dtype=np.bool_) if present is None else present
        n_counted = counted.sum(axis=0)
        n_ok = (counted & ~lonely[:, None]).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = n_counted / n_ok
            variance = variance * (np.sqrt(np.outer(factor, factor)) if full else factor)
    return variance


def bincount_2d(
    major: IntArray, n_major: int, columns: IntArray, n_columns: int, weights: FloatArray | None
) -> FloatArray:
    """Return the ``(n_major, n_columns)`` table of sums of `weights` (or counts) by cell."""
    if n_columns == 1:
        flat = np.bincount(major, weights, minlength=n_major)
    else:
        flat = np.bincount(major * n_columns + columns, weights, minlength=n_major * n_columns)
    return np.asarray(flat, dtype=np.float64).reshape(n_major, n_columns)


def _calibration_fit(
    calibration: Calibration,
    rows: IntArray,
    columns: IntArray,
    n_columns: int,
    scores: FloatArray,
) -> FloatArray:
    """Return PSU totals of ``w x' b``, the fitted part of the calibrated influence.

    R stores ``qr(X sqrt(d))`` and the weights ``g sqrt(d)`` and takes
    ``qr.resid(qr, x / (g sqrt(d))) * g sqrt(d)``; with ``x = d g u`` that is
    ``w (u - X b)`` with ``b = (X' D X)^- X' D u``, the base-weighted regression of the
    scores on the calibration variables (Deville & Särndal 1992, sec. 3).
    """
    weighted = calibration.base_weights[rows] * scores
    cross = np.zeros((calibration.n_columns, n_columns))
    cross[0] = np.bincount(columns, weighted, minlength=n_columns)
    for codes, n_levels, level_columns in zip(
        calibration.codes, calibration.n_levels, calibration.level_columns
    ):
        table = bincount_2d(codes[rows], n_levels, columns, n_columns, weighted)
        used = level_columns >= 0
        cross[level_columns[used]] = table[used]
    coefficients = np.linalg.lstsq(calibration.normal_matrix, cross, rcond=None)[0]
    return np.asarray(calibration.psu_basis_totals @ coefficients, dtype=np.float64)
