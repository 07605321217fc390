"""Survey weights: base weights, raking and post-stratification to population margins.

Raking (iterative proportional fitting, Deming & Stephan 1940) multiplies the weights of each
margin level by the ratio of its population total to its current weighted total, margin after
margin, until every margin is met. Its fixed point is the calibration estimator with the
raking distance (Deville & Särndal 1992, case 2), i.e. R's ``calibrate(..., calfun =
"raking")``, so the calibrated design carries what the variance estimator needs for
calibration residuals. The adjustment factor is a function of the cell (the combination of
margin levels) only, so the iterations run over cell totals, not rows. Proportional fitting
converges linearly, and slowly when levels of different margins nearly coincide (small towns,
rare education levels); once a pass no longer halves the margin error, the remaining passes
are damped Newton steps on the same raking equations (as R's ``grake``), which reach the same
fixed point quadratically.

References
----------
.. [1] Deming, W. E. & Stephan, F. F. (1940). On a least squares adjustment of a sampled
   frequency table when the expected marginal totals are known. *Ann. Math. Statist.* 11,
   427-444.
.. [2] Deville, J.-C. & Särndal, C.-E. (1992). Calibration estimators in survey sampling.
   *JASA* 87, 376-382.
.. [3] Deville, J.-C., Särndal, C.-E. & Sautory, O. (1993). Generalized raking procedures in
   survey sampling. *JASA* 88, 1013-1020.
.. [4] Lumley, T. (2010). *Complex Surveys*, ch. 7.
.. [5] R package ``survey`` 4.1-1: ``calibrate.survey.design2``, ``grake``, ``postStratify``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring.arrays import (
    FloatArray,
    Grouping,
    IntArray,
    as_float_vector,
    encode_groups,
    encode_labels,
    grouping_columns,
    readonly,
)
from scoring.design import Calibration, SurveyDesign
from scoring.variance import bincount_2d

# A proportional-fitting sweep must cut the margin error at least by this factor, or raking
# continues with Newton steps.
_IPF_MIN_GAIN = 0.5


class CalibrationError(ValueError):
    """Raking did not reach the margins within the iteration limit."""


@dataclass(frozen=True, eq=False, init=False)
class Margin:
    """A population margin: the level of each respondent and the population total per level.

    Parameters
    ----------
    codes : array_like of int, shape (n,)
        Level ``0 .. L-1`` of each respondent.
    totals : array_like, shape (L,)
        Population total of each level.
    name : str
        Name used in messages and diagnostics.

    Raises
    ------
    ValueError
        If a code is not a level, or a total is negative or not finite.
    """

    codes: IntArray
    totals: FloatArray
    name: str

    def __init__(
        self, codes: npt.ArrayLike, totals: npt.ArrayLike, name: str = "margin"
    ) -> None:
        code_array = np.asarray(codes)
        if code_array.ndim != 1 or (code_array.size and code_array.dtype.kind not in "iub"):
            raise ValueError(f"margin {name!r}: codes must be a 1-D integer array")
        total_array = as_float_vector(totals, f"margin {name!r} totals")
        if total_array.shape[0] == 0:
            raise ValueError(f"margin {name!r}: no levels")
        if (total_array < 0).any():
            level = int(np.flatnonzero(total_array < 0)[0])
            raise ValueError(f"margin {name!r}: level {level} has a negative total")
        code_array = code_array.astype(np.intp)
        outside = (code_array < 0) | (code_array >= total_array.shape[0])
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise ValueError(
                f"margin {name!r}: code {int(code_array[row])} at row {row} is not a level "
                f"0..{total_array.shape[0] - 1}"
            )
        object.__setattr__(self, "codes", readonly(code_array))
        object.__setattr__(self, "totals", readonly(total_array))
        object.__setattr__(self, "name", name)

    @classmethod
    def from_labels(
        cls, name: str, labels: Grouping, totals: Mapping[Any, float]
    ) -> Margin:
        """Return a margin from respondent labels and population totals keyed by label.

        Parameters
        ----------
        name : str
            Name of the margin.
        labels : array_like or sequence of array_like
            Label of each respondent, or several label arrays whose combination is the level
            (e.g. ``[sex, age_group]``, with totals keyed by ``(sex, age_group)`` tuples).
        totals : mapping
            Population total per level; the levels are its keys, in their order.

        Raises
        ------
        ValueError
            If a respondent's label is missing or has no population total.
        """
        levels = list(totals)
        several = len(grouping_columns(labels)) > 1
        encoded = encode_groups(labels, f"margin {name!r}", n=_grouping_length(labels))
        index = {level: j for j, level in enumerate(levels)}
        lookup = np.empty(len(encoded.keys), dtype=np.intp)
        for j, key in enumerate(encoded.keys):
            label = key if several else key[0]
            if label not in index:
                raise ValueError(f"margin {name!r}: label {label!r} has no population total")
            lookup[j] = index[label]
        if (encoded.codes < 0).any():
            row = int(np.flatnonzero(encoded.codes < 0)[0])
            raise ValueError(f"margin {name!r}: missing label at row {row}")
        return cls(
            lookup[encoded.codes],
            np.asarray([totals[level] for level in levels], dtype=np.float64),
            name,
        )


@dataclass(frozen=True, eq=False)
class RakeResult:
    """Outcome of raking or post-stratification.

    Attributes
    ----------
    design : SurveyDesign
        The calibrated design; ``design.weights`` are the new weights.
    iterations : int
        Number of passes: proportional-fitting sweeps over all margins, then Newton steps.
    converged : bool
        Whether every margin was met within the tolerance.
    max_rel_error : float
        Largest ``|weighted total - population total| / population total`` over all levels
        of all margins after the last pass.
    """

    design: SurveyDesign
    iterations: int
    converged: bool
    max_rel_error: float

    @property
    def weights(self) -> FloatArray:
        """Return the calibrated weights."""
        return self.design.weights


def weights_base(inclusion_probability: npt.ArrayLike) -> FloatArray:
    """Return base (design) weights ``1 / pi`` from inclusion probabilities.

    Raises
    ------
    ValueError
        If a probability is missing or outside (0, 1].

    References
    ----------
    Horvitz, D. G. & Thompson, D. J. (1952). *JASA* 47, 663-685; Lumley (2010), sec. 1.2.
    """
    pi = as_float_vector(inclusion_probability, "inclusion_probability")
    bad = (pi <= 0) | (pi > 1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"inclusion_probability: {float(pi[row])!r} at row {row} is not in (0, 1]"
        )
    return np.asarray(1.0 / pi, dtype=np.float64)


def weights_rake(
    design: SurveyDesign,
    margins: Sequence[Margin],
    *,
    tol: float = 1e-10,
    max_iter: int = 1000,
    total_rtol: float = 1e-6,
    force: bool = False,
) -> RakeResult:
    """Return the design with weights raked to the population margins.

    Parameters
    ----------
    design : SurveyDesign
        An uncalibrated design; its weights are the starting (base) weights.
    margins : sequence of Margin
        One or more margins over the design's rows.
    tol : float
        Stop when every level's relative error ``|sum w - T| / T`` is at most `tol`.
    max_iter : int
        Maximum number of passes (proportional-fitting sweeps and Newton steps).
    total_rtol : float
        Margins must agree on the grand total within this relative tolerance; within it,
        every margin is rescaled to the grand total of the first margin.
    force : bool
        Return a non-converged result (``converged=False``) instead of raising, as R's
        ``calibrate(force = TRUE)``.

    Returns
    -------
    RakeResult
        The calibrated design (its variance uses calibration residuals) and diagnostics.

    Raises
    ------
    ValueError
        If a level with a positive total has no respondents, a level with respondents has a
        zero total, margins disagree on the grand total, or the design is already calibrated.
    CalibrationError
        If the margins are not met after `max_iter` passes and `force` is false.

    References
    ----------
    Deming & Stephan (1940); Deville & Särndal (1992); Deville, Särndal & Sautory (1993);
    R ``survey::calibrate(..., calfun = "raking")`` and ``survey:::grake``.
    """
    return _calibrate_margins(
        design, margins, method="raking", tol=tol, max_iter=max_iter,
        total_rtol=total_rtol, force=force,
    )


def weights_post_stratify(
    design: SurveyDesign,
    codes: npt.ArrayLike,
    totals: npt.ArrayLike,
    *,
    name: str = "poststratum",
) -> RakeResult:
    """Return the design post-stratified on one variable.

    Each post-stratum's weights are multiplied by ``N_c / sum_c w``; the variance uses the
    residuals from the post-stratum means, as R's ``postStratify`` (the one-margin case of
    raking, which converges in one pass).

    Parameters
    ----------
    design : SurveyDesign
        An uncalibrated design.
    codes : array_like of int, shape (n,)
        Post-stratum ``0 .. L-1`` of each respondent.
    totals : array_like, shape (L,)
        Population total of each post-stratum.
    name : str
        Name used in messages.

    References
    ----------
    Holt, D. & Smith, T. M. F. (1979). Post stratification. *JRSS A* 142, 33-46;
    Lumley (2010), sec. 7.2; R ``survey::postStratify``.
    """
    margin = Margin(codes, totals, name)
    return _calibrate_margins(
        design, [margin], method="poststratification", tol=1e-10, max_iter=10,
        total_rtol=0.0, force=False,
    )


def _calibrate_margins(
    design: SurveyDesign,
    margins: Sequence[Margin],
    *,
    method: str,
    tol: float,
    max_iter: int,
    total_rtol: float,
    force: bool,
) -> RakeResult:
    if design.calibration is not None:
        raise ValueError(
            "design is already calibrated; calibrate the uncalibrated design in one step"
        )
    if not margins:
        raise ValueError("margins: at least one margin is needed")
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    n = design.n_rows
    for margin in margins:
        if margin.codes.shape[0] != n:
            raise ValueError(
                f"margin {margin.name!r}: expected {n} codes, got {margin.codes.shape[0]}"
            )
    totals = _consistent_totals(margins, total_rtol)
    d = design.weights

    cell_of_row, cell_codes = _cells(margins)
    cell_weight = np.asarray(
        np.bincount(cell_of_row, d, minlength=cell_codes[0].shape[0]), dtype=np.float64
    )
    n_levels = tuple(int(margin.totals.shape[0]) for margin in margins)
    for margin, codes, levels, target in zip(margins, cell_codes, n_levels, totals):
        _check_levels(margin.name, np.bincount(codes, minlength=levels) > 0, target)

    factor = np.ones(cell_weight.shape[0])
    iterations = 0
    error = np.inf
    newton = False
    while iterations < max_iter:
        iterations += 1
        if newton:
            factor = _newton_step(cell_codes, n_levels, totals, cell_weight, factor)
        else:
            factor = _ipf_sweep(cell_codes, n_levels, totals, cell_weight, factor)
        previous, error = error, _max_relative_error(
            cell_codes, n_levels, totals, cell_weight * factor
        )
        if error <= tol:
            break
        # IPF converges linearly, and slowly when margin levels nearly coincide; once a sweep
        # no longer halves the error, finish with Newton steps on the same equations.
        newton = newton or error > _IPF_MIN_GAIN * previous
    converged = bool(error <= tol)
    if not converged and not force:
        raise CalibrationError(
            f"raking did not converge in {iterations} iterations "
            f"(max relative margin error {error:.3g} > {tol:g})"
        )

    weights = d * factor[cell_of_row]
    calibration = _calibration_record(
        design, margins, method, n_levels, cell_codes, cell_weight, weights
    )
    calibrated = dataclasses.replace(
        design, weights=readonly(weights), calibration=calibration
    )
    return RakeResult(
        design=calibrated, iterations=iterations, converged=converged,
        max_rel_error=float(error),
    )


def _grouping_length(labels: Grouping) -> int:
    return int(np.asarray(grouping_columns(labels)[0], dtype=object).shape[0])


def _ipf_sweep(
    cell_codes: Sequence[IntArray],
    n_levels: Sequence[int],
    totals: Sequence[FloatArray],
    cell_weight: FloatArray,
    factor: FloatArray,
) -> FloatArray:
    """Return the adjustment factors after one pass of proportional fitting over the margins.

    References
    ----------
    Deming & Stephan (1940).
    """
    for codes, levels, target in zip(cell_codes, n_levels, totals):
        current = np.bincount(codes, cell_weight * factor, minlength=levels)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(current > 0, target / current, 1.0)
        factor = np.asarray(factor * ratio[codes], dtype=np.float64)
    return factor


def _newton_step(
    cell_codes: Sequence[IntArray],
    n_levels: Sequence[int],
    totals: Sequence[FloatArray],
    cell_weight: FloatArray,
    factor: FloatArray,
) -> FloatArray:
    """Return the adjustment factors after one damped Newton step on the raking equations.

    The raking factors are ``g = exp(X lambda)`` with ``X`` the level indicators of all
    margins; ``lambda`` minimises the convex ``F = sum_c d_c g_c - T' lambda``, whose
    gradient is the margin misfit. The step solves ``X' diag(d g) X delta = T - X' d g``
    (least squares: the indicators are collinear) and is halved until ``F`` decreases
    enough (Armijo rule).

    References
    ----------
    Deville, Särndal & Sautory (1993), sec. 3; R ``survey:::grake``; Nocedal, J. & Wright,
    S. J. (2006). *Numerical Optimization*, 2nd ed., sec. 3.1.
    """
    offsets = np.concatenate(([0], np.cumsum(n_levels)[:-1])).astype(np.intp)
    n_cells = cell_weight.shape[0]
    basis = np.zeros((n_cells, int(sum(n_levels))))
    for codes, offset in zip(cell_codes, offsets):
        basis[np.arange(n_cells), offset + codes] = 1.0
    target = np.concatenate(list(totals))
    weighted = cell_weight * factor
    gradient = basis.T @ weighted - target
    hessian = basis.T @ (weighted[:, None] * basis)
    delta = -np.linalg.lstsq(hessian, gradient, rcond=None)[0]
    slope = float(gradient @ delta)
    change = basis @ delta
    step = 1.0
    for _ in range(60):
        with np.errstate(over="ignore"):
            trial = np.asarray(
                factor * np.exp(np.clip(step * change, -700.0, 700.0)), dtype=np.float64
            )
        decrease = float(np.sum(cell_weight * (trial - factor))) - step * float(target @ delta)
        if decrease <= 1e-4 * step * slope:
            return trial
        step /= 2.0
    return factor


def _consistent_totals(margins: Sequence[Margin], total_rtol: float) -> list[FloatArray]:
    """Return the margins' totals, rescaled to the first margin's grand total."""
    grand = float(margins[0].totals.sum())
    if grand <= 0:
        raise ValueError(f"margin {margins[0].name!r}: the grand total is not positive")
    totals = [margins[0].totals]
    for margin in margins[1:]:
        other = float(margin.totals.sum())
        if abs(other - grand) > total_rtol * grand:
            raise ValueError(
                f"margins {margins[0].name!r} and {margin.name!r} disagree on the grand total "
                f"({grand:.10g} vs {other:.10g}; relative tolerance {total_rtol:g})"
            )
        totals.append(np.asarray(margin.totals * (grand / other), dtype=np.float64))
    return totals


def _check_levels(name: str, has_respondents: npt.NDArray[np.bool_], target: FloatArray) -> None:
    empty = (target > 0) & ~has_respondents
    if empty.any():
        level = int(np.flatnonzero(empty)[0])
        raise ValueError(
            f"margin {name!r}: level {level} has a population total of {target[level]:.10g} "
            "but no respondents; collapse it with a neighbouring level"
        )
    zero = (target == 0) & has_respondents
    if zero.any():
        level = int(np.flatnonzero(zero)[0])
        raise ValueError(
            f"margin {name!r}: level {level} has respondents but a population total of 0"
        )


def _cells(margins: Sequence[Margin]) -> tuple[IntArray, list[IntArray]]:
    """Return the cell of each row and, per margin, the level of each cell."""
    sizes = tuple(int(margin.totals.shape[0]) for margin in margins)
    if float(np.prod(np.asarray(sizes, dtype=np.float64))) >= 2.0**62:
        raise ValueError("margins: too many combinations of levels")
    combined = np.zeros(margins[0].codes.shape[0], dtype=np.intp)
    for margin, size in zip(margins, sizes):
        combined = combined * size + margin.codes
    encoded = encode_labels(combined, "cells")
    cell_values = np.asarray(encoded.labels, dtype=np.intp)
    cell_codes = [np.asarray(part, dtype=np.intp) for part in np.unravel_index(cell_values, sizes)]
    return encoded.codes, cell_codes


def _max_relative_error(
    cell_codes: Sequence[IntArray],
    n_levels: Sequence[int],
    totals: Sequence[FloatArray],
    cell_weight: FloatArray,
) -> float:
    worst = 0.0
    for codes, levels, target in zip(cell_codes, n_levels, totals):
        achieved = np.bincount(codes, cell_weight, minlength=levels)
        positive = target > 0
        errors = np.abs(achieved[positive] - target[positive]) / target[positive]
        worst = max(worst, float(errors.max(initial=0.0)))
    return worst


def _calibration_record(
    design: SurveyDesign,
    margins: Sequence[Margin],
    method: str,
    n_levels: tuple[int, ...],
    cell_codes: Sequence[IntArray],
    cell_weight: FloatArray,
    weights: FloatArray,
) -> Calibration:
    """Return the regression basis of the margins and its cross-products.

    The basis is an intercept and, per margin, the indicators of its levels that have
    respondents, except the first (the treatment contrasts of R's ``model.matrix``); it spans
    the same space as all the indicators, so the residuals are the same as R's.
    """
    level_columns: list[IntArray] = []
    next_column = 1
    for codes, levels in zip(cell_codes, n_levels):
        populated = np.flatnonzero(np.bincount(codes, minlength=levels) > 0)
        mapping = np.full(levels, -1, dtype=np.intp)
        mapping[populated[1:]] = np.arange(
            next_column, next_column + populated.shape[0] - 1, dtype=np.intp
        )
        next_column += populated.shape[0] - 1
        level_columns.append(readonly(mapping))
    n_columns = next_column

    basis = np.zeros((cell_weight.shape[0], n_columns))
    basis[:, 0] = 1.0
    for codes, mapping in zip(cell_codes, level_columns):
        column = mapping[codes]
        has = column >= 0
        basis[np.flatnonzero(has), column[has]] = 1.0
    normal = basis.T @ (cell_weight[:, None] * basis)

    psu_totals = np.zeros((design.n_psu, n_columns))
    psu_totals[:, 0] = np.bincount(design.psu, weights, minlength=design.n_psu)
    for margin, levels, mapping in zip(margins, n_levels, level_columns):
        table = bincount_2d(design.psu, design.n_psu, margin.codes, levels, weights)
        used = mapping >= 0
        psu_totals[:, mapping[used]] = table[:, used]

    return Calibration(
        method=method,
        margin_names=tuple(margin.name for margin in margins),
        codes=tuple(margin.codes for margin in margins),
        n_levels=n_levels,
        level_columns=tuple(level_columns),
        n_columns=n_columns,
        base_weights=design.weights,
        normal_matrix=readonly(normal),
        psu_basis_totals=readonly(psu_totals),
    )

