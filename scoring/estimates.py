"""Public estimate functions: one result cell per domain, with interval and quality figures.

Each function estimates one variable over the whole population (``by=None``) or over the
domains of one or several grouping arrays, and returns a tuple of :class:`CellEstimate`,
sorted by domain. Every cell carries the quality figures a report needs to flag or suppress
it: unweighted and weighted counts, design effect, effective sample size, coefficient of
variation, design degrees of freedom and a reliability flag.

References
----------
.. [1] Lumley, T. (2010). *Complex Surveys*. Wiley.
.. [2] Kish, L. (1965). *Survey Sampling*. Wiley, sec. 8.2 (design effect, effective n).
.. [3] R package ``survey`` 4.1-1: ``svymean``, ``svytotal``, ``svyby``, ``svyciprop``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.arrays import FloatArray, Grouping, as_float_vector
from scoring.design import SurveyDesign
from scoring.domains import DomainStatistics, Statistic, domain_estimate, domains_encode
from scoring.intervals import CI_METHODS, CiMethod, ci_wald, proportion_ci

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
        Weighted mean, proportion or total.
    se : float
        Standard error (Taylor linearisation).
    ci_low, ci_high : float
        Confidence interval bounds.
    df : int
        Design degrees of freedom used by the interval.
    deff : float
        Design effect (against SRS without replacement).
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
        ``"mean"``, ``"proportion"`` or ``"total"``.
    ci_method : str
        ``"wald"``, ``"logit"`` or ``"beta"``.
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


def estimate_mean(
    design: SurveyDesign,
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
    design : SurveyDesign
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
    return _cells(stats, se, low, high, var, keys, "mean", "wald", min_n, max_cv)


def estimate_total(
    design: SurveyDesign,
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
    return _cells(stats, se, low, high, var, keys, "total", "wald", min_n, max_cv)


def estimate_proportion(
    design: SurveyDesign,
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
    design : SurveyDesign
    y : array_like, shape (n,)
        0/1 (or boolean) indicator; NaN is a missing value.
    var, by, level, min_n, max_cv
        As in :func:`estimate_mean`.
    ci : {"logit", "wald", "beta"}
        Interval method: ``logit`` is R's ``svyciprop(method = "xlogit")``, ``wald`` is
        ``method = "mean"``, ``beta`` is ``method = "beta"`` (Korn & Graubard 1998), all
        with the domain's design degrees of freedom.

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
    is 0 or 1, ``logit`` gives NaN bounds (as R) and ``beta`` a Korn-Graubard interval with
    design effect 1 (R gives NaN). A domain with no non-missing value has NaN estimate and
    standard error (R reports 0).

    References
    ----------
    R ``svyciprop``, ``svyby(..., svyciprop)``; Korn & Graubard (1998); Lumley (2010),
    sec. 2.6.
    """
    if ci not in CI_METHODS:
        raise ValueError(f"ci must be one of {CI_METHODS}, got {ci!r}")
    values = as_float_vector(y, var, allow_nan=True)
    not_binary = ~np.isnan(values) & (values != 0.0) & (values != 1.0)
    if not_binary.any():
        row = int(np.flatnonzero(not_binary)[0])
        raise ValueError(
            f"{var}: a proportion needs 0/1 values; got {float(values[row])!r} at row {row}"
        )
    stats, keys = _domain_statistics(design, values, by, "mean")
    se = np.sqrt(stats.variance)
    low, high = proportion_ci(ci, stats.estimate, se, stats.df, stats.n_domain, level)
    return _cells(stats, se, low, high, var, keys, "proportion", ci, min_n, max_cv)


def _domain_statistics(
    design: SurveyDesign, y: npt.ArrayLike, by: Grouping | None, statistic: Statistic
) -> tuple[DomainStatistics, tuple[tuple[object, ...] | None, ...]]:
    domains = domains_encode(by, design.n_rows)
    stats = domain_estimate(design, y, domains, statistic)
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
) -> tuple[CellEstimate, ...]:
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = stats.n / stats.deff
        cv = se / np.abs(stats.estimate)
    reliable = (stats.n >= min_n) & (cv <= max_cv)
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
        )
        for j in range(stats.estimate.shape[0])
    )
