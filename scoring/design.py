"""Description of a complex sample design: weights, strata, primary sampling units, FPC.

A :class:`SurveyDesign` is the Python counterpart of R's ``svydesign(ids = ~psu,
strata = ~stratum, weights = ~w, fpc = ~N)`` for the ultimate-cluster variance estimator
(Lumley 2010, sec. 2.3 and appendix C): only the first sampling stage is described, and the
variance is computed from first-stage PSU totals as if PSUs were drawn with replacement, with
an optional finite population correction per stratum.

References
----------
.. [1] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
.. [2] R package ``survey`` 4.1-1, functions ``svydesign.default``, ``as.fpc``, ``onestrat``,
   ``degf.survey.design2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from scoring.arrays import (
    BoolArray,
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

LonelyPsu = Literal["fail", "remove", "certainty", "adjust", "average"]
LONELY_PSU_OPTIONS: tuple[str, ...] = get_args(LonelyPsu)

# R's onestrat() treats a stratum whose sampling fraction is this close to 1 as a certainty
# stratum with no variance.
CERTAINTY_FRACTION = 1e-7


class LonelyPsuError(ValueError):
    """A stratum has a single PSU and ``lonely_psu="fail"`` was asked for.

    Attributes
    ----------
    strata : tuple
        Labels of the strata with a single PSU.
    """

    def __init__(self, strata: tuple[object, ...]) -> None:
        self.strata = strata
        names = ", ".join(label_text(label) for label in strata)
        plural = "Strata" if len(strata) > 1 else "Stratum"
        super().__init__(
            f"{plural} ({names}) {'have' if len(strata) > 1 else 'has'} only one PSU at stage 1; "
            "choose lonely_psu='remove', 'certainty', 'adjust' or 'average', "
            "or collapse the stratum with a neighbour"
        )


@dataclass(frozen=True, eq=False)
class Calibration:
    """What the variance estimator needs to know about a calibration of the weights.

    The linearised variance of a calibrated estimator replaces each unit's score by its
    residual from the weighted regression (base weights) on the calibration variables
    (Deville & Särndal 1992, eq. 3.4; R ``svyrecvar`` with a ``greg_calibration`` object).
    For raking and post-stratification the calibration variables are the indicator columns
    of the margins, so the regression is described by integer codes.

    Attributes
    ----------
    method : str
        ``"raking"`` or ``"poststratification"``.
    margin_names : tuple of str
        Name of each margin.
    codes : tuple of ndarray of intp
        Level of each row on each margin.
    n_levels : tuple of int
        Number of levels of each margin.
    level_columns : tuple of ndarray of intp
        For each margin, the column of the regression basis of each level (-1: the level is
        the reference level of the margin, or has no respondents). Column 0 is the intercept.
    n_columns : int
        Number of columns of the basis.
    base_weights : ndarray
        Weights before calibration (``d`` in Deville & Särndal).
    normal_matrix : ndarray, shape (n_columns, n_columns)
        ``X' diag(d) X``.
    psu_basis_totals : ndarray, shape (n_psu, n_columns)
        ``sum over the PSU of w * x`` with the calibrated weights ``w``.
    """

    method: str
    margin_names: tuple[str, ...]
    codes: tuple[IntArray, ...]
    n_levels: tuple[int, ...]
    level_columns: tuple[IntArray, ...]
    n_columns: int
    base_weights: FloatArray
    normal_matrix: FloatArray
    psu_basis_totals: FloatArray


@dataclass(frozen=True, eq=False)
class SurveyDesign:
    """A one-stage (ultimate cluster) description of a complex sample.

    Build it with :func:`design_create`; calibrated designs come from
    :func:`scoring.weights.weights_rake` and :func:`scoring.weights.weights_post_stratify`.
    PSUs are numbered so that the PSUs of a stratum are contiguous.

    Attributes
    ----------
    weights : ndarray, shape (n,)
        Final weights of the respondents.
    stratum : ndarray of intp, shape (n,)
        Stratum of each row.
    psu : ndarray of intp, shape (n,)
        PSU of each row.
    psu_stratum : ndarray of intp, shape (n_psu,)
        Stratum of each PSU, non-decreasing.
    stratum_labels : tuple
        Label of each stratum (a tuple when strata were given as several columns).
    stratum_n_psu : ndarray of intp, shape (n_strata,)
        Number of sampled PSUs per stratum (R ``fpc$sampsize``).
    stratum_population : ndarray, shape (n_strata,)
        Number of PSUs in the population per stratum, ``inf`` without FPC
        (R ``fpc$popsize``).
    lonely_psu : str
        How a stratum with one PSU contributes to the variance, as R's
        ``options(survey.lonely.psu=)``.
    calibration : Calibration or None
        Set on calibrated designs.
    """

    weights: FloatArray
    stratum: IntArray
    psu: IntArray
    psu_stratum: IntArray
    stratum_labels: tuple[object, ...]
    stratum_n_psu: IntArray
    stratum_population: FloatArray
    lonely_psu: LonelyPsu
    calibration: Calibration | None = None

    @property
    def n_rows(self) -> int:
        """Number of respondents."""
        return int(self.weights.shape[0])

    @property
    def n_psu(self) -> int:
        """Number of PSUs."""
        return int(self.psu_stratum.shape[0])

    @property
    def n_strata(self) -> int:
        """Number of strata."""
        return int(self.stratum_n_psu.shape[0])

    @property
    def stratum_fraction_unsampled(self) -> FloatArray:
        """Return ``(N_h - n_h) / N_h`` per stratum, 1 without FPC (R ``onestrat``'s ``f``)."""
        population = self.stratum_population
        with np.errstate(invalid="ignore", divide="ignore"):
            fraction = (population - self.stratum_n_psu) / population
        return np.where(np.isinf(population), 1.0, fraction)

    @property
    def lonely_strata(self) -> BoolArray:
        """Return a mask of strata with one PSU that are not certainty strata."""
        return np.asarray(
            (self.stratum_n_psu == 1) & (self.stratum_fraction_unsampled >= CERTAINTY_FRACTION),
            dtype=np.bool_,
        )

    @property
    def degrees_of_freedom(self) -> int:
        """Return the design degrees of freedom, PSUs minus strata (R ``degf``)."""
        return self.n_psu - self.n_strata


def design_create(
    weights: npt.ArrayLike,
    *,
    strata: Grouping | None = None,
    psu: Grouping | None = None,
    fpc: npt.ArrayLike | None = None,
    lonely_psu: LonelyPsu = "fail",
    nest: bool = False,
) -> SurveyDesign:
    """Return a validated design for Taylor-linearisation variance estimation.

    Parameters
    ----------
    weights : array_like, shape (n,)
        Sampling weights, finite and positive (e.g. :func:`scoring.weights.weights_base`).
    strata : array_like or sequence of array_like, optional
        Stratum of each row; several columns (e.g. ``[town, urban_rural]``) are crossed.
        Without strata the design has a single stratum.
    psu : array_like or sequence of array_like, optional
        First-stage sampling unit of each row (e.g. village). Without PSUs every row is its
        own PSU (element sampling).
    fpc : array_like, shape (n,), optional
        Population number of PSUs of the row's stratum (first stage), constant within a
        stratum, at least the number of sampled PSUs; ``inf`` means no correction for that
        stratum. As R's ``fpc=`` given as population sizes.
    lonely_psu : {"fail", "remove", "certainty", "adjust", "average"}
        Handling of strata with a single sampled PSU, as R's
        ``options(survey.lonely.psu=)``: ``fail`` raises :class:`LonelyPsuError`; ``remove``
        and ``certainty`` give the stratum no variance; ``adjust`` centres its PSU total at
        zero instead of the stratum mean; ``average`` replaces its contribution by the
        average of the other strata. Strata whose PSUs were all taken (FPC) are never lonely.
    nest : bool
        Whether PSU ids are only unique within strata (R ``nest=TRUE``). When false, a PSU id
        that appears in two strata is an error.

    Returns
    -------
    SurveyDesign

    Raises
    ------
    LonelyPsuError
        If ``lonely_psu="fail"`` and a stratum has a single PSU; the message names it.
    ValueError
        For invalid weights, ids that are missing, PSUs that cross strata, or an invalid FPC.

    References
    ----------
    R ``survey``: ``svydesign.default`` (nesting check), ``as.fpc`` (FPC checks),
    ``onestrat`` (lonely PSUs); Lumley (2010), sec. 2.3.
    """
    if lonely_psu not in LONELY_PSU_OPTIONS:
        raise ValueError(f"lonely_psu must be one of {LONELY_PSU_OPTIONS}, got {lonely_psu!r}")
    w = as_float_vector(weights, "weights")
    n = w.shape[0]
    if n == 0:
        raise ValueError("weights: the design has no rows")
    if (w <= 0).any():
        row = int(np.flatnonzero(w <= 0)[0])
        raise ValueError(f"weights: weight {float(w[row])!r} at row {row} is not positive")

    if strata is None:
        stratum = np.zeros(n, dtype=np.intp)
        stratum_labels: tuple[object, ...] = (None,)
    else:
        groups = encode_groups(strata, "strata", n=n)
        _require_present(groups.codes, "strata")
        stratum = groups.codes
        multi = len(grouping_columns(strata)) > 1
        stratum_labels = tuple(key if multi else key[0] for key in groups.keys)
    n_strata = len(stratum_labels)

    if psu is None:
        # Element sampling: each row is a PSU, numbered in stratum order.
        order = np.argsort(stratum, kind="stable")
        psu_codes = np.empty(n, dtype=np.intp)
        psu_codes[order] = np.arange(n, dtype=np.intp)
        psu_stratum = stratum[order]
    else:
        psu_codes, psu_stratum = _encode_psu(psu, stratum, n_strata, n=n, nest=nest)

    stratum_n_psu = np.bincount(psu_stratum, minlength=n_strata).astype(np.intp)
    if strata is None and psu_stratum.shape[0] == 1:
        raise ValueError("psu: the design has only one primary sampling unit")
    population = _stratum_population(fpc, stratum, stratum_n_psu, stratum_labels, n=n)

    design = SurveyDesign(
        weights=readonly(w),
        stratum=readonly(stratum),
        psu=readonly(psu_codes),
        psu_stratum=readonly(psu_stratum),
        stratum_labels=stratum_labels,
        stratum_n_psu=readonly(stratum_n_psu),
        stratum_population=readonly(population),
        lonely_psu=lonely_psu,
    )
    if lonely_psu == "fail" and design.lonely_strata.any():
        lonely = np.flatnonzero(design.lonely_strata)
        raise LonelyPsuError(tuple(stratum_labels[int(h)] for h in lonely))
    return design


def design_degrees_of_freedom(design: SurveyDesign, rows: BoolArray | None = None) -> int:
    """Return the design degrees of freedom of the rows in `rows` (all rows by default).

    The count of PSUs holding at least one of the rows minus the count of strata holding at
    least one of them, as R's ``degf()`` of a domain subset (which ``svyciprop`` and
    ``svyby`` use for the domain's intervals).

    References
    ----------
    R ``survey``: ``degf.survey.design2``; Korn & Graubard (1999), sec. 5.2.
    """
    if rows is None:
        return design.degrees_of_freedom
    mask = np.asarray(rows, dtype=np.bool_)
    if mask.shape != (design.n_rows,):
        raise ValueError(f"rows: expected a mask of {design.n_rows} values, got {mask.shape}")
    psu_present = np.bincount(design.psu[mask], minlength=design.n_psu) > 0
    strata_present = np.bincount(design.psu_stratum[psu_present], minlength=design.n_strata) > 0
    return int(psu_present.sum()) - int(strata_present.sum())


def _require_present(codes: IntArray, name: str) -> None:
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise ValueError(f"{name}: missing value at row {row}")


def _encode_psu(
    psu: Grouping, stratum: IntArray, n_strata: int, *, n: int, nest: bool
) -> tuple[IntArray, IntArray]:
    """Return PSU codes numbered in stratum order and the stratum of each PSU."""
    columns = grouping_columns(psu)
    if len(columns) == 1:
        codes = encode_labels(columns[0], "psu", n=n).codes
        labels_of: tuple[object, ...] | None = None
    else:
        groups = encode_groups(psu, "psu", n=n)
        codes = groups.codes
        labels_of = groups.keys
    _require_present(codes, "psu")
    if nest:
        codes = encode_labels(stratum * (int(codes.max()) + 1) + codes, "psu", n=n).codes
    n_psu = int(codes.max()) + 1
    first_row = np.full(n_psu, n, dtype=np.intp)
    np.minimum.at(first_row, codes, np.arange(n, dtype=np.intp))
    stratum_of_psu = stratum[first_row]
    crossing = stratum_of_psu[codes] != stratum
    if crossing.any():
        row = int(np.flatnonzero(crossing)[0])
        label = np.asarray(columns[0])[row] if labels_of is None else labels_of[codes[row]]
        raise ValueError(
            f"psu: PSU {label_text(label)} (row {row}) lies in more than one stratum; "
            "PSU ids must be nested in strata (pass nest=True if ids repeat across strata)"
        )
    order = np.argsort(stratum_of_psu, kind="stable")
    rank = np.empty(n_psu, dtype=np.intp)
    rank[order] = np.arange(n_psu, dtype=np.intp)
    return rank[codes], stratum_of_psu[order]


def _stratum_population(
    fpc: npt.ArrayLike | None,
    stratum: IntArray,
    stratum_n_psu: IntArray,
    stratum_labels: tuple[object, ...],
    *,
    n: int,
) -> FloatArray:
    n_strata = stratum_n_psu.shape[0]
    if fpc is None:
        return np.full(n_strata, np.inf)
    values = as_float_vector(fpc, "fpc", n=n, allow_inf=True)
    first_row = np.full(n_strata, n, dtype=np.intp)
    np.minimum.at(first_row, stratum, np.arange(n, dtype=np.intp))
    population = values[first_row]
    varying = values != population[stratum]
    if varying.any():
        h = int(stratum[np.flatnonzero(varying)[0]])
        raise ValueError(
            f"fpc: the population number of PSUs varies within stratum "
            f"{label_text(stratum_labels[h])}"
        )
    too_small = population < stratum_n_psu
    if too_small.any():
        h = int(np.flatnonzero(too_small)[0])
        raise ValueError(
            f"fpc: stratum {label_text(stratum_labels[h])} has {int(stratum_n_psu[h])} sampled "
            f"PSUs but a population of {population[h]:g}; fpc must be the number of PSUs in "
            "the stratum population, not a sampling fraction"
        )
    return np.asarray(population, dtype=np.float64)
