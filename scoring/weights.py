"""Survey weights: base weights, nonresponse adjustment and trimming.

Base weights are inverse inclusion probabilities (Horvitz & Thompson 1952). The
nonresponse adjustment spreads the weight of sampled nonrespondents over the respondents of
the same weighting class (Kalton & Flores-Cervantes 2003, sec. 2.2). Trimming caps the
weights to bounds and shares the trimmed weight equally among the other respondents, as R's
``trimWeights``. Calibration (raking, post-stratification, GREG, bounded and logit
calibration) lives in :mod:`scoring.calibration`; its public functions are re-exported here.

References
----------
.. [1] Horvitz, D. G. & Thompson, D. J. (1952). A generalization of sampling without
   replacement from a finite universe. *JASA* 47, 663-685.
.. [2] Kalton, G. & Flores-Cervantes, I. (2003). Weighting methods. *Journal of Official
   Statistics* 19, 81-97.
.. [3] Potter, F. J. (1990). A study of procedures to identify and trim extreme sampling
   weights. *Proc. Survey Research Methods Section, ASA*, 225-230.
.. [4] R package ``survey`` 4.1-1: ``trimWeights``, ``postStratify``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.arrays import FloatArray, Grouping, as_float_vector, encode_groups, label_text, readonly
from scoring.calibration import (
    CalibrationError,
    Margin,
    NumericTotal,
    RakeResult,
    TrimmingSpec,
    weights_calibrate,
    weights_post_stratify,
    weights_rake,
)
from scoring.design import SurveyDesign

__all__ = [
    "CalibrationError",
    "Margin",
    "NonresponseResult",
    "NumericTotal",
    "RakeResult",
    "TrimResult",
    "trim_weight_vector",
    "weights_base",
    "weights_calibrate",
    "weights_nonresponse",
    "weights_post_stratify",
    "weights_rake",
    "weights_trim",
]


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


@dataclass(frozen=True, eq=False)
class NonresponseResult:
    """Weights after a nonresponse adjustment by weighting classes.

    Attributes
    ----------
    weights : ndarray, shape (n,)
        Adjusted weights of all sampled cases: 0 for nonrespondents.
    class_labels : tuple
        Label of each weighting class.
    factors : ndarray
        Adjustment factor per class: sampled weight over respondent weight.
    response_rates : ndarray
        Weighted response rate per class (the inverse of the factor).
    """

    weights: FloatArray
    class_labels: tuple[object, ...]
    factors: FloatArray
    response_rates: FloatArray


def weights_nonresponse(
    weights: npt.ArrayLike,
    responded: npt.ArrayLike,
    classes: Grouping | None = None,
    *,
    max_factor: float = np.inf,
) -> NonresponseResult:
    """Return weights adjusted for nonresponse within weighting classes.

    Within each class ``c``, respondents' weights are multiplied by
    ``sum_{sampled in c} w / sum_{respondents in c} w`` (the inverse of the weighted
    response rate), so that respondents carry the weight of the whole sample of their
    class; nonrespondents get weight 0. This equals R's ``postStratify`` of the respondents
    to the classes' sampled weight totals.

    Parameters
    ----------
    weights : array_like, shape (n,)
        Weights of every sampled (eligible) case, respondents and nonrespondents.
    responded : array_like of bool, shape (n,)
        Whether the case responded.
    classes : array_like or sequence of array_like, optional
        Weighting class of each case (several columns are crossed); one class by default.
    max_factor : float
        Largest adjustment factor allowed; a class above it is an error (collapse it).

    Raises
    ------
    ValueError
        If a class has no respondents, a factor exceeds `max_factor`, or inputs are invalid.

    References
    ----------
    Kalton & Flores-Cervantes (2003), sec. 2.2; Lumley (2010), sec. 7.2.
    """
    w = as_float_vector(weights, "weights")
    n = w.shape[0]
    if (w <= 0).any():
        row = int(np.flatnonzero(w <= 0)[0])
        raise ValueError(f"weights: weight {float(w[row])!r} at row {row} is not positive")
    flags = np.asarray(responded)
    if flags.shape != (n,):
        raise ValueError(f"responded: expected {n} values, got shape {flags.shape}")
    numeric = np.asarray(flags, dtype=np.float64) if flags.dtype.kind in "biuf" else None
    if numeric is None or np.isnan(numeric).any() or not np.isin(numeric, (0.0, 1.0)).all():
        raise ValueError("responded: expected booleans or 0/1 values")
    responding = numeric == 1.0
    if classes is None:
        codes = np.zeros(n, dtype=np.intp)
        labels: tuple[object, ...] = (None,)
    else:
        groups = encode_groups(classes, "classes", n=n)
        if (groups.codes < 0).any():
            row = int(np.flatnonzero(groups.codes < 0)[0])
            raise ValueError(f"classes: missing value at row {row}")
        codes = groups.codes
        labels = tuple(key if len(key) > 1 else key[0] for key in groups.keys)
    k = len(labels)
    sampled = np.bincount(codes, w, minlength=k)
    respondent = np.bincount(codes, np.where(responding, w, 0.0), minlength=k)
    if (respondent <= 0).any():
        c = int(np.flatnonzero(respondent <= 0)[0])
        raise ValueError(
            f"classes: weighting class {label_text(labels[c])} has no respondents; "
            "collapse it with a neighbouring class"
        )
    factors = sampled / respondent
    if (factors > max_factor).any():
        c = int(np.flatnonzero(factors > max_factor)[0])
        raise ValueError(
            f"classes: weighting class {label_text(labels[c])} needs a factor of "
            f"{factors[c]:.4g} > {max_factor:g}; collapse it with a neighbouring class"
        )
    adjusted = np.where(responding, w * factors[codes], 0.0)
    return NonresponseResult(
        weights=readonly(np.asarray(adjusted, dtype=np.float64)),
        class_labels=labels,
        factors=readonly(np.asarray(factors, dtype=np.float64)),
        response_rates=readonly(np.asarray(1.0 / factors, dtype=np.float64)),
    )


@dataclass(frozen=True, eq=False)
class TrimResult:
    """Outcome of trimming.

    Attributes
    ----------
    design : SurveyDesign
        The design with trimmed weights.
    n_trimmed : int
        Weights that were outside the bounds (in the first pass).
    iterations : int
        Passes of trimming and redistribution (more than 1 only with ``strict``).
    """

    design: SurveyDesign
    n_trimmed: int
    iterations: int

    @property
    def weights(self) -> FloatArray:
        """Return the trimmed weights."""
        return self.design.weights


def trim_weight_vector(
    weights: FloatArray, lower: float, upper: float, *, strict: bool = False, max_iter: int = 1000
) -> tuple[FloatArray, int, int]:
    """Return trimmed weights, the count of weights outside the bounds and the passes used.

    Weights outside ``[lower, upper]`` are set to the bound; the trimmed amount (positive
    or negative) is shared equally among the weights inside, which keeps the total. With
    `strict`, repeated until every weight is inside (R ``trimWeights(strict = TRUE)``).

    References
    ----------
    R ``survey::trimWeights.survey.design2``; Potter (1990).
    """
    w = np.asarray(weights, dtype=np.float64)
    outside = (w < lower) | (w > upper)
    n_trimmed = int(outside.sum())
    passes = 0
    while outside.any():
        passes += 1
        inside = ~outside
        if not inside.any():
            raise ValueError(
                f"trim: every weight is outside [{lower:g}, {upper:g}]; nothing to redistribute to"
            )
        clipped = np.clip(w, lower, upper)
        trimmed = float(np.sum(w - clipped))
        w = np.where(inside, clipped + trimmed / float(inside.sum()), clipped)
        outside = (w < lower) | (w > upper)
        if not strict:
            break
        if passes >= max_iter:
            raise ValueError(
                f"trim: weights did not settle inside [{lower:g}, {upper:g}] in {max_iter} "
                "passes; the bounds cannot hold the weight total"
            )
    return w, n_trimmed, passes


def weights_trim(
    design: SurveyDesign,
    *,
    lower: float = -np.inf,
    upper: float = np.inf,
    strict: bool = False,
) -> TrimResult:
    """Return the design with weights trimmed to ``[lower, upper]``, as R's ``trimWeights``.

    The weight trimmed from (or added to) the weights outside the bounds is shared equally
    among the other weights, so the total is kept; without `strict` a redistributed weight
    may end up outside the bounds. On a calibrated design the variance keeps using the
    calibration residuals, with the regression weights scaled by the trimming (R keeps the
    calibration's ``g sqrt(d)``), and replicate weights are trimmed the same way.

    Parameters
    ----------
    design : SurveyDesign
    lower, upper : float
        Bounds on the weights.
    strict : bool
        Repeat until every weight is inside the bounds.

    Raises
    ------
    ValueError
        If the bounds are not ordered or cannot be met.

    References
    ----------
    R ``survey::trimWeights.survey.design2``; Potter (1990).
    """
    if not lower < upper:
        raise ValueError(f"trim: the lower bound {lower:g} must be below the upper {upper:g}")
    old = design.weights
    trimmed, n_trimmed, passes = trim_weight_vector(old, lower, upper, strict=strict)
    if (trimmed <= 0).any():
        raise ValueError("trim: trimming would make a weight zero or negative; raise the lower bound")
    calibration = design.calibration
    if calibration is not None:
        calibration = dataclasses.replace(
            calibration,
            regression_weights=readonly(calibration.regression_weights * trimmed / old),
        )
    spec = TrimmingSpec(
        lower=float(lower), upper=float(upper), strict=strict, weights_before=old
    )
    if design.trimming is not None:
        raise ValueError("trim: the design weights are already trimmed")
    trimmed_design = dataclasses.replace(
        design, weights=readonly(trimmed), calibration=calibration, trimming=spec
    )
    return TrimResult(design=trimmed_design, n_trimmed=n_trimmed, iterations=passes)
