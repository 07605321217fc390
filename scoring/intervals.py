"""Confidence intervals from an estimate, its standard error and the design degrees of freedom.

All functions are vectorised over cells: the arguments broadcast against each other, and each
returns ``(low, high)`` arrays. A cell whose degrees of freedom are not positive gets NaN
bounds, as R does for ``qt(, df = 0)``.

The quantiles of Student's t are computed here (a safeguarded Newton iteration on the
regularised incomplete beta function, Cornish-Fisher for very large df) rather than with
``scipy.special``: importing SciPy costs the command line most of a second, and the t
quantile is needed by every interval. SciPy is imported only by the Korn-Graubard (beta)
and likelihood intervals.

References
----------
.. [1] Lumley, T. (2010). *Complex Surveys*, sec. 2.6 (intervals with design df).
.. [2] Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small
   expected number of positive counts estimated from survey data. *Survey Methodology* 24,
   193-201.
.. [3] Kott, P. S. & Carr, D. A. (1997). Developing an estimation strategy for a pesticide data
   program. *Journal of Official Statistics* 13, 367-383 (Wilson interval on the effective
   sample size).
.. [4] Press, W. H. et al. (2007). *Numerical Recipes*, 3rd ed., sec. 6.4 (incomplete beta
   by continued fraction) and 9.4 (safeguarded Newton).
.. [5] Abramowitz, M. & Stegun, I. A. (1964). *Handbook of Mathematical Functions*, 26.7.5
   (Cornish-Fisher expansion of the t quantile).
.. [6] R package ``survey`` 4.1-1: ``svyciprop`` (methods ``"xlogit"``, ``"mean"``,
   ``"beta"``, ``"asin"``, ``"likelihood"``), ``confint.svyglm``, ``MASSprofile_glm``,
   ``confint_profile``; R ``stats::spline`` (method ``"fmm"``) and ``stats::approx``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from scoring.arrays import FloatArray

CiMethod = Literal["logit", "beta", "mean", "likelihood", "asin", "wilson", "wald"]
#: Interval methods for proportions; ``"wald"`` is the earlier name of ``"mean"``.
CI_METHODS: tuple[str, ...] = get_args(CiMethod)

# Above this many degrees of freedom the Cornish-Fisher series (error O(df**-5)) is used.
_CORNISH_FISHER_DF = 2000.0
_NORMAL = NormalDist()


def t_quantile(level: float, df: npt.ArrayLike) -> FloatArray:
    """Return the two-sided ``level`` quantile of Student's t, ``qt(1 - (1-level)/2, df)``.

    ``df = inf`` gives the normal quantile; ``df <= 0`` (or NaN) gives NaN.
    """
    _check_level(level)
    return t_upper_quantile((1.0 - level) / 2.0, df)


def t_upper_quantile(upper_tail: float, df: npt.ArrayLike) -> FloatArray:
    """Return ``t`` with ``P(T > t) = upper_tail`` for Student's t with `df` degrees of freedom.

    ``upper_tail`` must lie in (0, 0.5]. Vectorised over `df`; each distinct df is computed
    once.
    """
    if not 0.0 < upper_tail <= 0.5:
        raise ValueError(f"upper_tail must be in (0, 0.5], got {upper_tail!r}")
    dfs = np.asarray(df, dtype=np.float64)
    flat = dfs.reshape(-1)
    out = np.empty(flat.shape[0])
    if flat.size:
        uniques, inverse = np.unique(flat, return_inverse=True)
        values = np.array([_t_upper_quantile_scalar(upper_tail, float(v)) for v in uniques])
        out = values[inverse.reshape(-1)]
    return np.asarray(out.reshape(dfs.shape), dtype=np.float64)


@lru_cache(maxsize=4096)
def _t_upper_quantile_scalar(q: float, df: float) -> float:
    if math.isnan(df) or df <= 0:
        return math.nan
    z = -_NORMAL.inv_cdf(q)
    if math.isinf(df):
        return z
    if q == 0.5:
        return 0.0
    if df == 1.0:
        return 1.0 / math.tan(math.pi * q)
    if df == 2.0:
        return (1.0 - 2.0 * q) / math.sqrt(2.0 * q * (1.0 - q))
    if df >= _CORNISH_FISHER_DF:
        return _t_cornish_fisher(z, df)
    return _t_newton(q, df, z)


def _t_cornish_fisher(z: float, df: float) -> float:
    """Return the t quantile from the normal quantile by the Cornish-Fisher series."""
    z2 = z * z
    g1 = (z2 + 1.0) * z / 4.0
    g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0
    g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0
    g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def _t_upper_tail(t: float, df: float) -> float:
    """Return ``P(T > t)`` for ``t >= 0``: half the regularised incomplete beta function."""
    t2 = t * t
    x = df / (df + t2)
    if x < (df / 2.0 + 1.0) / (df / 2.0 + 2.5):
        return 0.5 * _betainc_cf(df / 2.0, 0.5, x, t2 / (df + t2))
    # I_x(a, b) = 1 - I_{1-x}(b, a); the complement is small here, so no precision is lost.
    return 0.5 * (1.0 - _betainc_cf(0.5, df / 2.0, t2 / (df + t2), x))


def _log_gamma_ratio_half(a: float) -> float:
    """Return ``log(Gamma(a + 1/2) / Gamma(a))`` without the cancellation of two lgamma calls.

    For large ``a`` the difference of Stirling's series is used (Abramowitz & Stegun 6.1.41).
    """
    if a < 20.0:
        return math.lgamma(a + 0.5) - math.lgamma(a)

    def series(z: float) -> float:
        z2 = z * z
        return (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * z2)) / z2) / z2) / z

    return 0.5 * math.log(a) + (a * math.log1p(0.5 / a) - 0.5) + series(a + 0.5) - series(a)


def _log_beta_half(a: float, b: float) -> float:
    """Return ``log B(a, b)`` where one of `a`, `b` is 1/2 (the case of Student's t)."""
    other = b if a == 0.5 else a
    return math.lgamma(0.5) - _log_gamma_ratio_half(other)


def _betainc_cf(a: float, b: float, x: float, one_minus_x: float) -> float:
    """Return ``I_x(a, b)`` by the continued fraction (modified Lentz), for small enough x."""
    if x <= 0.0:
        return 0.0
    log_front = a * math.log(x) + b * math.log(one_minus_x) - _log_beta_half(a, b)
    tiny = 1e-300
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        numerator = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2))
        d = 1.0 + numerator * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + numerator / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        numerator = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0))
        d = 1.0 + numerator * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + numerator / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-16:
            break
    return math.exp(log_front) * h / a


def _t_density(t: float, df: float) -> float:
    log_norm = _log_gamma_ratio_half(df / 2.0) - 0.5 * math.log(df * math.pi)
    return math.exp(log_norm - (df + 1.0) / 2.0 * math.log1p(t * t / df))


def _t_newton(q: float, df: float, z: float) -> float:
    """Return the t quantile by Newton steps on the upper tail, kept inside a bracket."""
    low, high = 0.0, max(1.0, _t_cornish_fisher(z, df))
    while _t_upper_tail(high, df) > q:
        low, high = high, 2.0 * high
    t = min(max(_t_cornish_fisher(z, df), low), high)
    for _ in range(200):
        tail = _t_upper_tail(t, df)
        if tail > q:
            low = t
        else:
            high = t
        step = (tail - q) / _t_density(t, df)
        candidate = t + step
        if not low < candidate < high:
            candidate = 0.5 * (low + high)
        if abs(candidate - t) <= 1e-15 * max(abs(candidate), 1.0):
            return candidate
        t = candidate
    return t


def t_upper_tail(t: float, df: float) -> float:
    """Return ``P(T > t)`` for Student's t with `df` degrees of freedom (normal for inf)."""
    if math.isnan(t) or math.isnan(df) or df <= 0:
        return math.nan
    if math.isinf(df):
        return 0.5 * math.erfc(t / math.sqrt(2.0))
    if t < 0:
        return 1.0 - _t_upper_tail(-t, df)
    if math.isinf(t):
        return 0.0
    return _t_upper_tail(t, df)


def normal_quantile(p: float) -> float:
    """Return the standard normal quantile (Wichura's AS 241, via :mod:`statistics`)."""
    return _NORMAL.inv_cdf(p)


def ci_wald(
    estimate: npt.ArrayLike, se: npt.ArrayLike, df: npt.ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Return the Wald interval ``estimate -/+ t(df) * se``.

    For a proportion this is R's ``svyciprop(method = "mean")``; for a mean, ratio or total
    it is ``confint(stat, df = degf(design))``. The bounds are not truncated to [0, 1].

    References
    ----------
    Lumley (2010), sec. 2.6; R ``survey::tconfint``.
    """
    est = np.asarray(estimate, dtype=np.float64)
    half = t_quantile(level, df) * np.asarray(se, dtype=np.float64)
    return np.asarray(est - half, dtype=np.float64), np.asarray(est + half, dtype=np.float64)


def _logit(p: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.log(p) - np.log1p(-p), dtype=np.float64)


def _expit(x: FloatArray) -> FloatArray:
    with np.errstate(over="ignore"):
        return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def proportion_ci_logit(
    p: npt.ArrayLike, se: npt.ArrayLike, df: npt.ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Return the logit interval: a Wald interval on the logit scale, mapped back.

    ``expit(logit(p) -/+ t(df) * se / (p (1 - p)))``, the delta-method standard error of
    ``logit(p)``. This is R's ``svyciprop(method = "xlogit")`` (and, for a linearised
    design, also ``method = "logit"``). The interval lies inside (0, 1) and contains ``p``;
    it is undefined (NaN) when ``p`` is 0 or 1.

    References
    ----------
    R ``survey::svyciprop`` (``"xlogit"``: ``svycontrast(m, quote(log(`1`/(1 - `1`))))``);
    Lumley (2010), sec. 2.6.
    """
    prop = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_logit = np.asarray(se, dtype=np.float64) / (prop * (1.0 - prop))
        centre = _logit(prop)
        half = t_quantile(level, df) * se_logit
        low = _expit(centre - half)
        high = _expit(centre + half)
    degenerate = (prop <= 0.0) | (prop >= 1.0)
    low = np.where(degenerate, np.nan, low)
    high = np.where(degenerate, np.nan, high)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def proportion_ci_asin(
    p: npt.ArrayLike, se: npt.ArrayLike, df: npt.ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Return the arcsine interval: a Wald interval on the ``asin(sqrt(p))`` scale.

    ``sin(asin(sqrt(p)) -/+ t(df) * se / (2 sqrt(p (1 - p))))**2``, as R's
    ``svyciprop(method = "asin")``. Where the transformed bounds leave ``[0, pi/2]`` they
    are clipped to it, so the interval stays in [0, 1] and contains ``p`` (R maps a
    negative bound through ``sin(.)**2`` unclipped, which can put the lower bound above
    the estimate). Undefined (NaN) when ``p`` is 0 or 1.

    References
    ----------
    R ``survey::svyciprop`` (``svycontrast(m, quote(asin(sqrt(`1`))))``).
    """
    prop = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.arcsin(np.sqrt(prop))
        se_asin = np.asarray(se, dtype=np.float64) / (2.0 * np.sqrt(prop * (1.0 - prop)))
        half = t_quantile(level, df) * se_asin
        low = np.sin(np.clip(centre - half, 0.0, np.pi / 2.0)) ** 2
        high = np.sin(np.clip(centre + half, 0.0, np.pi / 2.0)) ** 2
    degenerate = (prop <= 0.0) | (prop >= 1.0) | np.isnan(half)
    low = np.where(degenerate, np.nan, low)
    high = np.where(degenerate, np.nan, high)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def proportion_ci_wilson(
    p: npt.ArrayLike,
    se: npt.ArrayLike,
    df: npt.ArrayLike,
    n: npt.ArrayLike,
    level: float = 0.95,
) -> tuple[FloatArray, FloatArray]:
    """Return the Wilson score interval on the effective sample size.

    With ``n* = p (1 - p) / se**2`` (Kish's effective sample size of the proportion) and
    ``z = t(df)``, the bounds are ``(p + z²/(2n*) -/+ z sqrt(p(1-p)/n* + z²/(4n*²))) /
    (1 + z²/n*)``. Where ``p`` is 0 or 1 (no variance) the design effect is taken as 1,
    ``n* = n``, as for the Korn-Graubard interval. R ``survey`` has no Wilson interval; the
    reference numbers apply this formula to R's estimate, standard error and df.

    References
    ----------
    Wilson, E. B. (1927). *JASA* 22, 209-212; Kott & Carr (1997).
    """
    prop = np.asarray(p, dtype=np.float64)
    var = np.asarray(se, dtype=np.float64) ** 2
    n_rows = np.asarray(n, dtype=np.float64)
    z = t_quantile(level, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        boundary = (prop <= 0.0) | (prop >= 1.0) | (var <= 0.0)
        n_eff = np.where(boundary, n_rows, prop * (1.0 - prop) / var)
        z2n = z * z / n_eff
        denominator = 1.0 + z2n
        centre = (prop + z2n / 2.0) / denominator
        half = z / denominator * np.sqrt(prop * (1.0 - prop) / n_eff + z2n / (4.0 * n_eff))
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    low = np.where(prop <= 0.0, 0.0, np.minimum(low, prop))
    high = np.where(prop >= 1.0, 1.0, np.maximum(high, prop))
    invalid = np.isnan(prop) | np.isnan(z) | np.isnan(n_eff)
    low = np.where(invalid, np.nan, low)
    high = np.where(invalid, np.nan, high)
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
    from scipy import special  # type: ignore[import-untyped, unused-ignore]

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


@dataclass(frozen=True, eq=False)
class LikelihoodProfile:
    """What the profile-likelihood interval of a proportion needs besides ``p`` and its SE.

    R fits ``svyglm(y ~ 1, family = quasibinomial)`` with the weights rescaled to mean 1
    and profiles the quasi-deviance of the intercept. For an intercept-only model that
    deviance is ``2 kappa (p log(p/mu) + (1-p) log((1-p)/(1-mu)))`` divided by the
    dispersion, so three numbers per cell describe the profile.

    Attributes
    ----------
    information : array_like
        ``kappa = c W / phi``: the rescaled weight total of the fitted rows (``c`` is the
        rescaling factor, ``W`` their weight total) over the estimated dispersion ``phi``
        (``svyvar`` of R's ``residuals.svyglm``).
    variance_ratio : array_like
        ``lambda``: design-based over model-based variance of the intercept.
    n_model : array_like
        Rows of the model frame (non-missing ``y``), for the F quantile of the profile range.
    se_logit : array_like
        Design-based standard error of ``logit(p)`` (the step of the profile grid).
    centre : array_like, optional
        The fitted logit at the centre of the grid (R's IRLS estimate); ``logit(p)`` when
        omitted.
    """

    information: npt.ArrayLike
    variance_ratio: npt.ArrayLike
    n_model: npt.ArrayLike
    se_logit: npt.ArrayLike
    centre: npt.ArrayLike | None = None


def proportion_ci_likelihood(
    p: npt.ArrayLike,
    df: npt.ArrayLike,
    profile: LikelihoodProfile,
    level: float = 0.95,
) -> tuple[FloatArray, FloatArray]:
    """Return the profile-likelihood interval, computed as R's ``svyciprop(method = "likelihood")``.

    R's ``confint.svyglm(method = "likelihood")`` rescales the tail probability by the
    design effect of the intercept, ``alpha* = pnorm(qt((1-level)/2, df) sqrt(lambda)) / 2``,
    evaluates the signed root of the quasi-deviance on a grid of up to 9 steps of
    ``zmax/5`` standard errors each side of the estimate (``zmax`` from the F quantile of
    ``alpha*``), fits an FMM cubic spline to the grid (3 points per grid point), and
    interpolates linearly where the spline reaches ``-/+ qnorm(alpha*)``. The same steps
    are taken here, so the bounds are R's, not the exact roots of the profile (they agree
    to about 1e-4). NaN where ``p`` is 0 or 1 or the grid does not reach the cut-off.

    Parameters
    ----------
    p : array_like
        Estimates.
    df : array_like
        Design degrees of freedom.
    profile : LikelihoodProfile
        Per-cell quantities of the quasi-binomial fit.
    level : float
        Confidence level.

    References
    ----------
    Venables, W. N. & Ripley, B. D. (2002). *Modern Applied Statistics with S*, sec. 8.4
    (profile of a GLM); Rao, J. N. K. & Scott, A. J. (1984), *Ann. Statist.* 12, 46-60
    (design-effect rescaling); R ``survey``: ``svyciprop``, ``confint.svyglm``,
    ``MASSprofile_glm``, ``confint_profile``; R ``stats``: ``spline``, ``approx``.
    """
    _check_level(level)
    prop_array = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        default_centre = np.log(prop_array) - np.log1p(-prop_array)
    arrays = np.broadcast_arrays(
        prop_array,
        np.asarray(df, dtype=np.float64),
        np.asarray(profile.information, dtype=np.float64),
        np.asarray(profile.variance_ratio, dtype=np.float64),
        np.asarray(profile.n_model, dtype=np.float64),
        np.asarray(profile.se_logit, dtype=np.float64),
        default_centre if profile.centre is None else np.asarray(profile.centre, dtype=np.float64),
    )
    shape = arrays[0].shape
    flat = [np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays]
    low = np.full(flat[0].shape[0], np.nan)
    high = np.full(flat[0].shape[0], np.nan)
    for j in range(flat[0].shape[0]):
        prop, dfj, kappa, lam, n_model, se_logit, centre = (float(a[j]) for a in flat)
        bounds = _likelihood_bounds(prop, dfj, kappa, lam, n_model, se_logit, centre, level)
        if bounds is not None:
            low[j], high[j] = bounds
    return low.reshape(shape), high.reshape(shape)


def _likelihood_bounds(
    prop: float,
    df: float,
    kappa: float,
    lam: float,
    n_model: float,
    se_logit: float,
    centre: float,
    level: float,
) -> tuple[float, float] | None:
    if not 0.0 < prop < 1.0 or not df > 0 or not n_model >= 2 or not math.isfinite(centre):
        return None
    if not all(math.isfinite(v) and v > 0 for v in (kappa, lam, se_logit)):
        return None
    half_alpha = (1.0 - level) / 2.0
    quantile = -_t_upper_quantile_scalar(half_alpha, df)
    alpha = 0.5 * 0.5 * math.erfc(-quantile * math.sqrt(lam) / math.sqrt(2.0))
    if not 0.0 < alpha < 0.5:
        return None
    # zmax = sqrt(qf(alpha, 1, n - 1, lower = FALSE)) = the upper alpha/2 quantile of t(n - 1).
    zmax = _t_upper_quantile_scalar(alpha / 2.0, n_model - 1.0)
    step_size = zmax / 5.0
    fitted = 1.0 / (1.0 + math.exp(-centre))

    def signed_root(b: float, sign: float) -> float:
        mu = 1.0 / (1.0 + math.exp(-b))
        deviance = 2.0 * kappa * (
            prop * (math.log(fitted) - math.log(mu))
            + (1.0 - prop) * (math.log1p(-fitted) - math.log1p(-mu))
        )
        if deviance < -0.001:
            raise _BetterFit
        return sign * math.sqrt(max(deviance, 0.0))

    grid_x = [centre]
    grid_z = [0.0]
    for sign in (-1.0, 1.0):
        step = 0
        z = 0.0
        while True:
            step += 1
            if step >= 10 or abs(z) >= zmax:
                break
            b = centre + sign * step * step_size * se_logit
            try:
                z = signed_root(b, sign)
            except _BetterFit:
                # R stops: "profiling has found a better solution".
                return None
            grid_x.append(b)
            grid_z.append(z)
    order = sorted(range(len(grid_z)), key=lambda i: grid_z[i])
    xs = np.array([grid_x[i] for i in order])
    zs = np.array([grid_z[i] for i in order])
    spline_x, spline_z = _spline_fmm(xs, zs)
    # R's confint_profile cuts the profile at qnorm(2 alpha*) and qnorm(2 alpha*, lower = FALSE).
    cut = -normal_quantile(2.0 * alpha)
    low = _approx(spline_z, spline_x, -cut)
    high = _approx(spline_z, spline_x, cut)
    if math.isnan(low) or math.isnan(high):
        return None
    return 1.0 / (1.0 + math.exp(-low)), 1.0 / (1.0 + math.exp(-high))


class _BetterFit(Exception):
    """The profile found a lower deviance than the fit (R stops with an error)."""


def _regularize(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return `x` sorted with duplicates collapsed to the mean `y` (R ``regularize.values``)."""
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    uniques, start = np.unique(xs, return_index=True)
    if uniques.shape[0] == xs.shape[0]:
        return xs, ys
    sums = np.add.reduceat(ys, start)
    counts = np.diff(np.append(start, xs.shape[0]))
    return uniques, sums / counts


def _spline_fmm(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return R's ``spline(x, y)``: the FMM cubic spline at ``3 * length(x)`` even points.

    References
    ----------
    Forsythe, G. E., Malcolm, M. A. & Moler, C. B. (1977). *Computer Methods for
    Mathematical Computations*, sec. 4.4; R ``stats``: ``spline``, C ``fmm_spline`` and
    ``spline_eval``.
    """
    x, y = _regularize(x, y)
    n = x.shape[0]
    b = np.zeros(n)
    c = np.zeros(n)
    d = np.zeros(n)
    if n < 2:
        return x, y
    if n < 3:
        slope = (y[1] - y[0]) / (x[1] - x[0])
        b[:] = slope
    else:
        nm1 = n - 1
        d[0] = x[1] - x[0]
        c[1] = (y[1] - y[0]) / d[0]
        for i in range(1, nm1):
            d[i] = x[i + 1] - x[i]
            b[i] = 2.0 * (d[i - 1] + d[i])
            c[i + 1] = (y[i + 1] - y[i]) / d[i]
            c[i] = c[i + 1] - c[i]
        b[0] = -d[0]
        b[nm1] = -d[n - 2]
        c[0] = 0.0
        c[nm1] = 0.0
        if n > 3:
            c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
            c[nm1] = c[n - 2] / (x[nm1] - x[n - 3]) - c[n - 3] / (x[n - 2] - x[n - 4])
            c[0] = c[0] * d[0] * d[0] / (x[3] - x[0])
            c[nm1] = -c[nm1] * d[n - 2] * d[n - 2] / (x[nm1] - x[n - 4])
        for i in range(1, n):
            t = d[i - 1] / b[i - 1]
            b[i] = b[i] - t * d[i - 1]
            c[i] = c[i] - t * c[i - 1]
        c[nm1] = c[nm1] / b[nm1]
        for i in range(n - 2, -1, -1):
            c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
        b[nm1] = (y[nm1] - y[n - 2]) / d[n - 2] + d[n - 2] * (c[n - 2] + 2.0 * c[nm1])
        for i in range(nm1):
            b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i])
            d[i] = (c[i + 1] - c[i]) / d[i]
            c[i] = 3.0 * c[i]
        c[nm1] = 3.0 * c[nm1]
        d[nm1] = d[n - 2]
    n_out = 3 * n
    by = (x[-1] - x[0]) / (n_out - 1)
    u = x[0] + np.arange(n_out) * by
    u[-1] = x[-1]
    index = np.clip(np.searchsorted(x, u, side="right") - 1, 0, n - 1)
    dx = u - x[index]
    v = y[index] + dx * (b[index] + dx * (c[index] + dx * d[index]))
    return u, np.asarray(v, dtype=np.float64)


def _approx(x: FloatArray, y: FloatArray, at: float) -> float:
    """Return R's ``approx(x, y, xout = at)$y``: linear interpolation, NA outside the range."""
    xs, ys = _regularize(x, y)
    if not xs[0] <= at <= xs[-1]:
        return math.nan
    j = int(np.searchsorted(xs, at, side="left"))
    if xs[j] == at:
        return float(ys[j])
    i = j - 1
    return float(ys[i] + (ys[j] - ys[i]) * ((at - xs[i]) / (xs[j] - xs[i])))


def proportion_ci(
    method: CiMethod,
    p: npt.ArrayLike,
    se: npt.ArrayLike,
    df: npt.ArrayLike,
    n: npt.ArrayLike,
    level: float = 0.95,
    *,
    profile: LikelihoodProfile | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Return the interval of a proportion by `method`.

    ``logit`` (R ``"xlogit"``), ``mean`` or its alias ``wald`` (R ``"mean"``), ``beta``
    (Korn-Graubard), ``asin``, ``wilson`` (on the effective sample size) and
    ``likelihood`` (which needs `profile`). ``n`` is used by ``beta`` and ``wilson``.
    See the ``proportion_ci_*`` functions and :func:`ci_wald`.
    """
    if method == "logit":
        return proportion_ci_logit(p, se, df, level)
    if method in ("mean", "wald"):
        return ci_wald(p, se, df, level)
    if method == "beta":
        return proportion_ci_beta(p, se, df, n, level)
    if method == "asin":
        return proportion_ci_asin(p, se, df, level)
    if method == "wilson":
        return proportion_ci_wilson(p, se, df, n, level)
    if method == "likelihood":
        if profile is None:
            raise ValueError("ci='likelihood' needs the quasi-binomial profile of each cell")
        return proportion_ci_likelihood(p, df, profile, level)
    raise ValueError(f"ci must be one of {CI_METHODS}, got {method!r}")


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
