"""Confidence intervals from an estimate, its standard error and the design degrees of freedom.

All functions are vectorised over cells: the arguments broadcast against each other, and each
returns ``(low, high)`` arrays. A cell whose degrees of freedom are not positive gets NaN
bounds, as R does for ``qt(, df = 0)``.

References
----------
.. [1] Lumley, T. (2010). *Complex Surveys*, sec. 2.6 (intervals with design df).
.. [2] Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small
   expected number of positive counts estimated from survey data. *Survey Methodology* 24,
   193-201.
.. [3] R package ``survey`` 4.1-1: ``svyciprop`` (methods ``"xlogit"``, ``"mean"``,
   ``"beta"``), ``confint.svystat``/``tconfint``.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
from scipy import special  # type: ignore[import-untyped, unused-ignore]

from scoring.arrays import FloatArray

CiMethod = Literal["logit", "wald", "beta"]
CI_METHODS: tuple[str, ...] = get_args(CiMethod)


def t_quantile(level: float, df: npt.ArrayLike) -> FloatArray:
    """Return the two-sided ``level`` quantile of Student's t, ``qt(1 - (1-level)/2, df)``.

    ``df = inf`` gives the normal quantile; ``df <= 0`` gives NaN.
    """
    _check_level(level)
    dfs = np.asarray(df, dtype=np.float64)
    upper = 1.0 - (1.0 - level) / 2.0
    with np.errstate(invalid="ignore"):
        q = np.where(
            np.isinf(dfs),
            special.ndtri(upper),
            special.stdtrit(np.where(dfs > 0, dfs, np.nan), upper),
        )
    return np.asarray(q, dtype=np.float64)


def ci_wald(
    estimate: npt.ArrayLike, se: npt.ArrayLike, df: npt.ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Return the Wald interval ``estimate -/+ t(df) * se``.

    For a proportion this is R's ``svyciprop(method = "mean")``; for a mean or total it is
    ``confint(stat, df = degf(design))``. The bounds are not truncated to [0, 1].

    References
    ----------
    Lumley (2010), sec. 2.6; R ``survey::tconfint``.
    """
    est = np.asarray(estimate, dtype=np.float64)
    half = t_quantile(level, df) * np.asarray(se, dtype=np.float64)
    return np.asarray(est - half, dtype=np.float64), np.asarray(est + half, dtype=np.float64)


def proportion_ci_logit(
    p: npt.ArrayLike, se: npt.ArrayLike, df: npt.ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Return the logit interval: a Wald interval on the logit scale, mapped back.

    ``expit(logit(p) -/+ t(df) * se / (p (1 - p)))``, the delta-method standard error of
    ``logit(p)``. This is R's ``svyciprop(method = "xlogit")``. The interval lies inside
    (0, 1) and contains ``p``; it is undefined (NaN) when ``p`` is 0 or 1.

    References
    ----------
    R ``survey::svyciprop`` (``"xlogit"``: ``svycontrast(m, quote(log(`1`/(1 - `1`))))``);
    Lumley (2010), sec. 2.6.
    """
    prop = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_logit = np.asarray(se, dtype=np.float64) / (prop * (1.0 - prop))
        centre = special.logit(prop)
        half = t_quantile(level, df) * se_logit
        low = special.expit(centre - half)
        high = special.expit(centre + half)
    degenerate = (prop <= 0.0) | (prop >= 1.0)
    low = np.where(degenerate, np.nan, low)
    high = np.where(degenerate, np.nan, high)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def proportion_ci_beta(
    p: npt.ArrayLike,
    se: npt.ArrayLike,
    df: npt.ArrayLike,
    n: npt.ArrayLike,
    level: float = 0.95,
) -> tuple[FloatArray, FloatArray]:
    """Return the Korn-Graubard interval: Clopper-Pearson on the effective sample size.

    With ``n* = p (1 - p) / se**2 * (t(n - 1) / t(df))**2`` (t quantiles at ``(1-level)/2``),
    the bounds are ``qbeta(a/2, n* p, n* (1 - p) + 1)`` and
    ``qbeta(1 - a/2, n* p + 1, n* (1 - p))``, as R's ``svyciprop(method = "beta")``.

    Where ``p`` is 0 or 1 the variance is 0 and R returns NaN; here, following Korn &
    Graubard (1998), the design effect is taken as 1, i.e. ``n* = n (t(n-1)/t(df))**2``,
    which gives a one-sided Clopper-Pearson bound. Where ``se`` is 0 but ``0 < p < 1`` the
    interval is the point ``[p, p]``.

    Parameters
    ----------
    p, se, df : array_like
        Estimate, standard error and design degrees of freedom.
    n : array_like
        Number of sampled rows behind the estimate (R: ``nrow()`` of the domain's design).
    level : float
        Confidence level.

    References
    ----------
    Korn & Graubard (1998), eq. (2.2)-(2.4); R ``survey::svyciprop``.
    """
    _check_level(level)
    prop = np.asarray(p, dtype=np.float64)
    var = np.asarray(se, dtype=np.float64) ** 2
    alpha = 1.0 - level
    n_rows = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = t_quantile(1.0 - alpha, n_rows - 1.0) / t_quantile(1.0 - alpha, df)
        boundary = (prop <= 0.0) | (prop >= 1.0)
        n_eff = np.where(boundary, n_rows, prop * (1.0 - prop) / var) * ratio**2
        low = special.betaincinv(n_eff * prop, n_eff * (1.0 - prop) + 1.0, alpha / 2.0)
        high = special.betaincinv(n_eff * prop + 1.0, n_eff * (1.0 - prop), 1.0 - alpha / 2.0)
    low = np.where(prop <= 0.0, 0.0, low)
    high = np.where(prop >= 1.0, 1.0, high)
    point = (var == 0.0) & ~boundary
    low = np.where(point, prop, low)
    high = np.where(point, prop, high)
    invalid = np.isnan(prop) | np.isnan(ratio)
    low = np.where(invalid, np.nan, low)
    high = np.where(invalid, np.nan, high)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def proportion_ci(
    method: CiMethod,
    p: npt.ArrayLike,
    se: npt.ArrayLike,
    df: npt.ArrayLike,
    n: npt.ArrayLike,
    level: float = 0.95,
) -> tuple[FloatArray, FloatArray]:
    """Return the interval of a proportion by `method`: ``logit``, ``wald`` or ``beta``.

    ``n`` is used only by ``beta``. See :func:`proportion_ci_logit`, :func:`ci_wald` and
    :func:`proportion_ci_beta`.
    """
    if method == "logit":
        return proportion_ci_logit(p, se, df, level)
    if method == "wald":
        return ci_wald(p, se, df, level)
    if method == "beta":
        return proportion_ci_beta(p, se, df, n, level)
    raise ValueError(f"ci must be one of {CI_METHODS}, got {method!r}")


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
