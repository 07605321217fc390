"""Calibration of survey weights: raking, post-stratification, linear (GREG), bounded, logit.

Calibration finds weights ``w = d g(x' lambda)`` close to the base weights ``d`` whose
weighted totals of the calibration variables ``x`` equal known population totals
(Deville & Särndal 1992). The calibration function ``g`` is linear (the GREG estimator),
exponential (raking) or logistic between bounds; the linear and exponential functions may
be truncated to bounds ``[L, U]`` on ``g``, as R's ``calibrate(bounds =, calfun =)``.

Categorical variables are population margins (totals per level); the adjustment factor is
then a function of the cell (the combination of margin levels) only, so the iterations run
over cell totals, not rows. Raking without bounds uses iterative proportional fitting
(Deming & Stephan 1940); once a pass no longer halves the margin error, or for any other
calibration function, the equations are solved by damped Newton steps on the convex dual
``sum_u d_u G(x_u' lambda) - T' lambda`` (``G' = g``), as R's ``grake``, which reach the same
fixed point. Numeric variables (e.g. a size measure) make every row its own unit.

The calibrated design records the regression basis, so that the linearised variance uses
the calibration residuals (R's ``greg_calibration``), and the calibration problem, so that
replicate weights are calibrated the same way.

References
----------
.. [1] Deming, W. E. & Stephan, F. F. (1940). On a least squares adjustment of a sampled
   frequency table when the expected marginal totals are known. *Ann. Math. Statist.* 11,
   427-444.
.. [2] Deville, J.-C. & Särndal, C.-E. (1992). Calibration estimators in survey sampling.
   *JASA* 87, 376-382.
.. [3] Deville, J.-C., Särndal, C.-E. & Sautory, O. (1993). Generalized raking procedures in
   survey sampling. *JASA* 88, 1013-1020.
.. [4] Särndal, C.-E., Swensson, B. & Wretman, J. (1992). *Model Assisted Survey Sampling*,
   ch. 6-7 (the GREG estimator).
.. [5] Lumley, T. (2010). *Complex Surveys*, ch. 7.
.. [6] R package ``survey`` 4.1-1: ``calibrate.survey.design2``, ``regcalibrate``, ``grake``,
   ``cal.linear``, ``cal.raking``, ``cal.logit``, ``postStratify``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from scoring.arrays import (
    Encoded,
    FloatArray,
    Grouping,
    IntArray,
    as_float_vector,
    encode_groups,
    encode_labels,
    grouping_columns,
    label_text,
    readonly,
)
from scoring.design import Calibration, SurveyDesign
from scoring.variance import bincount_2d

Calfun = Literal["linear", "raking", "logit"]
CALFUNS: tuple[str, ...] = get_args(Calfun)

# A proportional-fitting sweep must cut the margin error at least by this factor, or raking
# continues with Newton steps.
_IPF_MIN_GAIN = 0.5
# R's grake rescales the weights when every population total exceeds the sample total by
# more than this factor.
_GRAKE_RESCALE_THRESHOLD = 20.0
# Newton iterations without a 1% gain in the margin error before calibration gives up.
_NEWTON_PATIENCE = 30


class CalibrationError(ValueError):
    """Calibration did not reach the population totals within the iteration limit."""


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
    levels : sequence, optional
        Label of each level, for messages.

    Raises
    ------
    ValueError
        If a code is not a level, or a total is negative or not finite.
    """

    codes: IntArray
    totals: FloatArray
    name: str
    levels: tuple[object, ...] | None

    def __init__(
        self,
        codes: npt.ArrayLike,
        totals: npt.ArrayLike,
        name: str = "margin",
        levels: Sequence[object] | None = None,
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
        if levels is not None and len(levels) != total_array.shape[0]:
            raise ValueError(
                f"margin {name!r}: {len(levels)} level labels for {total_array.shape[0]} totals"
            )
        object.__setattr__(self, "codes", readonly(code_array))
        object.__setattr__(self, "totals", readonly(total_array))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "levels", None if levels is None else tuple(levels))

    def level_text(self, level: int) -> str:
        """Return the label of `level` for messages (its number when there are no labels)."""
        if self.levels is None:
            return str(level)
        return repr(label_text(self.levels[level]))

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
            levels=levels,
        )


@dataclass(frozen=True, eq=False)
class RakeResult:
    """Outcome of a calibration: raking, post-stratification, linear (GREG), bounded or logit.

    Attributes
    ----------
    design : SurveyDesign
        The calibrated design; ``design.weights`` are the new weights.
    iterations : int
        Number of passes: proportional-fitting sweeps over all margins and Newton steps.
    converged : bool
        Whether every margin was met within the tolerance.
    max_rel_error : float
        Largest ``|weighted total - population total| / population total`` over all levels
        of all margins (and numeric totals) after the last pass.
    margin_errors : tuple of float
        The largest relative error of each margin and numeric total, in the order given.
    """

    design: SurveyDesign
    iterations: int
    converged: bool
    max_rel_error: float
    margin_errors: tuple[float, ...] = ()

    @property
    def weights(self) -> FloatArray:
        """Return the calibrated weights."""
        return self.design.weights




@dataclass(frozen=True, eq=False, init=False)
class NumericTotal:
    """A numeric calibration variable (e.g. a size measure) and its population total.

    Parameters
    ----------
    values : array_like, shape (n,)
        Value of each respondent; finite.
    total : float
        Population total of the variable.
    name : str
        Name used in messages and diagnostics.
    """

    values: FloatArray
    total: float
    name: str

    def __init__(self, values: npt.ArrayLike, total: float, name: str = "x") -> None:
        array = as_float_vector(values, f"numeric total {name!r}")
        if not np.isfinite(total):
            raise ValueError(f"numeric total {name!r}: the population total must be finite")
        object.__setattr__(self, "values", readonly(array))
        object.__setattr__(self, "total", float(total))
        object.__setattr__(self, "name", name)


@dataclass(frozen=True, eq=False)
class CalibrationSpec:
    """A calibration problem, kept on the calibrated design to calibrate replicate weights.

    Attributes
    ----------
    method : str
        ``"raking"``, ``"poststratification"``, ``"linear"`` or ``"logit"``.
    calfun : str
        Calibration function: ``"linear"``, ``"raking"`` or ``"logit"``.
    margins : tuple of Margin
        Categorical variables.
    numeric : tuple of NumericTotal
        Numeric variables.
    population_size : float or None
        Population size (the total of the intercept) when there are no margins.
    bounds : tuple of float
        Bounds ``(L, U)`` on the adjustment factor ``g``; ``(-inf, inf)`` for none.
    tol, max_iter, total_rtol, force
        As in :func:`weights_calibrate`.
    """

    method: str
    calfun: Calfun
    margins: tuple[Margin, ...]
    numeric: tuple[NumericTotal, ...]
    population_size: float | None
    bounds: tuple[float, float]
    tol: float
    max_iter: int
    total_rtol: float
    force: bool


@dataclass(frozen=True, eq=False)
class TrimmingSpec:
    """Bounds of a weight trimming (R ``trimWeights``), kept to trim replicate weights alike.

    Attributes
    ----------
    lower, upper : float
        Bounds on the weights.
    strict : bool
        Whether trimming was repeated until every weight was inside the bounds.
    weights_before : ndarray
        The weights before trimming.
    """

    lower: float
    upper: float
    strict: bool
    weights_before: FloatArray


def weights_rake(
    design: SurveyDesign,
    margins: Sequence[Margin],
    *,
    tol: float = 1e-10,
    max_iter: int = 1000,
    total_rtol: float = 1e-6,
    force: bool = False,
    bounds: tuple[float, float] | None = None,
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
    bounds : (float, float), optional
        Bounds ``(L, U)`` on the raking factor ``g = w / d`` (R ``calibrate(bounds = ,
        calfun = "raking")``).

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
    return weights_calibrate(
        design, margins, calfun="raking", bounds=bounds, tol=tol, max_iter=max_iter,
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
    spec = CalibrationSpec(
        method="poststratification", calfun="raking", margins=(margin,), numeric=(),
        population_size=None, bounds=(-np.inf, np.inf), tol=1e-10, max_iter=10,
        total_rtol=0.0, force=False,
    )
    return _calibrate(design, spec)


def weights_calibrate(
    design: SurveyDesign,
    margins: Sequence[Margin] = (),
    numeric: Sequence[NumericTotal] = (),
    *,
    calfun: Calfun = "linear",
    bounds: tuple[float, float] | None = None,
    population_size: float | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
    total_rtol: float = 1e-6,
    force: bool = False,
) -> RakeResult:
    """Return the design calibrated to population totals of categorical and numeric variables.

    Parameters
    ----------
    design : SurveyDesign
        An uncalibrated design; its weights are the base weights ``d``.
    margins : sequence of Margin
        Categorical variables with the population total of each level. They imply an
        intercept (the population size, the grand total of the first margin).
    numeric : sequence of NumericTotal
        Numeric variables with their population totals.
    calfun : {"linear", "raking", "logit"}
        Calibration function: ``g = 1 + x' lambda`` (GREG), ``exp(x' lambda)`` (raking) or
        the logistic function between the bounds (which must then be finite, ``L < 1 < U``).
    bounds : (float, float), optional
        Bounds ``(L, U)`` on ``g = w / d``; the linear and raking functions are truncated to
        them. As R, when every population total exceeds its sample total more than 20-fold
        the weights are first rescaled by the mean ratio and the bounds apply to the
        rescaled problem.
    population_size : float, optional
        Population size, the total of an intercept, when there are no margins.
    tol : float
        Stop when every level's (and numeric total's) relative error is at most `tol`.
    max_iter : int
        Maximum number of iterations.
    total_rtol : float
        Margins must agree on the grand total within this relative tolerance (and with
        `population_size`, if given).
    force : bool
        Return a non-converged result instead of raising :class:`CalibrationError`.

    Returns
    -------
    RakeResult

    Raises
    ------
    ValueError
        For margins that disagree, levels without respondents but with a population total
        (or the reverse), invalid bounds, or an already calibrated design.
    CalibrationError
        If the totals are not met (e.g. the bounds are too tight) and `force` is false.

    References
    ----------
    Deville & Särndal (1992); Särndal, Swensson & Wretman (1992), ch. 6; R
    ``survey::calibrate``, ``survey:::regcalibrate``, ``survey:::grake``.
    """
    if calfun not in CALFUNS:
        raise ValueError(f"calfun must be one of {CALFUNS}, got {calfun!r}")
    low, high = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    if not low < high or np.isnan(low) or np.isnan(high):
        raise ValueError(f"bounds: the lower bound must be below the upper, got {bounds!r}")
    if not low <= 1.0 <= high:
        raise ValueError(f"bounds: the interval must contain g = 1, got {bounds!r}")
    if calfun == "logit" and not (np.isfinite(low) and np.isfinite(high) and low < 1.0 < high):
        raise ValueError("calfun='logit' needs finite bounds with L < 1 < U")
    if calfun == "raking" and low < 0:
        low = 0.0
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    method = {"linear": "linear", "raking": "raking", "logit": "logit"}[calfun]
    spec = CalibrationSpec(
        method=method, calfun=calfun, margins=tuple(margins), numeric=tuple(numeric),
        population_size=population_size, bounds=(low, high), tol=tol, max_iter=max_iter,
        total_rtol=total_rtol, force=force,
    )
    return _calibrate(design, spec)


@dataclass(frozen=True, eq=False)
class CalibrationProblem:
    """A calibration problem over units: basis, targets and the unit of each row.

    Attributes
    ----------
    unit : ndarray of intp, shape (n,)
        Calibration unit of each row (a cell of margin levels, or the row).
    basis : ndarray, shape (n_units, q)
        Calibration variables per unit.
    targets : ndarray, shape (q,)
        Population totals of the basis columns.
    level_columns : tuple of ndarray
        Per margin, the basis column of each level (-1: reference or empty level).
    numeric_columns : ndarray of intp
        Basis column of each numeric variable.
    intercept : bool
        Whether column 0 is an intercept.
    margin_totals : tuple of ndarray
        Per margin, the (rescaled) population total of each level.
    unit_levels : tuple of ndarray
        Per margin, the level of each unit.
    """

    unit: IntArray
    basis: FloatArray
    targets: FloatArray
    level_columns: tuple[IntArray, ...]
    numeric_columns: IntArray
    intercept: bool
    margin_totals: tuple[FloatArray, ...]
    unit_levels: tuple[IntArray, ...]

    @property
    def n_units(self) -> int:
        """Number of calibration units."""
        return int(self.basis.shape[0])


def calibration_problem(spec: CalibrationSpec, n: int) -> CalibrationProblem:
    """Return the units, basis and targets of a calibration problem over `n` rows.

    The basis is an intercept and, per margin, the indicators of its levels that have
    respondents, except the first (the treatment contrasts of R's ``model.matrix``), then
    the numeric variables; it spans the same space as all the indicators, so the solution
    and the residuals are the same as R's.

    Raises
    ------
    ValueError
        For margins or values of the wrong length, margins that disagree on the total, or
        levels with a population total but no respondents (and the reverse).
    """
    margins = spec.margins
    if not margins and not spec.numeric:
        raise ValueError("margins: at least one margin or numeric total is needed")
    for margin in margins:
        if margin.codes.shape[0] != n:
            raise ValueError(
                f"margin {margin.name!r}: expected {n} codes, got {margin.codes.shape[0]}"
            )
    for variable in spec.numeric:
        if variable.values.shape[0] != n:
            raise ValueError(
                f"numeric total {variable.name!r}: expected {n} values, "
                f"got {variable.values.shape[0]}"
            )
    totals = _consistent_totals(margins, spec.total_rtol) if margins else []
    if margins and spec.population_size is not None:
        grand = float(totals[0].sum())
        if abs(spec.population_size - grand) > spec.total_rtol * grand:
            raise ValueError(
                f"population_size {spec.population_size:.10g} disagrees with the grand total "
                f"{grand:.10g} of margin {margins[0].name!r}"
            )
    n_levels = tuple(int(margin.totals.shape[0]) for margin in margins)
    if spec.numeric or not margins:
        unit = np.arange(n, dtype=np.intp)
        unit_codes = [margin.codes for margin in margins]
        n_units = n
    else:
        unit, unit_codes = _cells(margins)
        n_units = int(unit_codes[0].shape[0])
    for margin, codes, levels, target in zip(margins, unit_codes, n_levels, totals):
        _check_levels(margin, np.bincount(codes, minlength=levels) > 0, target)

    intercept = bool(margins) or spec.population_size is not None
    level_columns: list[IntArray] = []
    next_column = 1 if intercept else 0
    targets: list[float] = []
    if intercept:
        targets.append(float(totals[0].sum()) if margins else float(spec.population_size or 0))
    for codes, levels, target in zip(unit_codes, n_levels, totals):
        populated = np.flatnonzero(np.bincount(codes, minlength=levels) > 0)
        mapping = np.full(levels, -1, dtype=np.intp)
        mapping[populated[1:]] = np.arange(
            next_column, next_column + populated.shape[0] - 1, dtype=np.intp
        )
        next_column += populated.shape[0] - 1
        targets.extend(float(t) for t in target[populated[1:]])
        level_columns.append(readonly(mapping))
    numeric_columns = np.arange(next_column, next_column + len(spec.numeric), dtype=np.intp)
    targets.extend(variable.total for variable in spec.numeric)
    n_columns = next_column + len(spec.numeric)

    basis = np.zeros((n_units, n_columns))
    if intercept:
        basis[:, 0] = 1.0
    for codes, mapping in zip(unit_codes, level_columns):
        column = mapping[codes]
        has = column >= 0
        basis[np.flatnonzero(has), column[has]] = 1.0
    for variable, column_index in zip(spec.numeric, numeric_columns):
        basis[:, column_index] = variable.values
    return CalibrationProblem(
        unit=readonly(unit),
        basis=readonly(basis),
        targets=readonly(np.asarray(targets, dtype=np.float64)),
        level_columns=tuple(level_columns),
        numeric_columns=readonly(numeric_columns),
        intercept=intercept,
        margin_totals=tuple(totals),
        unit_levels=tuple(readonly(np.asarray(codes, dtype=np.intp)) for codes in unit_codes),
    )


def _calibrate(design: SurveyDesign, spec: CalibrationSpec) -> RakeResult:
    if design.calibration is not None:
        raise ValueError(
            "design is already calibrated; calibrate the uncalibrated design in one step"
        )
    if design.trimming is not None:
        raise ValueError("design weights are trimmed; calibrate before trimming")
    problem = calibration_problem(spec, design.n_rows)
    d = design.weights
    unit_weight = np.asarray(
        np.bincount(problem.unit, d, minlength=problem.n_units), dtype=np.float64
    )
    solution = solve_calibration(problem, spec, unit_weight)
    if not solution.converged and not spec.force:
        raise CalibrationError(
            f"{spec.method} did not converge in {solution.iterations} iterations "
            f"(max relative margin error {solution.error:.3g} > {spec.tol:g})"
        )
    weights = d * solution.factor[problem.unit]
    calibration = calibration_record(design, spec, problem, weights)
    calibrated = dataclasses.replace(design, weights=readonly(weights), calibration=calibration)
    return RakeResult(
        design=calibrated, iterations=solution.iterations, converged=solution.converged,
        max_rel_error=solution.error,
        margin_errors=tuple(_errors_by_variable(problem, unit_weight * solution.factor)),
    )


@dataclass(frozen=True)
class CalibrationSolution:
    """Adjustment factor of each unit and convergence diagnostics."""

    factor: FloatArray
    iterations: int
    converged: bool
    error: float


def solve_calibration(
    problem: CalibrationProblem, spec: CalibrationSpec, unit_weight: FloatArray
) -> CalibrationSolution:
    """Return the adjustment factors ``g`` of the units for starting unit weights `unit_weight`.

    Post-stratification scales each cell; unbounded raking on margins starts with
    proportional fitting; everything else (and raking that stalls) takes damped Newton
    steps on the dual of the calibration problem.
    """
    bounded = _is_bounded(spec)
    low, high = spec.bounds
    if spec.method == "poststratification":
        target = problem.margin_totals[0]
        codes = problem.unit_levels[0]
        current = np.bincount(codes, unit_weight, minlength=target.shape[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(current > 0, target / current, 1.0)
        factor = np.asarray(ratio[codes], dtype=np.float64)
        error = _max_error(problem, unit_weight * factor)
        return CalibrationSolution(factor, 1, bool(error <= spec.tol), error)
    if spec.calfun == "linear" and not bounded:
        return _solve_linear(problem, spec, unit_weight)
    factor = np.ones(problem.n_units)
    iterations = 0
    error = _max_error(problem, unit_weight)
    if error <= spec.tol:
        return CalibrationSolution(factor, 0, True, error)
    if spec.calfun == "raking" and not bounded and not spec.numeric and problem.intercept:
        factor, iterations, error = _ipf(problem, spec, unit_weight)
        if error <= spec.tol:
            return CalibrationSolution(factor, iterations, True, error)
    return _newton(problem, spec, unit_weight, factor, iterations)


def _is_bounded(spec: CalibrationSpec) -> bool:
    """Whether the bounds restrict g (raking's g is positive anyway: a lower bound 0 is none)."""
    low, high = spec.bounds
    if spec.calfun == "raking":
        return bool(low > 0 or np.isfinite(high))
    return bool(np.isfinite(low) or np.isfinite(high))


def _achieved(problem: CalibrationProblem, unit_total: FloatArray) -> FloatArray:
    return np.asarray(problem.basis.T @ unit_total, dtype=np.float64)


def _max_error(problem: CalibrationProblem, unit_total: FloatArray) -> float:
    """Return the largest relative error over every margin level and numeric total."""
    errors = _errors_by_variable(problem, unit_total)
    return max(errors) if errors else 0.0


def _errors_by_variable(problem: CalibrationProblem, unit_total: FloatArray) -> list[float]:
    errors: list[float] = []
    for index, target in enumerate(problem.margin_totals):
        achieved = np.bincount(
            problem.unit_levels[index], unit_total, minlength=target.shape[0]
        )
        positive = target > 0
        rel = np.abs(achieved[positive] - target[positive]) / target[positive]
        errors.append(float(rel.max(initial=0.0)))
    if problem.numeric_columns.size:
        achieved_all = _achieved(problem, unit_total)
        for column in problem.numeric_columns:
            target_value = float(problem.targets[column])
            scale = abs(target_value) if target_value != 0 else 1.0
            errors.append(abs(float(achieved_all[column]) - target_value) / scale)
    if problem.intercept and not problem.margin_totals:
        errors.append(abs(float(unit_total.sum()) - float(problem.targets[0]))
                      / max(abs(float(problem.targets[0])), 1.0))
    return errors


def _solve_linear(
    problem: CalibrationProblem, spec: CalibrationSpec, unit_weight: FloatArray
) -> CalibrationSolution:
    """Return the GREG factors ``g = 1 + x' (X'DX)^- (T - X'd)`` (R ``regcalibrate``)."""
    basis = problem.basis
    normal = basis.T @ (unit_weight[:, None] * basis)
    coefficients = np.zeros(basis.shape[1])
    factor = np.ones(problem.n_units)
    error = _max_error(problem, unit_weight)
    iterations = 0
    # One solve gives the answer; a few rounds of iterative refinement remove the rounding
    # error of an ill-conditioned basis (e.g. a size measure next to indicators).
    while iterations < 4 and (iterations == 0 or error > spec.tol):
        iterations += 1
        misfit = problem.targets - basis.T @ (unit_weight * factor)
        coefficients = coefficients + np.linalg.lstsq(normal, misfit, rcond=None)[0]
        factor = np.asarray(1.0 + basis @ coefficients, dtype=np.float64)
        error = _max_error(problem, unit_weight * factor)
    return CalibrationSolution(factor, iterations, bool(error <= spec.tol), error)


def _ipf(
    problem: CalibrationProblem, spec: CalibrationSpec, unit_weight: FloatArray
) -> tuple[FloatArray, int, float]:
    """Return raking factors after proportional fitting, stopping once it stalls.

    References
    ----------
    Deming & Stephan (1940).
    """
    levels = problem.unit_levels
    factor = np.ones(problem.n_units)
    iterations = 0
    error = np.inf
    while iterations < spec.max_iter:
        iterations += 1
        for codes, target in zip(levels, problem.margin_totals):
            current = np.bincount(codes, unit_weight * factor, minlength=target.shape[0])
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(current > 0, target / current, 1.0)
            factor = np.asarray(factor * ratio[codes], dtype=np.float64)
        previous, error = error, _max_error(problem, unit_weight * factor)
        # IPF converges linearly, and slowly when margin levels nearly coincide; once a sweep
        # no longer halves the error, finish with Newton steps on the same equations.
        if error <= spec.tol or error > _IPF_MIN_GAIN * previous:
            break
    return factor, iterations, float(error)


def _calfun_values(
    calfun: str, u: FloatArray, low: float, high: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return ``g(u)``, ``g'(u)`` and the antiderivative ``G(u)`` (with ``G(0) = 0``-ish)."""
    if calfun == "linear":
        raw = 1.0 + u
        g = np.clip(raw, low, high)
        inside = (raw > low) & (raw < high)
        derivative = inside.astype(np.float64)
        # G = u + u^2/2 inside; continued linearly with slope L (or U) outside.
        u_low, u_high = low - 1.0, high - 1.0
        big = np.where(raw < low, _lin_g(u_low) + low * (u - u_low),
                       np.where(raw > high, _lin_g(u_high) + high * (u - u_high), _lin_g(u)))
        return g, derivative, np.asarray(big, dtype=np.float64)
    if calfun == "raking":
        with np.errstate(over="ignore"):
            e = np.exp(np.clip(u, -700.0, 700.0))
        g = np.clip(e, low, high)
        inside = (e > low) & (e < high)
        derivative = np.where(inside, e, 0.0)
        # G = exp(u) inside; continued linearly (slope L or U) beyond a bound.
        antiderivative = e
        if low > 0:
            antiderivative = np.where(e < low, low * (u - np.log(low)) + low, antiderivative)
        if np.isfinite(high):
            antiderivative = np.where(e > high, high * (u - np.log(high)) + high, antiderivative)
        return g, derivative, np.asarray(antiderivative, dtype=np.float64)
    # Logit between the bounds (Deville & Särndal 1992, case 6; R cal.logit).
    a = (high - low) / ((high - 1.0) * (1.0 - low))
    au = np.clip(a * u, -700.0, 700.0)
    with np.errstate(over="ignore"):
        e = np.exp(au)
    denominator = (high - 1.0) + (1.0 - low) * e
    g = low + (high - low) * (1.0 - low) * e / denominator
    g = np.where(np.isinf(e), high, g)
    derivative = (high - low) * (1.0 - low) * (high - 1.0) * a * e / denominator**2
    derivative = np.where(np.isinf(e) | (derivative != derivative), 0.0, derivative)
    # G(u) = L u + (U - L)/A log(U - 1 + (1 - L) e^{Au}), evaluated without overflow.
    log_den = np.where(
        au > 30.0, au + np.log(1.0 - low) + np.log1p((high - 1.0) / ((1.0 - low) * e)),
        np.log(denominator),
    )
    antiderivative = low * u + (high - low) / a * log_den
    return np.asarray(g, dtype=np.float64), np.asarray(derivative, dtype=np.float64), \
        np.asarray(antiderivative, dtype=np.float64)


def _lin_g(u: FloatArray | float) -> FloatArray:
    value = np.asarray(u, dtype=np.float64)
    return np.asarray(value + value * value / 2.0, dtype=np.float64)


def _newton(
    problem: CalibrationProblem,
    spec: CalibrationSpec,
    unit_weight: FloatArray,
    start: FloatArray,
    iterations: int,
) -> CalibrationSolution:
    """Return factors from damped Newton steps on the dual of the calibration problem.

    The factors are ``g(X eta)`` with ``eta`` minimising the convex
    ``F(eta) = sum_u d_u G(x_u' eta) - T' eta``, whose gradient is the misfit of the totals.
    Each step solves ``X' diag(d g'(X eta)) X delta = T - X' d g(X eta)`` with a
    pseudo-inverse (the Hessian is singular where units reach a bound, R uses
    ``MASS::ginv``) and is halved until ``F`` decreases enough (Armijo rule).

    References
    ----------
    Deville, Särndal & Sautory (1993), sec. 3; R ``survey:::grake``; Nocedal, J. & Wright,
    S. J. (2006). *Numerical Optimization*, 2nd ed., sec. 3.1.
    """
    low, high = spec.bounds
    bounded = _is_bounded(spec)
    basis = problem.basis
    weight = unit_weight
    sample_total = basis.T @ weight
    scale = 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = problem.targets / sample_total
    if ratios.size and np.all(ratios > _GRAKE_RESCALE_THRESHOLD):
        # R's grake: rescale the weights when the population is far above the sample.
        scale = float(np.mean(ratios))
        weight = weight * scale
    if spec.calfun == "raking" and scale == 1.0 and not np.all(start == 1.0):
        eta_start = np.linalg.lstsq(basis, np.log(start), rcond=None)[0]
    else:
        eta_start = np.zeros(basis.shape[1])
    eta = np.asarray(eta_start, dtype=np.float64)
    targets = problem.targets

    def objective(candidate: FloatArray) -> tuple[float, FloatArray, FloatArray, FloatArray]:
        with np.errstate(over="ignore", invalid="ignore"):
            u = basis @ candidate
            g, derivative, antiderivative = _calfun_values(spec.calfun, u, low, high)
            value = float(weight @ antiderivative) - float(targets @ candidate)
        return value, g, derivative, u

    value, g, derivative, _ = objective(eta)
    error = _max_error(problem, unit_weight * g * scale)
    converged = error <= spec.tol
    best, since_best = error, 0
    while not converged and iterations < spec.max_iter:
        iterations += 1
        # Infeasible bounds make the dual unbounded: stop once the misfit stalls.
        if bounded and since_best >= _NEWTON_PATIENCE:
            break
        gradient = basis.T @ (weight * g) - targets
        hessian = basis.T @ ((weight * derivative)[:, None] * basis)
        with np.errstate(over="ignore", invalid="ignore"):
            # Near infeasible bounds the Newton step can overflow; the test below catches it.
            delta = -np.linalg.pinv(hessian, rcond=256 * np.finfo(float).eps, hermitian=True) @ gradient
            slope = float(gradient @ delta)
        if not (slope < 0 and np.isfinite(slope)):
            # A flat direction (all units at a bound) or an overflowing one: fall back to the gradient.
            delta = -gradient / max(float(np.abs(gradient).max()), 1.0)
            slope = float(gradient @ delta)
        misfit = float(np.abs(gradient).max())
        step = 1.0
        for _ in range(80):
            trial = eta + step * delta
            trial_value, trial_g, trial_derivative, _ = objective(trial)
            decreased = np.isfinite(trial_value) and trial_value <= value + 1e-4 * step * slope
            # Near the solution F changes by less than its rounding error: then accept a
            # step that reduces the misfit of the totals.
            flat = np.isfinite(trial_value) and abs(trial_value - value) <= 1e-11 * max(
                abs(value), 1.0
            ) and float(np.abs(basis.T @ (weight * trial_g) - targets).max()) < misfit
            if decreased or flat:
                eta, value, g, derivative = trial, trial_value, trial_g, trial_derivative
                break
            step /= 2.0
        else:
            if bounded:
                break
            continue  # no step decreases F: count the pass, as proportional fitting does
        error = _max_error(problem, unit_weight * g * scale)
        converged = error <= spec.tol
        if error < 0.99 * best:
            best, since_best = error, 0
        else:
            since_best += 1
    return CalibrationSolution(
        np.asarray(g * scale, dtype=np.float64), iterations, bool(converged), float(error)
    )


def calibration_record(
    design: SurveyDesign,
    spec: CalibrationSpec,
    problem: CalibrationProblem,
    weights: FloatArray,
) -> Calibration:
    """Return what the linearised variance needs: basis, cross-products, stage totals."""
    d = design.weights
    unit_weight = np.bincount(problem.unit, d, minlength=problem.n_units)
    normal = problem.basis.T @ (unit_weight[:, None] * problem.basis)
    stage_units = [(design.psu, design.n_psu)] + [
        (stage.unit, stage.n_units) for stage in design.stages
    ]
    stage_totals = tuple(
        readonly(_stage_basis_totals(problem, spec, unit, n_units, weights))
        for unit, n_units in stage_units
    )
    return Calibration(
        method=spec.method,
        margin_names=tuple(m.name for m in spec.margins) + tuple(v.name for v in spec.numeric),
        unit=problem.unit,
        basis=problem.basis,
        base_weights=design.weights,
        regression_weights=design.weights,
        normal_matrix=readonly(normal),
        stage_basis_totals=stage_totals,
        spec=spec,
    )


def _stage_basis_totals(
    problem: CalibrationProblem,
    spec: CalibrationSpec,
    unit: IntArray,
    n_units: int,
    weights: FloatArray,
) -> FloatArray:
    """Return ``sum over each sampling unit of w * x``, shape (n_units, q)."""
    totals = np.zeros((n_units, problem.basis.shape[1]))
    if problem.intercept:
        totals[:, 0] = np.bincount(unit, weights, minlength=n_units)
    for margin, mapping in zip(spec.margins, problem.level_columns):
        levels = int(margin.totals.shape[0])
        table = bincount_2d(unit, n_units, margin.codes, levels, weights)
        used = mapping >= 0
        totals[:, mapping[used]] = table[:, used]
    for variable, column in zip(spec.numeric, problem.numeric_columns):
        totals[:, column] = np.bincount(unit, weights * variable.values, minlength=n_units)
    return totals


def _grouping_length(labels: Grouping) -> int:
    first = grouping_columns(labels)[0]
    if isinstance(first, Encoded):
        return int(first.codes.shape[0])
    return int(np.asarray(first, dtype=object).shape[0])


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


def _check_levels(
    margin: Margin, has_respondents: npt.NDArray[np.bool_], target: FloatArray
) -> None:
    empty = (target > 0) & ~has_respondents
    if empty.any():
        level = int(np.flatnonzero(empty)[0])
        raise ValueError(
            f"margin {margin.name!r}: level {margin.level_text(level)} has a population total "
            f"of {target[level]:.10g} but no respondents; collapse it with a neighbouring level"
        )
    zero = (target == 0) & has_respondents
    if zero.any():
        level = int(np.flatnonzero(zero)[0])
        raise ValueError(
            f"margin {margin.name!r}: level {margin.level_text(level)} has respondents but a "
            "population total of 0"
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
