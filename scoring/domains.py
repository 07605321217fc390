"""Domain (subpopulation) estimation of means and totals over the full design.

A domain estimate is the estimate of ``y * 1{domain}`` over the whole sample: rows outside
the domain, and rows whose ``y`` is missing, have a zero score but stay in the design, so
strata and PSUs that the domain misses still count (Lumley 2010, sec. 2.4). This is what R's
``svyby(~y, ~g, design, svymean, na.rm = TRUE)`` computes. All domains of a grouping are
estimated together: their scores are one sparse column per domain, totalled per PSU with a
single ``np.bincount``.

References
----------
.. [1] Lumley, T. (2010). *Complex Surveys*, sec. 2.4 (domains), 2.2 (design effects).
.. [2] Särndal, C.-E., Swensson, B. & Wretman, J. (1992). *Model Assisted Survey Sampling*,
   ch. 10.
.. [3] R package ``survey`` 4.1-1: ``svyby.default``, ``svymean.survey.design2``,
   ``svytotal.survey.design2``, ``svyvar.survey.design``, ``degf.survey.design2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from scoring.arrays import (
    BoolArray,
    FloatArray,
    Grouping,
    IntArray,
    as_float_vector,
    encode_groups,
    readonly,
)
from scoring.design import SurveyDesign
from scoring.variance import bincount_2d, taylor_from_scores

Statistic = Literal["mean", "total"]


@dataclass(frozen=True, eq=False)
class Domains:
    """Domains of the rows of a design.

    Attributes
    ----------
    codes : ndarray of intp, shape (n,)
        Domain of each row; -1 for rows in no domain (a missing group label).
    keys : tuple of tuple, or None
        Group labels of each domain; None for the single domain "whole population".
    """

    codes: IntArray
    keys: tuple[tuple[object, ...], ...] | None

    @property
    def n_domains(self) -> int:
        """Number of domains."""
        return 1 if self.keys is None else len(self.keys)


def domains_encode(by: Grouping | None, n_rows: int) -> Domains:
    """Return the domains given by one or several grouping arrays.

    Parameters
    ----------
    by : array_like or sequence of array_like, or None
        Group labels of each row; several arrays are crossed (e.g. ``[sex, age_group]``).
        Domains are the combinations present, sorted by label. A missing label (NaN, None)
        puts the row in no domain; it stays in the design. None gives the whole population.
    n_rows : int
        Number of rows of the design.
    """
    if by is None:
        return Domains(codes=readonly(np.zeros(n_rows, dtype=np.intp)), keys=None)
    groups = encode_groups(by, "by", n=n_rows)
    return Domains(codes=readonly(groups.codes), keys=groups.keys)


@dataclass(frozen=True, eq=False)
class DomainStatistics:
    """Point estimates, variances and counts of one statistic in each domain.

    Attributes
    ----------
    statistic : str
        ``"mean"`` or ``"total"``.
    estimate, variance : ndarray
        Estimate and Taylor-linearisation variance per domain.
    deff : ndarray
        Design effect against simple random sampling without replacement of the domain's
        ``n`` from a population of its weighted size (R ``deff = TRUE``).
    df : ndarray of intp
        Design degrees of freedom of the domain: PSUs minus strata that hold domain rows.
    n : ndarray of intp
        Respondents in the domain with a non-missing value.
    n_domain : ndarray of intp
        Respondents in the domain, including those with a missing value.
    weighted_n : ndarray
        Sum of weights of the respondents counted in `n`.
    """

    statistic: Statistic
    estimate: FloatArray
    variance: FloatArray
    deff: FloatArray
    df: IntArray
    n: IntArray
    n_domain: IntArray
    weighted_n: FloatArray


def domain_estimate(
    design: SurveyDesign,
    y: npt.ArrayLike,
    domains: Domains,
    statistic: Statistic,
) -> DomainStatistics:
    """Return the weighted mean or total of `y` in each domain, with variance and deff.

    Parameters
    ----------
    design : SurveyDesign
    y : array_like, shape (n,)
        Values; NaN marks a missing value, which drops out of the estimate (R ``na.rm``).
    domains : Domains
    statistic : {"mean", "total"}

    Notes
    -----
    For domain ``d`` with weighted size ``W_d = sum_{i in d} w_i`` and mean ``ybar_d``, the
    score of a row of ``d`` is ``(y_i - ybar_d) / W_d`` for the mean (the linearisation of
    a ratio, Binder 1983) and ``y_i`` for the total; other rows score 0. The design effect
    divides the variance by ``s^2 n/(n-1) (W - n)/(W n)`` (times ``W^2`` for a total),
    ``s^2`` the weighted variance of ``y`` in the domain (R ``svyvar``); it is NaN when
    ``W < n`` or ``n < 2``.

    References
    ----------
    Binder (1983); Lumley (2010), sec. 2.2 and 2.4; R ``survey::svymean.survey.design2``,
    ``survey::svytotal.survey.design2``, ``survey::svyby.default``.
    """
    if statistic not in ("mean", "total"):
        raise ValueError(f"statistic must be 'mean' or 'total', got {statistic!r}")
    values = as_float_vector(y, "y", n=design.n_rows, allow_nan=True)
    if domains.codes.shape[0] != design.n_rows:
        raise ValueError(
            f"domains: expected {design.n_rows} rows, got {domains.codes.shape[0]}"
        )
    k = domains.n_domains
    in_domain = domains.codes >= 0
    active = in_domain & ~np.isnan(values)
    rows = np.flatnonzero(active)
    columns = domains.codes[rows]
    y_rows = values[rows]
    w_rows = design.weights[rows]

    n = np.bincount(columns, minlength=k).astype(np.intp)
    n_domain = np.bincount(domains.codes[in_domain], minlength=k).astype(np.intp)
    weighted_n = np.bincount(columns, w_rows, minlength=k)
    weighted_sum = np.bincount(columns, w_rows * y_rows, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = weighted_sum / weighted_n
    residual = y_rows - mean[columns]
    if statistic == "mean":
        estimate = mean
        scores = residual / weighted_n[columns]
    else:
        estimate = np.where(n > 0, weighted_sum, np.nan)
        scores = y_rows
    variance = taylor_from_scores(design, rows, columns, k, scores)
    variance = np.where(n > 0, variance, np.nan)

    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = np.bincount(columns, w_rows * residual**2, minlength=k) / weighted_n
        srs = s2 * n / (n - 1) * (weighted_n - n) / (weighted_n * n)
        if statistic == "total":
            srs = srs * weighted_n**2
        deff = np.where((weighted_n >= n) & (n > 1), variance / srs, np.nan)

    return DomainStatistics(
        statistic=statistic,
        estimate=readonly(np.asarray(estimate, dtype=np.float64)),
        variance=readonly(np.asarray(variance, dtype=np.float64)),
        deff=readonly(np.asarray(deff, dtype=np.float64)),
        df=readonly(domain_degrees_of_freedom(design, domains.codes, k, in_domain)),
        n=readonly(n),
        n_domain=readonly(n_domain),
        weighted_n=readonly(np.asarray(weighted_n, dtype=np.float64)),
    )


def domain_degrees_of_freedom(
    design: SurveyDesign, codes: IntArray, n_domains: int, in_domain: BoolArray | None = None
) -> IntArray:
    """Return, per domain, PSUs minus strata that hold at least one row of the domain.

    Rows with a missing ``y`` count: R evaluates ``degf()`` on the domain subset before
    ``na.rm`` drops them.

    References
    ----------
    R ``survey::degf.survey.design2`` (applied to ``design[domain, ]`` by ``svyciprop``).
    """
    mask = codes >= 0 if in_domain is None else in_domain
    rows = np.flatnonzero(mask)
    psu_present = bincount_2d(design.psu[rows], design.n_psu, codes[rows], n_domains, None) > 0
    starts = np.concatenate(([0], np.cumsum(design.stratum_n_psu)[:-1])).astype(np.intp)
    strata_present = np.add.reduceat(psu_present.astype(np.intp), starts, axis=0) > 0
    return np.asarray(psu_present.sum(axis=0) - strata_present.sum(axis=0), dtype=np.intp)
