"""Taylor-linearisation (ultimate cluster, with replacement) variance of survey estimators.

An estimator is linearised into a score per respondent; the variance is the between-PSU
variance of the weighted score totals within strata (Binder 1983; Lumley 2010, appendix C):

.. math::

    \\hat V = \\sum_h f_h \\frac{n_h}{n_h - 1} \\sum_{i=1}^{n_h} (z_{hi} - \\bar z_h)^2,
    \\qquad z_{hi} = \\sum_{k \\in \\text{PSU } hi} w_k u_k,

with ``f_h = (N_h - n_h)/N_h`` (1 without FPC). For a calibrated design the scores are first
replaced by their residuals from the base-weighted regression on the calibration variables
(Deville & Särndal 1992). Strata with a single PSU follow R's ``survey.lonely.psu`` rules.
Designs with later stages add, for every stage ``s``, the same between-unit variance of the
stage-``s`` unit totals within their stage-``s`` strata, multiplied by the sampling fractions
of the earlier stages. This reproduces R ``survey``'s ``svyrecvar`` → ``multistage`` →
``onestage`` → ``onestrat``, with ``survey.adjust.domain.lonely = FALSE``.

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
from scoring.design import CERTAINTY_FRACTION, Calibration, LaterStage, SurveyDesign


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
    subset: BoolArray | None = None
    if rows is not None:
        subset = np.asarray(rows, dtype=np.bool_)
        if subset.shape != (n,):
            raise ValueError(f"rows: expected a mask of {n} values, got {subset.shape}")
    return taylor_from_scores(
        design, row_index, columns, k, scores, full=True,
        subset_rows=None if subset is None else np.flatnonzero(subset),
    )


def taylor_from_scores(
    design: SurveyDesign,
    rows: IntArray,
    columns: IntArray,
    n_columns: int,
    scores: FloatArray,
    *,
    present: BoolArray | None = None,
    full: bool = False,
    all_strata: bool = False,
    subset_rows: IntArray | None = None,
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
        First-stage strata that each estimator's subset reaches, for
        ``lonely_psu="average"`` on uncalibrated designs (R counts the strata of the subset
        design). Computed from the entries when omitted; ignored on calibrated designs,
        where R keeps every stratum.
    full : bool
        Return the ``(k, k)`` covariance matrix instead of the ``k`` variances.
    all_strata : bool
        Count every stratum, as R's ``svyrecvar`` on the whole design does for the joint
        covariance of domain estimates (``svyby(..., covmat = TRUE)``).
    subset_rows : ndarray of intp, optional
        Rows of one estimation subset shared by all estimators (for `present`).

    References
    ----------
    R ``survey``: ``svyrecvar``, ``multistage``, ``onestage``, ``onestrat``; Deville &
    Särndal (1992).
    """
    every = rows.shape[0] == design.n_rows and (rows.shape[0] == 0 or (
        int(rows[0]) == 0 and int(rows[-1]) == design.n_rows - 1 and columns.shape[0] == rows.shape[0]
    ))

    def take(array: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
        return array if every else array[rows]

    weighted = design.weights * scores if every else design.weights[rows] * scores
    totals = bincount_2d(
        np.asarray(take(design.psu), dtype=np.intp), design.n_psu, columns, n_columns, weighted
    )
    coefficients: FloatArray | None = None
    counted_rows, counted_columns = (rows, columns) if subset_rows is None else (
        np.repeat(subset_rows, n_columns), np.tile(np.arange(n_columns), subset_rows.shape[0])
    )
    if design.calibration is not None:
        coefficients = _calibration_coefficients(
            design.calibration, rows, columns, n_columns, scores
        )
        totals = totals - design.calibration.stage_basis_totals[0] @ coefficients
        present = None
    elif all_strata:
        present = None
    elif present is None and design.lonely_psu == "average" and design.lonely_strata.any():
        present = bincount_2d(
            design.stratum[counted_rows], design.n_strata, counted_columns, n_columns, None
        ) > 0
    variance = stratified_psu_variance(design, totals, present=present, full=full)
    for index, stage in enumerate(design.stages):
        unit_totals = bincount_2d(
            np.asarray(take(stage.unit), dtype=np.intp), stage.n_units, columns, n_columns,
            weighted,
        )
        if coefficients is not None and design.calibration is not None:
            unit_totals = unit_totals - (
                design.calibration.stage_basis_totals[index + 1] @ coefficients
            )
        stage_present: BoolArray | None = None
        if (
            design.calibration is None and not all_strata
            and design.lonely_psu == "average" and stage.lonely_strata.any()
        ):
            stage_present = bincount_2d(
                stage.unit_stratum[stage.unit[counted_rows]], stage.n_strata,
                counted_columns, n_columns, None,
            ) > 0
        variance = variance + later_stage_variance(
            stage, design.lonely_psu, unit_totals, present=stage_present, full=full
        )
    return variance


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
    z = _scaled_deviations(
        psu_totals, design.psu_stratum, design.stratum_n_psu,
        design.stratum_fraction_unsampled, design.lonely_strata, design.lonely_psu,
    )
    variance = _crossproduct(z, full)
    lonely = design.lonely_strata
    if design.lonely_psu == "average" and lonely.any():
        k = psu_totals.shape[1]
        counted = np.ones((design.n_strata, k), dtype=np.bool_) if present is None else present
        n_counted = counted.sum(axis=0)
        n_ok = (counted & ~lonely[:, None]).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = n_counted / n_ok
            variance = variance * (np.sqrt(np.outer(factor, factor)) if full else factor)
    return variance


def later_stage_variance(
    stage: LaterStage,
    lonely_psu: str,
    unit_totals: FloatArray,
    *,
    present: BoolArray | None = None,
    full: bool = False,
) -> FloatArray:
    """Return the variance that a later sampling stage adds (R ``multistage``'s recursion).

    Each stage-``s`` stratum (a unit of stage ``s - 1``) contributes the with-replacement
    variance of its unit totals, times its FPC and the sampling fractions of its ancestors.
    With ``lonely_psu="average"`` R evaluates each stratum in a call of its own, where a
    lonely stratum leaves no stratum to average over: the variance is then NaN, as in R.

    References
    ----------
    R ``survey::multistage``; Särndal, Swensson & Wretman (1992), sec. 4.3.
    """
    evaluated = stage.stratum_evaluated & (stage.stratum_multiplier > 0)
    if not evaluated.any():
        k = unit_totals.shape[1]
        return np.zeros((k, k)) if full else np.zeros(k)
    fraction = np.where(evaluated, stage.stratum_fraction_unsampled, 0.0)
    z = _scaled_deviations(
        unit_totals, stage.unit_stratum, stage.stratum_n_units, fraction,
        stage.lonely_strata, lonely_psu, multiplier=stage.stratum_multiplier,
    )
    variance = _crossproduct(z, full)
    lonely = stage.lonely_strata & evaluated
    if lonely_psu == "average" and lonely.any():
        k = unit_totals.shape[1]
        reached = (
            np.ones((stage.n_strata, k), dtype=np.bool_) if present is None else present
        )
        undefined = np.asarray((reached & lonely[:, None]).any(axis=0), dtype=np.bool_)
        if full:
            variance = np.where(undefined[:, None] | undefined[None, :], np.nan, variance)
        else:
            variance = np.where(undefined, np.nan, variance)
    return np.asarray(variance, dtype=np.float64)


def _scaled_deviations(
    unit_totals: FloatArray,
    unit_stratum: IntArray,
    stratum_n_units: IntArray,
    fraction: FloatArray,
    lonely: BoolArray,
    lonely_psu: str,
    *,
    multiplier: FloatArray | None = None,
) -> FloatArray:
    """Return unit totals centred in their stratum and scaled by ``sqrt(f n/(n-1))``."""
    starts = np.concatenate(([0], np.cumsum(stratum_n_units)[:-1])).astype(np.intp)
    nonempty = stratum_n_units > 0
    sums = np.zeros((stratum_n_units.shape[0], unit_totals.shape[1]))
    if unit_totals.shape[0]:
        sums[nonempty] = np.add.reduceat(unit_totals, starts[nonempty], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        stratum_mean = sums / stratum_n_units[:, None]
    deviation = unit_totals - stratum_mean[unit_stratum]
    if lonely_psu == "adjust" and lonely.any():
        lonely_unit = lonely[unit_stratum]
        deviation[lonely_unit] = unit_totals[lonely_unit]
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(stratum_n_units > 1, fraction * stratum_n_units / (stratum_n_units - 1),
                         fraction)
    scale = np.where(fraction < CERTAINTY_FRACTION, 0.0, scale)
    if multiplier is not None:
        scale = scale * multiplier
    return np.asarray(deviation * np.sqrt(scale)[unit_stratum][:, None], dtype=np.float64)


def _crossproduct(z: FloatArray, full: bool) -> FloatArray:
    if full:
        return np.asarray(z.T @ z, dtype=np.float64)
    return np.asarray(np.einsum("pk,pk->k", z, z), dtype=np.float64)


def bincount_2d(
    major: IntArray, n_major: int, columns: IntArray, n_columns: int, weights: FloatArray | None
) -> FloatArray:
    """Return the ``(n_major, n_columns)`` table of sums of `weights` (or counts) by cell."""
    if n_columns == 1:
        flat = np.bincount(major, weights, minlength=n_major)
    else:
        flat = np.bincount(major * n_columns + columns, weights, minlength=n_major * n_columns)
    return np.asarray(flat, dtype=np.float64).reshape(n_major, n_columns)


def _calibration_coefficients(
    calibration: Calibration,
    rows: IntArray,
    columns: IntArray,
    n_columns: int,
    scores: FloatArray,
) -> FloatArray:
    """Return ``b`` of the regression of the scores on the calibration variables.

    R stores ``qr(X sqrt(d))`` and the weights ``g sqrt(d)`` and takes
    ``qr.resid(qr, x / (g sqrt(d))) * g sqrt(d)``; with ``x = w u`` that is
    ``x - w_cal X b`` with ``b = (X' D X)^- X' (x / g)``, the regression on the calibration
    variables weighted by the base weights (Deville & Särndal 1992, sec. 3). The fitted
    part's totals per unit of each stage are ``stage_basis_totals @ b``.
    """
    weighted = calibration.regression_weights[rows] * scores
    table = bincount_2d(
        calibration.unit[rows], calibration.basis.shape[0], columns, n_columns, weighted
    )
    cross = calibration.basis.T @ table
    return np.asarray(
        np.linalg.lstsq(calibration.normal_matrix, cross, rcond=None)[0], dtype=np.float64
    )
