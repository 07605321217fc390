"""Domain (subpopulation) estimation of means, totals and ratios over the full design.

A domain estimate is the estimate of ``y * 1{domain}`` over the whole sample: rows outside
the domain, and rows whose ``y`` is missing, have a zero score but stay in the design, so
strata and PSUs that the domain misses still count (Lumley 2010, sec. 2.4). This is what R's
``svyby(~y, ~g, design, svymean, na.rm = TRUE)`` computes. All domains of a grouping are
estimated together: their scores are one sparse column per domain, totalled per PSU with a
single ``np.bincount``; with replicate weights, the replicate totals of all domains come from
one product of PSU totals and the multiplier matrix.

References
----------
.. [1] Lumley, T. (2010). *Complex Surveys*, sec. 2.4 (domains), 2.2 (design effects).
.. [2] Särndal, C.-E., Swensson, B. & Wretman, J. (1992). *Model Assisted Survey Sampling*,
   ch. 10 (domains), sec. 7.3 (ratio estimator).
.. [3] Kish, L. (1965). *Survey Sampling*, sec. 8.2 (design effect).
.. [4] R package ``survey`` 4.1-1: ``svyby.survey.design2``, ``svymean.survey.design2``,
   ``svytotal.survey.design2``, ``svyratio.survey.design2``, their ``svyrep.design``
   methods, ``svyvar``, ``degf``, ``svyglm`` (for the likelihood interval's inputs).
"""

from __future__ import annotations

import math
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
from scoring.intervals import LikelihoodProfile
from scoring.replicates import (
    ReplicateDesign,
    replicate_degrees_of_freedom,
    replicate_totals,
    replicate_variance,
)
from scoring.variance import bincount_2d, taylor_from_scores

Statistic = Literal["mean", "total", "ratio"]
AnyDesign = SurveyDesign | ReplicateDesign


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
class ReplicateSpread:
    """Replicate estimates of each domain and how to turn them into a variance.

    Attributes
    ----------
    thetas : ndarray, shape (R, k)
        Replicate estimates.
    scale : float
    rscales : ndarray, shape (R,)
    mse : bool
    """

    thetas: FloatArray
    scale: float
    rscales: FloatArray
    mse: bool


@dataclass(frozen=True, eq=False)
class DomainStatistics:
    """Point estimates, variances and counts of one statistic in each domain.

    Attributes
    ----------
    statistic : str
        ``"mean"``, ``"total"`` or ``"ratio"``.
    estimate, variance : ndarray
        Estimate and variance per domain (linearisation or replicates).
    deff : ndarray
        Design effect against simple random sampling without replacement of the domain's
        ``n`` from a population of its weighted size (R ``deff = TRUE``).
    df : ndarray of intp
        Design degrees of freedom of the domain: PSUs minus strata that hold domain rows
        (replicate designs: rank of the domain's replicate weights less one).
    n : ndarray of intp
        Respondents in the domain with a non-missing value.
    n_domain : ndarray of intp
        Respondents in the domain, including those with a missing value.
    weighted_n : ndarray
        Sum of weights of the respondents counted in `n`.
    deff_replace : ndarray
        Design effect against simple random sampling with replacement (R
        ``deff = "replace"``).
    weighted_n_domain : ndarray
        Sum of weights of the domain's respondents, including missing values.
    covariance : ndarray, shape (k, k), or None
        Covariance matrix of the domain estimates, when asked for.
    replicates : ReplicateSpread or None
        Replicate estimates, for replicate designs.
    likelihood : LikelihoodProfile or None
        Inputs of the profile-likelihood interval, when asked for (proportions).
    """

    statistic: Statistic
    estimate: FloatArray
    variance: FloatArray
    deff: FloatArray
    df: IntArray
    n: IntArray
    n_domain: IntArray
    weighted_n: FloatArray
    deff_replace: FloatArray | None = None
    weighted_n_domain: FloatArray | None = None
    covariance: FloatArray | None = None
    replicates: ReplicateSpread | None = None
    likelihood: LikelihoodProfile | None = None


def domain_estimate(
    design: AnyDesign,
    y: npt.ArrayLike,
    domains: Domains,
    statistic: Statistic,
    *,
    denominator: npt.ArrayLike | None = None,
    covariance: bool = False,
    likelihood: bool = False,
) -> DomainStatistics:
    """Return the weighted mean, total or ratio of `y` in each domain, with variance and deff.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    y : array_like, shape (n,)
        Values; NaN marks a missing value, which drops out of the estimate (R ``na.rm``).
    domains : Domains
    statistic : {"mean", "total", "ratio"}
    denominator : array_like, shape (n,), optional
        Denominator ``x`` of a ratio ``sum w y / sum w x``; rows where either is missing
        drop out.
    covariance : bool
        Also return the covariance matrix of the domain estimates (R ``svyby(...,
        covmat = TRUE)``), for contrasts between domains.
    likelihood : bool
        Also return what the profile-likelihood interval of a proportion needs.

    Notes
    -----
    For domain ``d`` with weighted size ``W_d = sum_{i in d} w_i`` and mean ``ybar_d``, the
    score of a row of ``d`` is ``(y_i - ybar_d) / W_d`` for the mean (the linearisation of
    a ratio, Binder 1983), ``y_i`` for the total and ``(y_i - R_d x_i) / X_d`` for a ratio;
    other rows score 0. The design effect divides the variance by the simple random
    sampling variance ``s^2 n/(n-1) (W - n)/(W n)`` (without replacement) or
    ``s^2 n/(n-1)/n`` (with replacement), times ``W^2`` for a total or ratio, with ``s^2``
    the weighted variance of ``y`` (of the ratio's score) in the domain (R ``svyvar``); it
    is NaN when ``W < n`` or ``n < 2``.

    References
    ----------
    Binder (1983); Lumley (2010), sec. 2.2 and 2.4; Särndal, Swensson & Wretman (1992),
    sec. 7.3; R ``survey::svymean``, ``svytotal``, ``svyratio``, ``svyby``.
    """
    if statistic not in ("mean", "total", "ratio"):
        raise ValueError(f"statistic must be 'mean', 'total' or 'ratio', got {statistic!r}")
    base = design.design if isinstance(design, ReplicateDesign) else design
    values = as_float_vector(y, "y", n=base.n_rows, allow_nan=True, copy=False)
    x_values: FloatArray | None = None
    if statistic == "ratio":
        if denominator is None:
            raise ValueError("a ratio needs a denominator")
        x_values = as_float_vector(
            denominator, "denominator", n=base.n_rows, allow_nan=True, copy=False
        )
    if domains.codes.shape[0] != base.n_rows:
        raise ValueError(f"domains: expected {base.n_rows} rows, got {domains.codes.shape[0]}")
    k = domains.n_domains
    in_domain = domains.codes >= 0
    everyone = bool(in_domain.all())
    active = in_domain & ~np.isnan(values)
    if x_values is not None:
        active &= ~np.isnan(x_values)
    if bool(active.all()):
        # Every row counts: use the columns as they are, without gathering copies.
        rows = np.arange(base.n_rows)
        columns = domains.codes
        y_rows = values
        w_rows = base.weights
        x_all: FloatArray | None = x_values
    else:
        rows = np.flatnonzero(active)
        columns = domains.codes[rows]
        y_rows = values[rows]
        w_rows = base.weights[rows]
        x_all = None if x_values is None else x_values[rows]

    n = np.bincount(columns, minlength=k).astype(np.intp)
    weighted_n = np.asarray(np.bincount(columns, w_rows, minlength=k), dtype=np.float64)
    if everyone:
        n_domain = np.bincount(domains.codes, minlength=k).astype(np.intp)
        weighted_n_domain = np.asarray(
            np.bincount(domains.codes, base.weights, minlength=k), dtype=np.float64
        )
    else:
        n_domain = np.bincount(domains.codes[in_domain], minlength=k).astype(np.intp)
        weighted_n_domain = np.asarray(
            np.bincount(domains.codes[in_domain], base.weights[in_domain], minlength=k),
            dtype=np.float64,
        )
    weighted_sum = np.bincount(columns, w_rows * y_rows, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = weighted_sum / weighted_n
    x_rows: FloatArray | None = None
    if statistic == "ratio":
        assert x_all is not None
        x_rows = x_all
        x_total = np.bincount(columns, w_rows * x_rows, minlength=k)
        with np.errstate(divide="ignore", invalid="ignore"):
            estimate = weighted_sum / x_total
            scores = (y_rows - estimate[columns] * x_rows) / x_total[columns]
        residual = scores
    elif statistic == "mean":
        estimate = mean
        residual = y_rows - mean[columns]
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = residual / weighted_n[columns]
    else:
        estimate = np.where(n > 0, weighted_sum, np.nan)
        residual = y_rows - mean[columns]
        scores = y_rows

    spread: ReplicateSpread | None = None
    cov: FloatArray | None = None
    if isinstance(design, ReplicateDesign):
        thetas = _replicate_estimates(design, rows, columns, k, y_rows, x_rows, statistic)
        spread = ReplicateSpread(thetas, design.scale, design.rscales, design.mse)
        variance = replicate_variance(thetas, estimate, design.scale, design.rscales,
                                      mse=design.mse)
        if covariance:
            cov = replicate_variance(thetas, estimate, design.scale, design.rscales,
                                     mse=design.mse, full=True)
        df = _replicate_df(design, domains, k, in_domain)
    else:
        variance = taylor_from_scores(design, rows, columns, k, scores)
        if covariance:
            cov = taylor_from_scores(design, rows, columns, k, scores, full=True, all_strata=True)
        df = domain_degrees_of_freedom(design, domains.codes, k, None if everyone else in_domain)
    variance = np.where(n > 0, variance, np.nan)

    with np.errstate(divide="ignore", invalid="ignore"):
        centred = residual
        if statistic == "ratio":
            centre = np.bincount(columns, w_rows * residual, minlength=k) / weighted_n
            centred = residual - centre[columns]
        s2 = np.bincount(columns, w_rows * centred**2, minlength=k) / weighted_n * n / (n - 1)
        if statistic != "mean":
            s2 = s2 * weighted_n**2
        srs_wor = s2 * (weighted_n - n) / (weighted_n * n)
        srs_wr = s2 / n
        valid = n > 1
        deff = np.where(valid & (weighted_n >= n), variance / srs_wor, np.nan)
        deff_replace = np.where(valid, variance / srs_wr, np.nan)

    profile: LikelihoodProfile | None = None
    if likelihood:
        profile = _likelihood_profile(
            design, base, columns, y_rows, w_rows, estimate, variance, n, weighted_n,
            weighted_n_domain, n_domain, spread, k,
            n_nonmissing=int(np.count_nonzero(~np.isnan(values))),
        )

    return DomainStatistics(
        statistic=statistic,
        estimate=readonly(np.asarray(estimate, dtype=np.float64)),
        variance=readonly(np.asarray(variance, dtype=np.float64)),
        deff=readonly(np.asarray(deff, dtype=np.float64)),
        df=readonly(np.asarray(df, dtype=np.intp)),
        n=readonly(n),
        n_domain=readonly(n_domain),
        weighted_n=readonly(np.asarray(weighted_n, dtype=np.float64)),
        deff_replace=readonly(np.asarray(deff_replace, dtype=np.float64)),
        weighted_n_domain=readonly(np.asarray(weighted_n_domain, dtype=np.float64)),
        covariance=None if cov is None else readonly(np.asarray(cov, dtype=np.float64)),
        replicates=spread,
        likelihood=profile,
    )


def _replicate_estimates(
    design: ReplicateDesign,
    rows: IntArray,
    columns: IntArray,
    k: int,
    y_rows: FloatArray,
    x_rows: FloatArray | None,
    statistic: Statistic,
) -> FloatArray:
    """Return the replicate estimates of every domain, shape (R, k)."""
    numerator = replicate_totals(design, rows, columns, k, y_rows)
    if statistic == "total":
        return numerator
    if statistic == "ratio":
        assert x_rows is not None
        denominator = replicate_totals(design, rows, columns, k, x_rows)
    else:
        denominator = replicate_totals(design, rows, columns, k, np.ones(rows.shape[0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(numerator / denominator, dtype=np.float64)


def _replicate_df(
    design: ReplicateDesign, domains: Domains, k: int, in_domain: BoolArray
) -> IntArray:
    if domains.keys is None:
        return np.full(k, design.degrees_of_freedom, dtype=np.intp)
    out = np.empty(k, dtype=np.intp)
    cache: dict[bytes, int] = {}
    psu = design.design.psu
    for j in range(k):
        mask = domains.codes == j
        key_source = (
            np.unique(psu[mask]) if design.adjustment is None
            else np.unique(design.adjustment.pair[mask])
        )
        key = key_source.tobytes()
        if key not in cache:
            cache[key] = replicate_degrees_of_freedom(design, mask)
        out[j] = cache[key]
    return out


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
    if bool(mask.all()):
        psu_present = bincount_2d(design.psu, design.n_psu, codes, n_domains, None) > 0
    else:
        rows = np.flatnonzero(mask)
        psu_present = bincount_2d(
            design.psu[rows], design.n_psu, codes[rows], n_domains, None
        ) > 0
    starts = np.concatenate(([0], np.cumsum(design.stratum_n_psu)[:-1])).astype(np.intp)
    strata_present = np.add.reduceat(psu_present.astype(np.intp), starts, axis=0) > 0
    return np.asarray(psu_present.sum(axis=0) - strata_present.sum(axis=0), dtype=np.intp)


def _likelihood_profile(
    design: AnyDesign,
    base: SurveyDesign,
    columns: IntArray,
    y_rows: FloatArray,
    w_rows: FloatArray,
    p: FloatArray,
    variance: FloatArray,
    n: IntArray,
    weighted_n: FloatArray,
    weighted_n_domain: FloatArray,
    n_domain: IntArray,
    spread: ReplicateSpread | None,
    k: int,
    *,
    n_nonmissing: int,
) -> LikelihoodProfile:
    """Return the quasi-binomial fit quantities of R's ``svyciprop(method = "likelihood")``.

    R fits ``svyglm(y ~ 1, design[domain, ], family = quasibinomial)`` with prior weights
    ``w~ = c w``, rescaled to mean 1 over the rows of the domain's design (all rows of a
    calibrated design, whose subsets keep every row with weight 0). What the profile needs
    is reproduced here, including the steps of R's ``glm.fit`` iterations: its model-based
    variance comes from the working weights of the last iteration, before the final update
    of the coefficient, and its dispersion is ``svyvar`` of ``residuals.svyglm``.

    References
    ----------
    R ``survey``: ``svyglm.survey.design``, ``summary.svyglm``, ``residuals.svyglm``,
    ``confint.svyglm``; R ``stats::glm.fit`` (IRLS, ``epsilon = 1e-8``, ``maxit = 25``).
    """
    keeps_rows = isinstance(design, SurveyDesign) and design.calibration is not None
    if keeps_rows:
        # Every row with a non-missing y is in the model frame of a calibrated subset.
        n_norm = np.full(k, float(base.n_rows))
        n_model = np.full(k, float(n_nonmissing))
    else:
        n_norm = n_domain.astype(np.float64)
        n_model = n.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = n_norm / weighted_n_domain
        prior = c[columns] * w_rows
        # glm.fit's first iteration starts from mu_i = (w~ y + 1/2) / (w~ + 1), row by row.
        mu0 = (prior * y_rows + 0.5) / (prior + 1.0)
        work0 = prior * mu0 * (1.0 - mu0)
        z0 = np.log(mu0) - np.log1p(-mu0) + (y_rows - mu0) / (mu0 * (1.0 - mu0))
        first_num = np.bincount(columns, work0 * z0, minlength=k)
        first_den = np.bincount(columns, work0, minlength=k)
        dev0 = -2.0 * np.bincount(
            columns, prior * (y_rows * np.log(mu0) + (1.0 - y_rows) * np.log1p(-mu0)),
            minlength=k,
        )
    centre = np.full(k, np.nan)
    last_work = np.full(k, np.nan)
    for j in range(k):
        fit = _glm_intercept(
            float(p[j]), float(c[j] * weighted_n[j]), float(first_num[j]),
            float(first_den[j]), float(dev0[j]),
        )
        if fit is not None:
            centre[j], last_work[j] = fit
    with np.errstate(divide="ignore", invalid="ignore"):
        fitted = 1.0 / (1.0 + np.exp(-centre))
        fitted_var = fitted * (1.0 - fitted)
        if keeps_rows:
            ratio = weighted_n / weighted_n_domain
        else:
            ratio = (n_norm / weighted_n_domain) / (n / weighted_n)
        dispersion = ratio * n / (n - 1) * p * (1.0 - p) / fitted_var
        information = c * weighted_n / dispersion
        if spread is None:
            se_logit = np.sqrt(variance) / fitted_var
        else:
            logits = np.log(spread.thetas) - np.log1p(-spread.thetas)
            se_logit = np.sqrt(replicate_variance(
                logits, centre, spread.scale, spread.rscales, mse=spread.mse
            ))
        variance_ratio = se_logit**2 * last_work
    return LikelihoodProfile(
        information=readonly(np.asarray(information, dtype=np.float64)),
        variance_ratio=readonly(np.asarray(variance_ratio, dtype=np.float64)),
        n_model=readonly(np.asarray(n_model, dtype=np.float64)),
        se_logit=readonly(np.asarray(se_logit, dtype=np.float64)),
        centre=readonly(centre),
    )


def _glm_intercept(
    p: float, prior_total: float, first_num: float, first_den: float, dev0: float
) -> tuple[float, float] | None:
    """Return R's fitted logit and the working-weight total of its last IRLS iteration.

    For ``y ~ 1`` the iterations after the first are Newton steps
    ``b + (p - mu)/(mu (1 - mu))``; they stop when the deviance changes by less than
    ``1e-8 (|dev| + 0.1)`` (R ``glm.control``).
    """
    if not 0.0 < p < 1.0 or not prior_total > 0 or not first_den > 0:
        return None

    def deviance(mu: float) -> float:
        return -2.0 * prior_total * (p * math.log(mu) + (1.0 - p) * math.log1p(-mu))

    b = first_num / first_den
    work = first_den
    dev_old = dev0
    for _ in range(25):
        mu = 1.0 / (1.0 + math.exp(-b))
        dev = deviance(mu)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < 1e-8:
            return b, work
        dev_old = dev
        work = prior_total * mu * (1.0 - mu)
        b = b + (p - mu) / (mu * (1.0 - mu))
    return b, work
