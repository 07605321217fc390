"""Replicate-weight designs: jackknife (JK1, JKn), BRR, Fay-BRR, bootstrap, given multipliers.

A replicate design multiplies the base weight of every respondent of PSU ``p`` by a
multiplier ``m_pr`` in each replicate ``r``; the variance of an estimator is the spread of
its replicate values, ``scale * sum_r rscale_r (theta_r - centre)**2`` with the centre the
mean of the replicates (or the full-sample estimate with ``mse``), as R's ``svrVar``.
Calibration and trimming are redone on every replicate (R ``calibrate.svyrep.design``), so
replicate weights are ``d * m_r * g_r`` with the replicate's own adjustment ``g_r``.

Multipliers are kept per PSU (and adjustments per calibration cell) rather than as an
``n x R`` matrix: replicate totals are PSU totals times the multiplier matrix, which keeps
large samples cheap.

References
----------
.. [1] Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer,
   ch. 3 (BRR), 4 (jackknife), 5 (bootstrap).
.. [2] Judkins, D. R. (1990). Fay's method for variance estimation. *Journal of Official
   Statistics* 6, 223-239.
.. [3] Canty, A. J. & Davison, A. C. (1999). Resampling-based variance estimation for
   labour force surveys. *The Statistician* 48, 379-391.
.. [4] Rao, J. N. K. & Wu, C. F. J. (1988). Resampling inference with complex survey data.
   *JASA* 83, 231-241.
.. [5] Lumley, T. (2010). *Complex Surveys*, sec. 2.5 and appendix C.
.. [6] R package ``survey`` 4.1-1: ``as.svrepdesign``, ``jk1weights``, ``jknweights``,
   ``brrweights``, ``bootweights``, ``subbootweights``, ``svrVar``, ``degf.svyrep.design``,
   ``calibrate.svyrep.design``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from scoring.arrays import BoolArray, FloatArray, IntArray, label_text, readonly
from scoring.calibration import (
    CalibrationProblem,
    CalibrationSpec,
    calibration_problem,
    solve_calibration,
)
from scoring.design import CERTAINTY_FRACTION, SurveyDesign
from scoring.variance import bincount_2d
from scoring.weights import trim_weight_vector

ReplicateMethod = Literal["jk1", "jkn", "brr", "fay", "bootstrap", "subbootstrap"]
REPLICATE_METHODS: tuple[str, ...] = get_args(ReplicateMethod)

# Pairs of (PSU, calibration unit) are processed in chunks of this many rows of the
# replicate matrix, to bound memory.
_CHUNK = 1 << 15


@dataclass(frozen=True, eq=False)
class ReplicateAdjustment:
    """Per-replicate adjustment of the weights by calibration and trimming.

    Replicate ``r`` weights row ``i`` by ``d_i * m[psu_i, r] * factors[unit_i, r]``.

    Attributes
    ----------
    unit : ndarray of intp, shape (n,)
        Adjustment unit of each row (calibration cell, or the row itself).
    factors : ndarray, shape (n_units, R)
        Adjustment factor of each unit in each replicate.
    pair : ndarray of intp, shape (n,)
        (PSU, unit) pair of each row.
    pair_psu, pair_unit : ndarray of intp, shape (n_pairs,)
        PSU and unit of each pair.
    """

    unit: IntArray
    factors: FloatArray
    pair: IntArray
    pair_psu: IntArray
    pair_unit: IntArray

    @property
    def n_pairs(self) -> int:
        """Number of (PSU, unit) pairs."""
        return int(self.pair_psu.shape[0])


@dataclass(frozen=True, eq=False)
class ReplicateDesign:
    """A design with replicate weights.

    Attributes
    ----------
    design : SurveyDesign
        The full-sample design: final weights, strata and PSUs, calibration and trimming.
    method : str
        ``"jk1"``, ``"jkn"``, ``"brr"``, ``"fay"``, ``"bootstrap"``, ``"subbootstrap"`` or
        ``"multipliers"`` (given in a file).
    base_weights : ndarray, shape (n,)
        Weights before calibration and trimming, which the multipliers multiply.
    multipliers : ndarray, shape (n_psu, R)
        Multiplier of each PSU's base weights in each replicate.
    scale : float
        Overall variance scale (R ``scale``).
    rscales : ndarray, shape (R,)
        Per-replicate scale (R ``rscales``).
    mse : bool
        Centre the replicates on the full-sample estimate instead of their mean.
    adjustment : ReplicateAdjustment or None
        Replicate calibration and trimming factors.
    degrees_of_freedom : int
        Rank of the replicate weights before calibration, less one (R ``degf``).
    """

    design: SurveyDesign
    method: str
    base_weights: FloatArray
    multipliers: FloatArray
    scale: float
    rscales: FloatArray
    mse: bool
    adjustment: ReplicateAdjustment | None
    degrees_of_freedom: int

    @property
    def weights(self) -> FloatArray:
        """Return the full-sample weights."""
        return self.design.weights

    @property
    def n_rows(self) -> int:
        """Number of respondents."""
        return self.design.n_rows

    @property
    def n_replicates(self) -> int:
        """Number of replicates."""
        return int(self.multipliers.shape[1])


def replicates_create(
    design: SurveyDesign,
    method: ReplicateMethod,
    *,
    replicates: int = 50,
    seed: int | None = None,
    fay_rho: float = 0.0,
    hadamard: npt.ArrayLike | None = None,
    mse: bool = False,
) -> ReplicateDesign:
    """Return a replicate design for `design`, calibrating and trimming every replicate as it.

    Parameters
    ----------
    design : SurveyDesign
        The design; if it is calibrated (or trimmed), each replicate's weights are
        calibrated (or trimmed) with the same totals, function and bounds.
    method : {"jk1", "jkn", "brr", "fay", "bootstrap", "subbootstrap"}
        ``jk1``: delete-one-PSU jackknife of an unstratified design, scale
        ``(1 - n/N) (n-1)/n``. ``jkn``: delete-one-PSU jackknife within strata, replicate
        scale ``(1 - n_h/N_h) (n_h - 1)/n_h``; a stratum with one PSU follows the design's
        ``lonely_psu`` rule as R's ``jknweights``. ``brr``/``fay``: balanced repeated
        replication on pairs of PSUs from the rows of a Hadamard matrix, multipliers
        ``2 - rho`` and ``rho``, scale ``1/(R (1 - rho)**2)``; strata with 2k PSUs are split
        into k pairs (first-appearance order) and the FPC is dropped, as R.
        ``bootstrap``: the rescaled bootstrap of Canty & Davison (R ``"bootstrap"``): n_h
        PSUs drawn with replacement (without replacement from N_h copies when there is an
        FPC), multiplier the count, scale ``nbar/((nbar-1)(R-1))`` with ``nbar`` the harmonic
        mean PSUs per stratum. ``subbootstrap``: Rao & Wu with n_h - 1 draws, multiplier the
        count times ``n_h/(n_h-1)``, scale ``1/(R-1)`` (R ``"subbootstrap"``).
    replicates : int
        Number of bootstrap replicates.
    seed : int, optional
        Seed of the bootstrap draws.
    fay_rho : float
        Fay's coefficient for ``fay`` (0 < rho < 1); ignored otherwise.
    hadamard : array_like, optional
        A Hadamard matrix (two distinct values; rows 2 .. strata+1 are used), e.g. R's
        ``hadamard()``, instead of the one built here; as R's ``hadamard.matrix=``.
    mse : bool
        Centre the replicates on the full-sample estimate (R ``mse = TRUE``).

    Returns
    -------
    ReplicateDesign

    Raises
    ------
    ValueError
        If the design does not suit the method (strata for JK1, PSU counts for BRR, a
        single PSU for the sub-bootstrap) or a lonely PSU meets ``lonely_psu="fail"``.

    References
    ----------
    Wolter (2007); Judkins (1990); Canty & Davison (1999); Rao & Wu (1988); R
    ``survey::as.svrepdesign``.
    """
    if method not in REPLICATE_METHODS:
        raise ValueError(f"replicates: method must be one of {REPLICATE_METHODS}, got {method!r}")
    if design.stages:
        # R drops the FPC of later stages in as.svrepdesign; replicates resample PSUs.
        design = dataclasses.replace(design, stages=())
    rscales: FloatArray
    if method == "jk1":
        multipliers, scale, rscales = _jk1(design)
    elif method == "jkn":
        multipliers, scale, rscales = _jkn(design)
    elif method in ("brr", "fay"):
        rho = float(fay_rho) if method == "fay" else 0.0
        if method == "fay" and not 0.0 < rho < 1.0:
            raise ValueError(f"replicates: Fay's rho must be between 0 and 1, got {fay_rho!r}")
        multipliers = _brr(design, rho, hadamard)
        scale = 1.0 / (multipliers.shape[1] * (1.0 - rho) ** 2)
        rscales = np.ones(multipliers.shape[1])
    else:
        if replicates < 2:
            raise ValueError(f"replicates: at least 2 bootstrap replicates, got {replicates}")
        rng = np.random.default_rng(seed)
        if method == "bootstrap":
            multipliers, scale = _bootstrap(design, replicates, rng)
        else:
            multipliers, scale = _subbootstrap(design, replicates, rng)
        rscales = np.ones(replicates)
    return replicate_design(design, method, multipliers, scale, rscales, mse=mse)


def replicates_from_multipliers(
    design: SurveyDesign,
    psu_labels: Sequence[object],
    multipliers: npt.ArrayLike,
    *,
    scale: float | None = None,
    rscales: npt.ArrayLike | None = None,
    mse: bool = False,
) -> ReplicateDesign:
    """Return a replicate design from given multipliers, one row per PSU.

    Parameters
    ----------
    design : SurveyDesign
        The design; calibration and trimming are redone on every replicate.
    psu_labels : sequence
        Label of the PSU of each row of `multipliers`, as in the design's ``psu`` column
        (matched as text); for element sampling, the 0-based row number. Every PSU of the
        design needs a row; rows for PSUs not in the design are ignored.
    multipliers : array_like, shape (m, R)
        Multiplier of the PSU's base weights in each replicate (e.g. R's
        ``weights(as.svrepdesign(...), "replication")`` per PSU).
    scale : float, optional
        Variance scale; ``1/(R-1)`` (the bootstrap convention) by default.
    rscales : array_like, shape (R,), optional
        Per-replicate scales, 1 by default.
    mse : bool
        Centre on the full-sample estimate.

    Raises
    ------
    ValueError
        If a PSU of the design has no row, a PSU appears twice, or a multiplier is negative
        or not finite.
    """
    values = np.array(multipliers, dtype=np.float64, copy=True)
    if values.ndim != 2 or values.shape[1] < 2:
        raise ValueError("multipliers: expected a matrix with one column per replicate (>= 2)")
    if values.shape[0] != len(psu_labels):
        raise ValueError(
            f"multipliers: {values.shape[0]} rows but {len(psu_labels)} PSU labels"
        )
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("multipliers: values must be finite and not negative")
    texts = [label_text(label) for label in psu_labels]
    index: dict[str, int] = {}
    for row, text in enumerate(texts):
        if text in index:
            raise ValueError(f"multipliers: PSU {text} appears twice")
        index[text] = row
    design_labels = (
        [str(p) for p in range(design.n_psu)] if design.psu_labels is None
        else [label_text(label) for label in design.psu_labels]
    )
    if design.psu_labels is None:
        # Element sampling: PSU codes are in stratum order; map them back to row numbers.
        order = np.argsort(design.psu)
        design_labels = [str(int(row)) for row in order]
    rows = np.empty(design.n_psu, dtype=np.intp)
    for code, text in enumerate(design_labels):
        found = index.get(text)
        if found is None:
            raise ValueError(f"multipliers: PSU {text} of the data has no row")
        rows[code] = found
    count = values.shape[1]
    scale_value = 1.0 / (count - 1) if scale is None else float(scale)
    rscale_values = np.ones(count) if rscales is None else np.asarray(rscales, dtype=np.float64)
    if rscale_values.shape != (count,):
        raise ValueError(f"rscales: expected {count} values, got shape {rscale_values.shape}")
    if design.stages:
        design = dataclasses.replace(design, stages=())
    return replicate_design(
        design, "multipliers", values[rows], scale_value, rscale_values, mse=mse
    )


def replicate_design(
    design: SurveyDesign,
    method: str,
    multipliers: FloatArray,
    scale: float,
    rscales: FloatArray,
    *,
    mse: bool = False,
) -> ReplicateDesign:
    """Return the replicate design with these PSU multipliers, adjusting each replicate."""
    base = design.base_weights
    df = _rank(multipliers) - 1
    adjustment = _replicate_adjustment(design, base, multipliers)
    return ReplicateDesign(
        design=design,
        method=method,
        base_weights=readonly(base),
        multipliers=readonly(np.asarray(multipliers, dtype=np.float64)),
        scale=float(scale),
        rscales=readonly(np.asarray(rscales, dtype=np.float64)),
        mse=mse,
        adjustment=adjustment,
        degrees_of_freedom=df,
    )


# --- replicate weights of each method ---------------------------------------------------------


def _fpc_factor(design: SurveyDesign) -> FloatArray:
    """Return ``(N_h - n_h)/N_h`` per stratum, 1 without FPC."""
    return design.stratum_fraction_unsampled


def _jk1(design: SurveyDesign) -> tuple[FloatArray, float, FloatArray]:
    """Return JK1 multipliers (R ``jk1weights``)."""
    if design.n_strata > 1:
        raise ValueError("replicates: JK1 is for unstratified designs; use jkn")
    n = design.n_psu
    if n < 2:
        raise ValueError("replicates: JK1 needs at least two PSUs")
    fraction = float(_fpc_factor(design)[0])
    multipliers = np.full((n, n), n / (n - 1))
    np.fill_diagonal(multipliers, 0.0)
    return multipliers, fraction * (n - 1) / n, np.ones(n)


def _jkn(design: SurveyDesign) -> tuple[FloatArray, float, FloatArray]:
    """Return JKn multipliers, scale and replicate scales (R ``jknweights``)."""
    n_psu = design.n_psu
    n_strata = design.n_strata
    fraction = _fpc_factor(design)
    columns: list[FloatArray] = []
    rscales: list[float] = []
    starts = np.concatenate(([0], np.cumsum(design.stratum_n_psu)[:-1])).astype(np.intp)
    for h in range(n_strata):
        n_h = int(design.stratum_n_psu[h])
        f_h = float(fraction[h])
        psus = np.arange(starts[h], starts[h] + n_h)
        if f_h < CERTAINTY_FRACTION:
            continue  # R drops the replicates of a certainty stratum (survey.drop.replicates)
        if n_h == 1:
            if design.lonely_psu == "fail":
                raise ValueError(
                    f"replicates: stratum {label_text(design.stratum_labels[h])} has only one PSU"
                )
            if design.lonely_psu == "adjust":
                column = np.full(n_psu, n_strata / (n_strata - 1))
                column[psus] = 0.0
                columns.append(column)
                rscales.append((n_strata - 1) / n_strata)
            continue
        for p in psus:
            column = np.ones(n_psu)
            column[psus] = n_h / (n_h - 1)
            column[p] = 0.0
            columns.append(column)
            rscales.append(f_h * (n_h - 1) / n_h)
    if not columns:
        raise ValueError("replicates: every stratum was sampled exhaustively; no variance")
    scale = 1.0
    if len(columns) < n_psu and design.lonely_psu == "average":
        scale = n_psu / len(columns)
    return np.column_stack(columns), scale, np.asarray(rscales)


def _first_rows(design: SurveyDesign) -> IntArray:
    first = np.full(design.n_psu, design.n_rows, dtype=np.intp)
    np.minimum.at(first, design.psu, np.arange(design.n_rows, dtype=np.intp))
    return first


def _brr(design: SurveyDesign, rho: float, hadamard: npt.ArrayLike | None) -> FloatArray:
    """Return BRR (or Fay) multipliers as R's ``brrweights`` (small = "fail", large = "split")."""
    sizes = design.stratum_n_psu
    if (sizes < 2).any():
        h = int(np.flatnonzero(sizes < 2)[0])
        raise ValueError(
            f"replicates: BRR needs 2 PSUs per stratum; stratum "
            f"{label_text(design.stratum_labels[h])} has 1"
        )
    if ((sizes > 2) & (sizes % 2 == 1)).any():
        h = int(np.flatnonzero((sizes > 2) & (sizes % 2 == 1))[0])
        raise ValueError(
            f"replicates: BRR cannot split stratum {label_text(design.stratum_labels[h])} "
            f"with an odd number ({int(sizes[h])}) of PSUs into pairs"
        )
    first = _first_rows(design)
    # R numbers the pairs of split (> 2 PSU) strata first, then the strata with 2 PSUs, each
    # in stratum order, and orders PSUs within a stratum by first appearance.
    half = np.zeros(design.n_psu, dtype=np.intp)  # 0: first of its pair, 1: second
    pair = np.zeros(design.n_psu, dtype=np.intp)
    next_pair = 0
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.intp)
    for large in (True, False):
        for h in range(design.n_strata):
            if (sizes[h] > 2) != large:
                continue
            psus = np.arange(starts[h], starts[h] + sizes[h])
            psus = psus[np.argsort(first[psus], kind="stable")]
            for j, p in enumerate(psus):
                half[p] = j % 2
                pair[p] = next_pair + j // 2
            next_pair += int(sizes[h]) // 2
    matrix = _hadamard_01(hadamard, next_pair)
    # Row 1 + s of H for pair s; H = 0 keeps the first PSU of the pair at rho, 1 at 2 - rho.
    signs = matrix[1 + pair, :]
    keep_first = signs == 1
    up = np.where(half[:, None] == 0, keep_first, ~keep_first)
    return np.where(up, 2.0 - rho, rho)


def _hadamard_01(hadamard: npt.ArrayLike | None, n_pairs: int) -> npt.NDArray[np.intp]:
    """Return a 0/1 Hadamard matrix with at least ``n_pairs + 1`` rows."""
    if hadamard is None:
        return (hadamard_matrix(n_pairs + 1) > 0).astype(np.intp)
    given = np.asarray(hadamard)
    if given.ndim != 2 or given.shape[0] < n_pairs + 1:
        raise ValueError(
            f"hadamard: expected a matrix with at least {n_pairs + 1} rows (pairs + 1)"
        )
    values = np.unique(given)
    if values.shape[0] != 2:
        raise ValueError("hadamard: the matrix must hold exactly two different values")
    # R: H <- ifelse(hadamard.matrix == values[1], 0, 1), values in column-major order.
    first_value = given.reshape(-1, order="F")[0]
    return np.where(given == first_value, 0, 1).astype(np.intp)


def hadamard_matrix(min_size: int) -> npt.NDArray[np.int8]:
    """Return a normalised ``+-1`` Hadamard matrix of order at least `min_size`.

    The smallest order available from Sylvester's doubling of 1, 2 or a Paley matrix
    (order ``q + 1`` for a prime ``q = 3 mod 4``) is used. The first row and column are +1.

    References
    ----------
    Sylvester, J. J. (1867); Paley, R. E. A. C. (1933). On orthogonal matrices. *J. Math.
    Phys.* 12, 311-320; Wolter (2007), sec. 3.3.
    """
    target = max(int(min_size), 2)
    best: tuple[int, int, int] | None = None  # (order, base order, doublings)
    bases = [1, 2] + [q + 1 for q in _paley_primes(4 * target)]
    for base in bases:
        order, doublings = base, 0
        while order < target:
            order *= 2
            doublings += 1
        if best is None or order < best[0]:
            best = (order, base, doublings)
    assert best is not None
    _, base, doublings = best
    matrix = _paley(base - 1) if base > 2 else np.ones((base, base), dtype=np.int8)
    if base == 2:
        matrix = np.array([[1, 1], [1, -1]], dtype=np.int8)
    for _ in range(doublings):
        matrix = np.block([[matrix, matrix], [matrix, -matrix]]).astype(np.int8)
    return matrix


def _paley_primes(limit: int) -> list[int]:
    primes = []
    for q in range(3, limit + 1, 4):
        if q > 2 and all(q % f for f in range(3, int(q**0.5) + 1, 2)):
            primes.append(q)
    return primes


def _paley(q: int) -> npt.NDArray[np.int8]:
    """Return the normalised Paley I Hadamard matrix of order ``q + 1``."""
    residues = np.zeros(q, dtype=bool)
    residues[(np.arange(1, q) ** 2) % q] = True
    chi = np.where(residues, 1, -1).astype(np.int8)
    chi[0] = 0
    jacobsthal = chi[(np.arange(q)[None, :] - np.arange(q)[:, None]) % q]
    order = q + 1
    matrix = np.ones((order, order), dtype=np.int8)
    matrix[1:, 0] = -1
    matrix[1:, 1:] = jacobsthal + np.eye(q, dtype=np.int8)
    # Normalise: make the first column +1 by negating rows.
    matrix = matrix * matrix[:, :1]
    return matrix


def _bootstrap(
    design: SurveyDesign, replicates: int, rng: np.random.Generator
) -> tuple[FloatArray, float]:
    """Return Canty-Davison bootstrap counts (R ``bootweights``) and their scale."""
    multipliers = np.zeros((design.n_psu, replicates))
    starts = np.concatenate(([0], np.cumsum(design.stratum_n_psu)[:-1])).astype(np.intp)
    for h in range(design.n_strata):
        n_h = int(design.stratum_n_psu[h])
        population = float(design.stratum_population[h])
        for r in range(replicates):
            if np.isinf(population):
                draws = rng.integers(0, n_h, n_h)
            else:
                pool = np.resize(np.arange(n_h), int(population))
                draws = rng.choice(pool, n_h, replace=False)
            multipliers[starts[h]:starts[h] + n_h, r] = np.bincount(draws, minlength=n_h)
    harmonic = 1.0 / float(np.mean(1.0 / design.stratum_n_psu))
    if harmonic <= 1.0:
        raise ValueError("replicates: the bootstrap needs strata with more than one PSU")
    return multipliers, harmonic / ((harmonic - 1.0) * (replicates - 1))


def _subbootstrap(
    design: SurveyDesign, replicates: int, rng: np.random.Generator
) -> tuple[FloatArray, float]:
    """Return Rao-Wu (n_h - 1) bootstrap multipliers (R ``subbootweights``) and scale."""
    if (design.stratum_n_psu < 2).any():
        h = int(np.flatnonzero(design.stratum_n_psu < 2)[0])
        raise ValueError(
            f"replicates: the subbootstrap needs 2 PSUs per stratum; stratum "
            f"{label_text(design.stratum_labels[h])} has 1"
        )
    multipliers = np.zeros((design.n_psu, replicates))
    starts = np.concatenate(([0], np.cumsum(design.stratum_n_psu)[:-1])).astype(np.intp)
    for h in range(design.n_strata):
        n_h = int(design.stratum_n_psu[h])
        draws = rng.integers(0, n_h, (replicates, n_h - 1))
        counts = np.apply_along_axis(np.bincount, 1, draws, minlength=n_h)
        multipliers[starts[h]:starts[h] + n_h, :] = counts.T * n_h / (n_h - 1)
    return multipliers, 1.0 / (replicates - 1)


# --- calibration and trimming of every replicate ---------------------------------------------


def _replicate_adjustment(
    design: SurveyDesign, base: FloatArray, multipliers: FloatArray
) -> ReplicateAdjustment | None:
    calibration = design.calibration
    if calibration is None and design.trimming is None:
        return None
    n = design.n_rows
    count = multipliers.shape[1]
    if calibration is not None and calibration.spec is not None:
        spec = calibration.spec
        problem = calibration_problem(spec, n)
        unit = problem.unit
        n_units = problem.n_units
        pair, pair_psu, pair_unit = _pairs(design.psu, unit, n_units)
        pair_base = np.asarray(np.bincount(pair, base, minlength=pair_psu.shape[0]), dtype=np.float64)
        unit_weight = _unit_replicate_totals(pair_base, pair_psu, pair_unit, n_units, multipliers)
        factors = _calibrate_replicates(problem, spec, unit_weight)
    else:
        unit = np.arange(n, dtype=np.intp)
        n_units = n
        factors = np.ones((n, count))
    if design.trimming is not None:
        trimming = design.trimming
        row_factors = np.empty((n, count))
        for r in range(count):
            start = base * multipliers[design.psu, r]
            weights = start * factors[unit, r]
            trimmed = trim_weight_vector(
                weights, trimming.lower, trimming.upper, strict=trimming.strict
            )[0]
            with np.errstate(divide="ignore", invalid="ignore"):
                row_factors[:, r] = np.where(start > 0, trimmed / start, 0.0)
        factors = row_factors
        unit = np.arange(n, dtype=np.intp)
        n_units = n
    pair, pair_psu, pair_unit = _pairs(design.psu, unit, n_units)
    return ReplicateAdjustment(
        unit=readonly(unit),
        factors=readonly(factors),
        pair=readonly(pair),
        pair_psu=readonly(pair_psu),
        pair_unit=readonly(pair_unit),
    )


def _pairs(psu: IntArray, unit: IntArray, n_units: int) -> tuple[IntArray, IntArray, IntArray]:
    """Return the (PSU, unit) pair of each row, sorted by unit, and each pair's PSU and unit."""
    key = unit.astype(np.int64) * (int(psu.max()) + 1) + psu
    values, pair = np.unique(key, return_inverse=True)
    width = int(psu.max()) + 1
    return (
        pair.reshape(-1).astype(np.intp),
        (values % width).astype(np.intp),
        (values // width).astype(np.intp),
    )


def _unit_replicate_totals(
    pair_values: FloatArray,
    pair_psu: IntArray,
    pair_unit: IntArray,
    n_units: int,
    multipliers: FloatArray,
) -> FloatArray:
    """Return ``sum over the pairs of unit u of value * m[psu, r]``, shape (n_units, R)."""
    out = np.zeros((n_units, multipliers.shape[1]))
    starts = np.flatnonzero(np.r_[True, pair_unit[1:] != pair_unit[:-1]])
    for begin in range(0, starts.shape[0], _CHUNK):
        block = starts[begin:begin + _CHUNK]
        stop = starts[begin + _CHUNK] if begin + _CHUNK < starts.shape[0] else pair_unit.shape[0]
        rows = slice(int(block[0]), int(stop))
        contributions = pair_values[rows, None] * multipliers[pair_psu[rows]]
        out[pair_unit[block]] = np.add.reduceat(contributions, block - block[0], axis=0)
    return out


def _calibrate_replicates(
    problem: CalibrationProblem, spec: CalibrationSpec, unit_weight: FloatArray
) -> FloatArray:
    """Return the calibration factor of every unit in every replicate."""
    count = unit_weight.shape[1]
    factors = np.ones_like(unit_weight)
    low, high = spec.bounds
    plain_raking = (
        spec.calfun == "raking" and not np.isfinite(high) and low <= 0
        and not spec.numeric and problem.intercept
    )
    if spec.method == "poststratification" or plain_raking:
        factors, errors = _ipf_replicates(problem, spec, unit_weight)
        todo = np.flatnonzero(errors > spec.tol)
    else:
        todo = np.arange(count)
    for r in todo:
        solution = solve_calibration(problem, spec, unit_weight[:, r])
        factors[:, r] = solution.factor
    return factors


def _ipf_replicates(
    problem: CalibrationProblem, spec: CalibrationSpec, unit_weight: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Return raking factors of all replicates at once by proportional fitting."""
    factors = np.ones_like(unit_weight)
    sweeps = 1 if spec.method == "poststratification" else min(spec.max_iter, 200)
    errors = np.full(unit_weight.shape[1], np.inf)
    for _ in range(sweeps):
        for codes, target in zip(problem.unit_levels, problem.margin_totals):
            current = _group_sum(codes, target.shape[0], unit_weight * factors)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(current > 0, target[:, None] / current, 1.0)
            factors = factors * ratio[codes]
        errors = np.zeros(unit_weight.shape[1])
        for codes, target in zip(problem.unit_levels, problem.margin_totals):
            achieved = _group_sum(codes, target.shape[0], unit_weight * factors)
            positive = target > 0
            rel = np.abs(achieved[positive] - target[positive, None]) / target[positive, None]
            errors = np.maximum(errors, rel.max(axis=0, initial=0.0))
        if (errors <= spec.tol).all():
            break
    return factors, errors


def _group_sum(codes: IntArray, n_groups: int, values: FloatArray) -> FloatArray:
    """Return column sums of `values` by group, shape (n_groups, R)."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    out = np.zeros((n_groups, values.shape[1]))
    if sorted_codes.shape[0] == 0:
        return out
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    out[sorted_codes[starts]] = np.add.reduceat(values[order], starts, axis=0)
    return out


# --- replicate estimates and their variance ---------------------------------------------------


def replicate_totals(
    rep: ReplicateDesign,
    rows: IntArray,
    columns: IntArray,
    n_columns: int,
    values: FloatArray,
) -> FloatArray:
    """Return the replicate totals of `k` sparse estimators, shape (R, k).

    Estimator ``j`` is ``sum_i w_ir values[e]`` over entries ``e`` with ``rows[e] = i`` and
    ``columns[e] = j``.
    """
    weighted = rep.base_weights[rows] * values
    adjustment = rep.adjustment
    if adjustment is None:
        psu_totals = bincount_2d(
            rep.design.psu[rows], rep.design.n_psu, columns, n_columns, weighted
        )
        return np.asarray(rep.multipliers.T @ psu_totals, dtype=np.float64)
    pair_totals = bincount_2d(adjustment.pair[rows], adjustment.n_pairs, columns, n_columns,
                              weighted)
    out = np.zeros((rep.n_replicates, n_columns))
    for begin in range(0, adjustment.n_pairs, _CHUNK):
        block = slice(begin, min(begin + _CHUNK, adjustment.n_pairs))
        product = (
            rep.multipliers[adjustment.pair_psu[block]]
            * adjustment.factors[adjustment.pair_unit[block]]
        )
        out += product.T @ pair_totals[block]
    return out


def replicate_weights(rep: ReplicateDesign) -> FloatArray:
    """Return the ``n x R`` matrix of replicate weights (for export; large for big samples)."""
    weights = rep.base_weights[:, None] * rep.multipliers[rep.design.psu]
    if rep.adjustment is not None:
        weights = weights * rep.adjustment.factors[rep.adjustment.unit]
    return np.asarray(weights, dtype=np.float64)


def replicate_variance(
    thetas: FloatArray,
    estimate: FloatArray,
    scale: float,
    rscales: FloatArray,
    *,
    mse: bool = False,
    full: bool = False,
) -> FloatArray:
    """Return ``scale * sum_r rscale_r (theta_r - centre)**2`` per column (or the matrix).

    The centre is the mean of the replicates with a positive ``rscale`` (the full-sample
    `estimate` with `mse`). Replicates with a NaN value are dropped, column by column (or,
    for the matrix, replicates with any NaN), as R's ``svrVar`` with ``na.omit``.

    References
    ----------
    R ``survey::svrVar``; Wolter (2007), eq. 4.2.5.
    """
    thetas = np.asarray(thetas, dtype=np.float64)
    if thetas.ndim == 1:
        thetas = thetas[:, None]
    k = thetas.shape[1]
    if full:
        keep = ~np.isnan(thetas).any(axis=1)
        t = thetas[keep]
        rs = rscales[keep]
        if t.shape[0] == 0:
            return np.full((k, k), np.nan)
        centre = estimate if mse else t[rs > 0].mean(axis=0)
        deviation = (t - centre) * np.sqrt(rs)[:, None]
        return np.asarray(scale * deviation.T @ deviation, dtype=np.float64)
    out = np.empty(k)
    for j in range(k):
        keep = ~np.isnan(thetas[:, j])
        t = thetas[keep, j]
        rs = rscales[keep]
        if t.shape[0] == 0 or not np.isfinite(estimate[j]):
            out[j] = np.nan
            continue
        centre = estimate[j] if mse else t[rs > 0].mean()
        out[j] = scale * float(np.sum(rs * (t - centre) ** 2))
    return out


def replicate_degrees_of_freedom(rep: ReplicateDesign, mask: BoolArray | None = None) -> int:
    """Return the rank of the replicate weights of the rows in `mask`, less one.

    For the whole design this is R's ``degf`` stored at creation (the rank before
    calibration); for a domain it is the rank of the (calibrated) replicate weights of its
    rows, as R recomputes for a subset design.

    References
    ----------
    R ``survey::degf.svyrep.design`` and ``[.svyrep.design``.
    """
    if mask is None:
        return rep.degrees_of_freedom
    rows = np.flatnonzero(mask)
    if rows.shape[0] == 0:
        return -1
    adjustment = rep.adjustment
    if adjustment is None:
        present = np.unique(rep.design.psu[rows])
        matrix = rep.multipliers[present]
    else:
        present = np.unique(adjustment.pair[rows])
        matrix = (
            rep.multipliers[adjustment.pair_psu[present]]
            * adjustment.factors[adjustment.pair_unit[present]]
        )
    return _rank(matrix) - 1


def _rank(matrix: FloatArray) -> int:
    """Return the numerical rank: singular values above 1e-6 of the largest."""
    m, r = matrix.shape
    if m == 0 or r == 0:
        return 0
    if m > 4 * r:
        gram = np.zeros((r, r))
        for begin in range(0, m, _CHUNK):
            block = matrix[begin:begin + _CHUNK]
            gram += block.T @ block
        eigen = np.linalg.eigvalsh(gram)
        top = float(eigen.max())
        return int((eigen > 1e-12 * top).sum()) if top > 0 else 0
    singular = np.linalg.svd(matrix, compute_uv=False)
    top = float(singular.max())
    return int((singular > 1e-6 * top).sum()) if top > 0 else 0
