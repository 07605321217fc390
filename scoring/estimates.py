"""Public estimate functions: one result cell per domain, with interval and quality figures.

Each function estimates one variable over the whole population (``by=None``) or over the
domains of one or several grouping arrays, and returns a tuple of :class:`CellEstimate`,
sorted by domain. Every cell carries the quality figures a report needs to flag or suppress
it: unweighted and weighted counts, design effects, effective sample size, coefficient of
variation, design degrees of freedom and a reliability flag. Differences between domains
(with their covariance) and between independent samples (waves) are
:class:`ContrastEstimate` values.

The design may be a :class:`~scoring.design.SurveyDesign` (Taylor linearisation) or a
:class:`~scoring.replicates.ReplicateDesign` (replicate weights).

References
----------
.. [1] Lumley, T. (2010). *Complex Surveys*. Wiley.
.. [2] Kish, L. (1965). *Survey Sampling*. Wiley, sec. 8.2 (design effect, effective n).
.. [3] Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
   components. *Biometrics Bulletin* 2, 110-114.
.. [4] R package ``survey`` 4.1-1: ``svymean``, ``svytotal``, ``svyratio``, ``svyby``,
   ``svyciprop``, ``svycontrast``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.arrays import FloatArray, Grouping, as_float_vector, label_text
from scoring.design import SurveyDesign
from scoring.domains import AnyDesign, DomainStatistics, Statistic, domain_estimate, domains_encode
from scoring.intervals import CI_METHODS, CiMethod, ci_wald, proportion_ci, t_upper_tail
from scoring.replicates import ReplicateDesign

DEFAULT_MIN_N = 30
DEFAULT_MAX_CV = 0.30


@dataclass(frozen=True)
class CellEstimate:
    """One estimated cell: a statistic of one variable in one domain.

    Attributes
    ----------
    var : str
        Name of the variable.
    domain : tuple or None
        Group labels of the domain (one per grouping array); None for the whole population.
    estimate : float
        Weighted mean, proportion, ratio or total.
    se : float
        Standard error (Taylor linearisation or replicates).
    ci_low, ci_high : float
        Confidence interval bounds.
    df : int
        Design degrees of freedom used by the interval.
    deff : float
        Design effect against SRS without replacement (R ``deff = TRUE``).
    n : int
        Respondents with a non-missing value in the domain.
    weighted_n : float
        Their sum of weights (estimated population of the domain).
    n_eff : float
        Effective sample size ``n / deff``.
    cv : float
        Coefficient of variation ``se / |estimate|``.
    reliable : bool
        ``n >= min_n`` and ``cv <= max_cv``.
    statistic : str
        ``"mean"``, ``"proportion"``, ``"ratio"`` or ``"total"``.
    ci_method : str
        ``"mean"`` (Wald t), ``"logit"``, ``"beta"``, ``"likelihood"``, ``"asin"`` or
        ``"wilson"`` (``"wald"`` when asked for by that name).
    deff_replace : float
        Design effect against SRS with replacement (R ``deff = "replace"``).
    level : float
        Confidence level of the interval.
    """

    var: str
    domain: tuple[object, ...] | None
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    df: int
    deff: float
    n: int
    weighted_n: float
    n_eff: float
    cv: float
    reliable: bool
    statistic: str = "mean"
    ci_method: str = "wald"
    deff_replace: float = math.nan
    level: float = 0.95


def estimate_mean(
    design: AnyDesign,
    y: npt.ArrayLike,
    *,
    var: str = "y",
    by: Grouping | None = None,
    level: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
    max_cv: float = DEFAULT_MAX_CV,
) -> tuple[CellEstimate, ...]:
    """Return the weighted mean of `y` overall or per domain, with a Wald-t interval.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    y : array_like, shape (n,)
        Values; NaN is a missing value (dropped from the estimate, kept in the design).
    var : str
        Variable name copied into the cells.
    by : array_like or sequence of array_like, optional
        Grouping array(s) defining domains; see :func:`scoring.domains.domains_encode`.
    level : float
        Confidence level.
    min_n, max_cv : int, float
        Reliability thresholds: a cell is reliable when ``n >= min_n`` and ``cv <= max_cv``.

    References
    ----------
    R ``svymean(~y, design, na.rm = TRUE, deff = TRUE)``, ``svyby(..., svymean)`` and
    ``confint(..., df = degf(design))``; Lumley (2010), sec. 2.2-2.4.
    """
    stats, keys = _domain_statistics(design, y, by, "mean")
    se = np.sqrt(stats.variance)
    low, high = ci_wald(stats.estimate, se, stats.df, level)
    return _cells(stats, se, low, high, var, keys, "mean", "wald", min_n, max_cv, level)


def estimate_total(
    design: AnyDesign,
    y: npt.ArrayLike,
    *,
    var: str = "y",
    by: Grouping | None = None,
    level: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
    max_cv: float = DEFAULT_MAX_CV,
) -> tuple[CellEstimate, ...]:
    """Return the weighted total of `y` overall or per domain, with a Wald-t interval.

    Parameters are those of :func:`estimate_mean`. A domain total is the total of
    ``y * 1{domain}``; totals over the domains of a grouping add up to the overall total
    when every row has a group.

    References
    ----------
    R ``svytotal(~y, design, na.rm = TRUE, deff = TRUE)`` and ``svyby(..., svytotal)``;
    Horvitz & Thompson (1952); Lumley (2010), sec. 2.2.
    """
    stats, keys = _domain_statistics(design, y, by, "total")
    se = np.sqrt(stats.variance)
    low, high = ci_wald(stats.estimate, se, stats.df, level)
    return _cells(stats, se, low, high, var, keys, "total", "wald", min_n, max_cv, level)


def estimate_ratio(
    design: AnyDesign,
    numerator: npt.ArrayLike,
    denominator: npt.ArrayLike,
    *,
    var: str = "ratio",
    by: Grouping | None = None,
    level: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
    max_cv: float = DEFAULT_MAX_CV,
) -> tuple[CellEstimate, ...]:
    """Return the ratio of weighted totals ``sum w y / sum w x`` overall or per domain.

    The variance is that of the linearised score ``(y - R x) / X`` (replicates: the spread
    of the replicate ratios); rows where either value is missing drop out. The interval is
    Wald-t on the design degrees of freedom; the design effects are those of R's
    ``svyratio(deff = TRUE)`` (the deff of the score's total).

    References
    ----------
    R ``svyratio(~y, ~x, design, na.rm = TRUE)`` and ``svyby(..., svyratio,
    denominator = ~x)``; Särndal, Swensson & Wretman (1992), sec. 7.3.
    """
    stats, keys = _domain_statistics(design, numerator, by, "ratio", denominator=denominator)
    se = np.sqrt(stats.variance)
    low, high = ci_wald(stats.estimate, se, stats.df, level)
    return _cells(stats, se, low, high, var, keys, "ratio", "wald", min_n, max_cv, level)


def estimate_proportion(
    design: AnyDesign,
    y: npt.ArrayLike,
    *,
    var: str = "y",
    by: Grouping | None = None,
    ci: CiMethod = "logit",
    level: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
    max_cv: float = DEFAULT_MAX_CV,
) -> tuple[CellEstimate, ...]:
    """Return the weighted proportion of ``y == 1`` overall or per domain, with an interval.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    y : array_like, shape (n,)
        0/1 (or boolean) indicator; NaN is a missing value.
    var, by, level, min_n, max_cv
        As in :func:`estimate_mean`.
    ci : {"logit", "beta", "mean", "likelihood", "asin", "wilson", "wald"}
        Interval method, all with the domain's design degrees of freedom: ``logit`` is R's
        ``svyciprop(method = "xlogit")``, ``mean`` (or ``wald``) is ``method = "mean"``,
        ``beta`` is ``method = "beta"`` (Korn & Graubard 1998), ``likelihood`` and ``asin``
        are R's methods of those names, ``wilson`` is the Wilson score interval on the
        effective sample size.

    Raises
    ------
    ValueError
        If `y` holds values other than 0, 1 and NaN, or `ci` is unknown.

    Notes
    -----
    ``beta`` uses the number of rows in the domain (missing values included) as the sample
    size of the Korn-Graubard df correction, as R does for an uncalibrated design (its
    ``nrow()`` of the domain subset); for a domain of a calibrated design R uses the size of
    the whole sample instead, because subsetting keeps every row there. Where the estimate
    is 0 or 1, ``logit`` and ``asin`` give NaN bounds (as R) and ``beta`` and ``wilson`` an
    interval with design effect 1 (R gives NaN for ``beta``). A domain with no non-missing
    value has NaN estimate and standard error (R reports 0). With replicate weights the
    ``likelihood`` interval takes the standard error of the logit from the replicate logits
    (R's ``svyciprop`` gives NA there), the others use the replicate standard error.

    References
    ----------
    R ``svyciprop``, ``svyby(..., svyciprop)``; Korn & Graubard (1998); Lumley (2010),
    sec. 2.6.
    """
    if ci not in CI_METHODS:
        raise ValueError(f"ci must be one of {CI_METHODS}, got {ci!r}")
    values = proportion_values(y, var)
    stats, keys = _domain_statistics(design, values, by, "mean", likelihood=ci == "likelihood")
    se = np.sqrt(stats.variance)
    n_for_interval = stats.n if ci == "wilson" else stats.n_domain
    low, high = proportion_ci(
        ci, stats.estimate, se, stats.df, n_for_interval, level, profile=stats.likelihood
    )
    return _cells(stats, se, low, high, var, keys, "proportion", ci, min_n, max_cv, level)


def proportion_values(y: npt.ArrayLike, var: str) -> FloatArray:
    """Return `y` as floats, checking that it holds only 0, 1 and NaN."""
    values = as_float_vector(y, var, allow_nan=True)
    not_binary = ~np.isnan(values) & (values != 0.0) & (values != 1.0)
    if not_binary.any():
        row = int(np.flatnonzero(not_binary)[0])
        raise ValueError(
            f"{var}: a proportion needs 0/1 values; got {float(values[row])!r} at row {row}"
        )
    return values


@dataclass(frozen=True)
class ContrastEstimate:
    """A linear combination of domain estimates (a difference), with its interval and test.

    Attributes
    ----------
    var : str
        Name of the variable.
    label : str
        Description, e.g. ``"T2 - T1"``.
    domains : tuple
        Domains combined (their label tuples).
    coefficients : tuple of float
        Coefficient of each domain.
    estimate, se : float
        The combination and its standard error (from the covariance of the domains).
    ci_low, ci_high : float
        Wald-t interval.
    df : float
        Degrees of freedom of the t reference.
    t : float
        ``estimate / se``.
    p_value : float
        Two-sided p-value of "the combination is 0".
    level : float
        Confidence level.
    """

    var: str
    label: str
    domains: tuple[tuple[object, ...] | None, ...]
    coefficients: tuple[float, ...]
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    df: float
    t: float
    p_value: float
    level: float = 0.95


def estimate_contrast(
    design: AnyDesign,
    y: npt.ArrayLike,
    *,
    by: Grouping,
    contrast: Mapping[object, float],
    statistic: str = "mean",
    var: str = "y",
    denominator: npt.ArrayLike | None = None,
    level: float = 0.95,
    label: str | None = None,
) -> ContrastEstimate:
    """Return a linear combination of domain estimates, as R's ``svycontrast(svyby(...))``.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    y : array_like
        Values (0/1 for ``statistic="proportion"``).
    by : array_like or sequence of array_like
        Grouping defining the domains.
    contrast : mapping
        Coefficient per domain, keyed by the domain's label (or label tuple when `by` has
        several columns); e.g. ``{"T2": 1, "T1": -1}``. Other domains get 0.
    statistic : {"mean", "proportion", "total", "ratio"}
    var : str
        Variable name.
    denominator : array_like, optional
        Denominator for ``statistic="ratio"``.
    level : float
        Confidence level of the Wald-t interval, on the design degrees of freedom.
    label : str, optional
        Description; built from the contrast by default.

    Notes
    -----
    The variance is ``c' V c`` with ``V`` the covariance of the domain estimates over the
    whole design (linearisation: one call of the variance estimator on all domains'
    influence functions, as ``svyby(covmat = TRUE)``; replicates: the replicates'
    covariance).

    References
    ----------
    R ``survey``: ``svyby(..., covmat = TRUE)``, ``svycontrast``; Lumley (2010), sec. 2.4.
    """
    kind = _statistic_kind(statistic)
    values = proportion_values(y, var) if statistic == "proportion" else y
    stats, keys = _domain_statistics(
        design, values, by, kind, denominator=denominator, covariance=True
    )
    index = {_domain_key(key): j for j, key in enumerate(keys)}
    vector = np.zeros(len(keys))
    used: list[tuple[object, ...] | None] = []
    coefficients: list[float] = []
    for domain, coefficient in contrast.items():
        key = _domain_key(domain if isinstance(domain, tuple) else (domain,))
        if key not in index:
            known = ", ".join(label_text(k) for k in index)
            raise ValueError(f"contrast: no domain {label_text(domain)} (domains: {known})")
        vector[index[key]] += float(coefficient)
        used.append(keys[index[key]])
        coefficients.append(float(coefficient))
    assert stats.covariance is not None
    estimate = float(vector @ stats.estimate)
    se = math.sqrt(max(float(vector @ stats.covariance @ vector), 0.0))
    df = float(_design_df(design))
    text = label or _contrast_label(used, coefficients)
    return _contrast(var, text, tuple(used), tuple(coefficients), estimate, se, df, level)


def estimate_domain_differences(
    design: AnyDesign,
    y: npt.ArrayLike,
    *,
    by: Grouping,
    statistic: str = "mean",
    var: str = "y",
    denominator: npt.ArrayLike | None = None,
    reference: object | None = None,
    level: float = 0.95,
) -> tuple[ContrastEstimate, ...]:
    """Return differences between domains: every pair, or each domain minus `reference`.

    Each difference ``est_a - est_b`` has the standard error from the domains' covariance
    (see :func:`estimate_contrast`), a Wald-t interval and a two-sided test on the design
    degrees of freedom.

    References
    ----------
    R ``survey``: ``svyby(..., covmat = TRUE)`` then ``svycontrast``.
    """
    kind = _statistic_kind(statistic)
    values = proportion_values(y, var) if statistic == "proportion" else y
    stats, keys = _domain_statistics(
        design, values, by, kind, denominator=denominator, covariance=True
    )
    assert stats.covariance is not None
    df = float(_design_df(design))
    pairs: list[tuple[int, int]]
    if reference is None:
        pairs = [(a, b) for b in range(len(keys)) for a in range(b + 1, len(keys))]
    else:
        ref_key = _domain_key(reference if isinstance(reference, tuple) else (reference,))
        found = [j for j, key in enumerate(keys) if _domain_key(key) == ref_key]
        if not found:
            raise ValueError(f"reference: no domain {label_text(reference)}")
        pairs = [(a, found[0]) for a in range(len(keys)) if a != found[0]]
    out = []
    for a, b in pairs:
        vector = np.zeros(len(keys))
        vector[a], vector[b] = 1.0, -1.0
        estimate = float(vector @ stats.estimate)
        se = math.sqrt(max(float(vector @ stats.covariance @ vector), 0.0))
        label = f"{label_text(keys[a])} - {label_text(keys[b])}"
        out.append(_contrast(var, label, (keys[a], keys[b]), (1.0, -1.0), estimate, se, df, level))
    return tuple(out)


def estimate_difference(
    current: CellEstimate,
    previous: CellEstimate,
    *,
    level: float = 0.95,
    label: str | None = None,
) -> ContrastEstimate:
    """Return ``current - previous`` for estimates from independent samples (two waves).

    The samples are independent, so the variance is ``se_1**2 + se_2**2``; the t reference
    has the Welch-Satterthwaite degrees of freedom
    ``(v1 + v2)**2 / (v1**2/df1 + v2**2/df2)``.

    References
    ----------
    Satterthwaite (1946); Welch, B. L. (1947). *Biometrika* 34, 28-35; Kish (1965),
    sec. 12.4 (comparisons of independent samples).
    """
    v1, v2 = current.se**2, previous.se**2
    estimate = current.estimate - previous.estimate
    se = math.sqrt(v1 + v2)
    denominator = (v1**2 / current.df if current.df > 0 else math.inf) + (
        v2**2 / previous.df if previous.df > 0 else math.inf
    )
    df = (v1 + v2) ** 2 / denominator if denominator > 0 else math.inf
    if current.df <= 0 or previous.df <= 0:
        df = math.nan
    text = label or f"{current.var}: current - previous"
    return _contrast(
        current.var, text, (current.domain, previous.domain), (1.0, -1.0), estimate, se, df,
        level,
    )


def _contrast(
    var: str,
    label: str,
    domains: tuple[tuple[object, ...] | None, ...],
    coefficients: tuple[float, ...],
    estimate: float,
    se: float,
    df: float,
    level: float,
) -> ContrastEstimate:
    low, high = ci_wald(estimate, se, df, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = estimate / se if se > 0 else math.nan
    p_value = 2.0 * float(t_upper_tail(abs(t), df)) if math.isfinite(t) else math.nan
    return ContrastEstimate(
        var=var, label=label, domains=domains, coefficients=coefficients, estimate=estimate,
        se=se, ci_low=float(low), ci_high=float(high), df=df, t=t, p_value=min(p_value, 1.0),
        level=level,
    )


def _contrast_label(keys: Sequence[tuple[object, ...] | None], coefficients: Sequence[float]) -> str:
    parts = []
    for key, coefficient in zip(keys, coefficients):
        name = label_text(key if key is not None else "all")
        if coefficient == 1.0:
            parts.append(f"+ {name}")
        elif coefficient == -1.0:
            parts.append(f"- {name}")
        else:
            parts.append(f"{'+' if coefficient >= 0 else '-'} {abs(coefficient):g}*{name}")
    text = " ".join(parts)
    return text[2:] if text.startswith("+ ") else text


def _statistic_kind(statistic: str) -> Statistic:
    if statistic in ("mean", "proportion"):
        return "mean"
    if statistic == "total":
        return "total"
    if statistic == "ratio":
        return "ratio"
    raise ValueError(f"statistic must be mean, proportion, total or ratio, got {statistic!r}")


def _domain_key(key: tuple[object, ...] | None) -> tuple[str, ...]:
    if key is None:
        return ()
    return tuple(label_text(part) for part in key)


def _design_df(design: AnyDesign) -> int:
    """Return PSUs minus strata, or the rank of the replicate weights less one."""
    return design.degrees_of_freedom


def _domain_statistics(
    design: AnyDesign,
    y: npt.ArrayLike,
    by: Grouping | None,
    statistic: Statistic,
    *,
    denominator: npt.ArrayLike | None = None,
    covariance: bool = False,
    likelihood: bool = False,
) -> tuple[DomainStatistics, tuple[tuple[object, ...] | None, ...]]:
    base = design.design if isinstance(design, ReplicateDesign) else design
    assert isinstance(base, SurveyDesign)
    domains = domains_encode(by, base.n_rows)
    stats = domain_estimate(
        design, y, domains, statistic, denominator=denominator, covariance=covariance,
        likelihood=likelihood,
    )
    keys: tuple[tuple[object, ...] | None, ...] = (
        (None,) if domains.keys is None else domains.keys
    )
    return stats, keys


def _cells(
    stats: DomainStatistics,
    se: FloatArray,
    low: FloatArray,
    high: FloatArray,
    var: str,
    keys: tuple[tuple[object, ...] | None, ...],
    statistic: str,
    ci_method: str,
    min_n: int,
    max_cv: float,
    level: float,
) -> tuple[CellEstimate, ...]:
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = stats.n / stats.deff
        cv = se / np.abs(stats.estimate)
    reliable = (stats.n >= min_n) & (cv <= max_cv)
    deff_replace = (
        np.full(stats.estimate.shape[0], np.nan) if stats.deff_replace is None
        else stats.deff_replace
    )
    return tuple(
        CellEstimate(
            var=var,
            domain=keys[j],
            estimate=float(stats.estimate[j]),
            se=float(se[j]),
            ci_low=float(low[j]),
            ci_high=float(high[j]),
            df=int(stats.df[j]),
            deff=float(stats.deff[j]),
            n=int(stats.n[j]),
            weighted_n=float(stats.weighted_n[j]),
            n_eff=float(n_eff[j]),
            cv=float(cv[j]),
            reliable=bool(reliable[j]),
            statistic=statistic,
            ci_method=ci_method,
            deff_replace=float(deff_replace[j]),
            level=level,
        )
        for j in range(stats.estimate.shape[0])
    )


__all__ = [
    "DEFAULT_MAX_CV",
    "DEFAULT_MIN_N",
    "CellEstimate",
    "ContrastEstimate",
    "estimate_contrast",
    "estimate_difference",
    "estimate_domain_differences",
    "estimate_mean",
    "estimate_proportion",
    "estimate_ratio",
    "estimate_total",
    "proportion_values",
]
