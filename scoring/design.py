"""Description of a complex sample design: weights, strata, sampling units of each stage, FPC.

A :class:`SurveyDesign` is the Python counterpart of R's ``svydesign(ids = ~psu,
strata = ~stratum, weights = ~w, fpc = ~N)``. With only first-stage units it describes the
ultimate-cluster variance estimator (Lumley 2010, sec. 2.3 and appendix C): the variance is
computed from first-stage PSU totals as if PSUs were drawn with replacement, with an optional
finite population correction per stratum. With later-stage units and a population count for
every stage (R's ``svydesign(ids = ~psu + ssu, fpc = ~N1 + N2)``) each stage adds its own
within-unit variance, weighted by the sampling fractions of the earlier stages, as R's
``svyrecvar`` → ``multistage`` does. PSUs taken with certainty get a stratum of their own
with no first-stage variance; their next stage (or their respondents) carries the variance.

References
----------
.. [1] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
.. [2] R package ``survey`` 4.1-1, functions ``svydesign.default``, ``as.fpc``, ``onestrat``,
   ``multistage``, ``degf.survey.design2``.
.. [3] Särndal, C.-E., Swensson, B. & Wretman, J. (1992). *Model Assisted Survey Sampling*,
   sec. 4.3 (variance of a two-stage estimator).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast, get_args

import numpy as np
import numpy.typing as npt

from scoring.arrays import (
    BoolArray,
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

if TYPE_CHECKING:
    from scoring.calibration import CalibrationSpec, TrimmingSpec

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

    def __init__(self, strata: tuple[object, ...], stage: int = 1) -> None:
        self.strata = strata
        self.stage = stage
        names = ", ".join(label_text(label) for label in strata)
        plural = "Strata" if len(strata) > 1 else "Stratum"
        super().__init__(
            f"{plural} ({names}) {'have' if len(strata) > 1 else 'has'} only one PSU at stage "
            f"{stage}; choose lonely_psu='remove', 'certainty', 'adjust' or 'average', "
            "or collapse the stratum with a neighbour"
        )


@dataclass(frozen=True, eq=False)
class Calibration:
    """What the variance estimator needs to know about a calibration of the weights.

    The linearised variance of a calibrated estimator replaces each unit's score by its
    residual from the regression, weighted by the base weights, on the calibration variables
    (Deville & Särndal 1992, eq. 3.4; R ``svyrecvar`` with a ``greg_calibration`` object),
    whatever the calibration function (linear, raking, logit, bounded). The calibration
    variables are described per *calibration unit*: a cell (combination of margin levels)
    when every variable is categorical, the row itself when there are numeric variables.

    Attributes
    ----------
    method : str
        ``"raking"``, ``"poststratification"``, ``"linear"`` or ``"logit"``.
    margin_names : tuple of str
        Name of each calibration variable (margins, then numeric totals).
    unit : ndarray of intp, shape (n,)
        Calibration unit of each row.
    basis : ndarray, shape (n_units, q)
        Calibration variables of each unit: an intercept (when the margins imply one), the
        treatment contrasts of each margin's populated levels, then the numeric variables.
    base_weights : ndarray, shape (n,)
        Weights before calibration (``d`` in Deville & Särndal).
    regression_weights : ndarray, shape (n,)
        Weights of the residual regression, ``d * w / w_cal``: ``d`` until the calibrated
        weights ``w_cal`` are trimmed to ``w`` (R keeps the calibration's ``g sqrt(d)``).
    normal_matrix : ndarray, shape (q, q)
        ``X' diag(d) X``.
    stage_basis_totals : tuple of ndarray
        Per sampling stage, ``sum over the unit of w_cal * x``, shape (units, q).
    spec : CalibrationSpec or None
        The calibration problem (variables, totals, function, bounds), to calibrate
        replicate weights the same way.
    """

    method: str
    margin_names: tuple[str, ...]
    unit: IntArray
    basis: FloatArray
    base_weights: FloatArray
    regression_weights: FloatArray
    normal_matrix: FloatArray
    stage_basis_totals: tuple[FloatArray, ...]
    spec: CalibrationSpec | None = None

    @property
    def n_columns(self) -> int:
        """Number of calibration variables ``q``."""
        return int(self.basis.shape[1])

    @property
    def psu_basis_totals(self) -> FloatArray:
        """Return the first-stage (PSU) totals of ``w_cal * x``."""
        return self.stage_basis_totals[0]


@dataclass(frozen=True, eq=False)
class LaterStage:
    """A sampling stage after the first: units drawn within the units of the previous stage.

    As in R's ``svydesign(ids = ~psu + ssu, ...)``, the strata of stage ``s`` are the units of
    stage ``s - 1``: each stratum holds the sampled units of one previous-stage unit.

    Attributes
    ----------
    number : int
        Stage number, 2 or more.
    unit : ndarray of intp, shape (n,)
        Unit of each row at this stage, numbered so that the units of a stratum are
        contiguous.
    unit_stratum : ndarray of intp, shape (n_units,)
        Stratum of each unit, non-decreasing.
    stratum_labels : tuple of str
        Label of each stratum (R's ``stratum.unit`` interaction label), for messages.
    stratum_n_units : ndarray of intp, shape (n_strata,)
        Sampled units per stratum.
    stratum_population : ndarray, shape (n_strata,)
        Population units per stratum; ``inf`` without FPC.
    stratum_multiplier : ndarray, shape (n_strata,)
        Product over the earlier stages of the sampling fraction ``n/N`` of the stratum's
        ancestors (R ``multistage``'s ``nPSUs/fpcs`` factors); 0 when an earlier stage has no
        FPC.
    stratum_evaluated : ndarray of bool, shape (n_strata,)
        Strata whose variance this stage adds: all when every stage has an FPC, otherwise
        only those under a PSU taken with certainty.
    """

    number: int
    unit: IntArray
    unit_stratum: IntArray
    stratum_labels: tuple[str, ...]
    stratum_n_units: IntArray
    stratum_population: FloatArray
    stratum_multiplier: FloatArray
    stratum_evaluated: BoolArray

    @property
    def n_units(self) -> int:
        """Number of sampled units at this stage."""
        return int(self.unit_stratum.shape[0])

    @property
    def n_strata(self) -> int:
        """Number of strata (units of the previous stage) at this stage."""
        return int(self.stratum_n_units.shape[0])

    @property
    def stratum_fraction_unsampled(self) -> FloatArray:
        """Return ``(N - n) / N`` per stratum, 1 without FPC."""
        return _fraction_unsampled(self.stratum_population, self.stratum_n_units)

    @property
    def lonely_strata(self) -> BoolArray:
        """Return a mask of evaluated strata with one unit that are not certainty strata."""
        return np.asarray(
            self.stratum_evaluated
            & (self.stratum_n_units == 1)
            & (self.stratum_fraction_unsampled >= CERTAINTY_FRACTION),
            dtype=np.bool_,
        )


def _fraction_unsampled(population: FloatArray, n_sampled: IntArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = (population - n_sampled) / population
    return np.asarray(np.where(np.isinf(population), 1.0, fraction), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class SurveyDesign:
    """A description of a complex sample for linearisation and replication.

    Build it with :func:`design_create`; calibrated designs come from the functions of
    :mod:`scoring.weights` and :mod:`scoring.calibration`. PSUs are numbered so that the
    PSUs of a stratum are contiguous.

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
    stages : tuple of LaterStage
        Sampling stages after the first whose variance is added (empty: ultimate cluster).
    trimming : TrimmingSpec or None
        Set when the weights were trimmed, to trim replicate weights the same way.
    psu_labels : tuple or None
        Label of each PSU (None for element sampling, where PSU ``j`` is a row).
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
    stages: tuple[LaterStage, ...] = ()
    trimming: TrimmingSpec | None = None
    psu_labels: tuple[object, ...] | None = None

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
        return _fraction_unsampled(self.stratum_population, self.stratum_n_psu)

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

    @property
    def base_weights(self) -> FloatArray:
        """Return the weights before calibration and trimming (the weights themselves if none)."""
        if self.calibration is not None:
            return self.calibration.base_weights
        if self.trimming is not None:
            return self.trimming.weights_before
        return self.weights


def design_create(
    weights: npt.ArrayLike,
    *,
    strata: Grouping | None = None,
    psu: Grouping | None = None,
    fpc: npt.ArrayLike | Sequence[npt.ArrayLike] | None = None,
    lonely_psu: LonelyPsu = "fail",
    nest: bool = False,
    ssu: npt.ArrayLike | Encoded | Sequence[npt.ArrayLike | Encoded] | None = None,
    certainty: npt.ArrayLike | None = None,
) -> SurveyDesign:
    """Return a validated design for Taylor-linearisation and replicate variance estimation.

    Parameters
    ----------
    weights : array_like, shape (n,)
        Sampling weights, finite and positive (e.g. :func:`scoring.weights.weights_base`).
    strata : array_like or sequence of array_like, optional
        Stratum of each row; several columns (e.g. ``[town, urban_rural]``) are crossed.
        Without strata the design has a single stratum.
    psu : array_like or sequence of array_like, optional
        First-stage sampling unit of each row (e.g. village); several columns are crossed.
        Without PSUs every row is its own PSU (element sampling).
    fpc : array_like or sequence of array_like, optional
        Population number of units, per row: one array for the first stage (PSUs of the
        row's stratum), or one array per stage when `ssu` describes later stages (stage
        ``s``: units within the row's stage ``s - 1`` unit). Constant within a stratum, at
        least the number sampled; ``inf`` means no correction. As R's ``fpc=`` given as
        population sizes (``fpc = ~N1 + N2``).
    lonely_psu : {"fail", "remove", "certainty", "adjust", "average"}
        Handling of strata with a single sampled unit, as R's
        ``options(survey.lonely.psu=)``: ``fail`` raises :class:`LonelyPsuError`; ``remove``
        and ``certainty`` give the stratum no variance; ``adjust`` centres its unit total at
        zero instead of the stratum mean; ``average`` replaces its contribution by the
        average of the other strata. Strata whose units were all taken (FPC) are never
        lonely. The same rule applies at every stage.
    nest : bool
        Whether PSU ids are only unique within strata (R ``nest=TRUE``). When false, a PSU id
        that appears in two strata is an error.
    ssu : array_like or sequence of array_like, optional
        Sampling units of the second (and later) stages, one array per stage (e.g.
        household, then person), each nested in the previous stage's unit (ids are read
        within it, as R does). Their variance is added only where the stages have an FPC
        (R ignores later stages without one), or under a certainty PSU.
    certainty : array_like of bool, shape (n,), optional
        Whether the row's PSU was taken with certainty (constant within a PSU). Each such
        PSU becomes a stratum of its own with no first-stage variance (taken out of its
        stratum and of that stratum's FPC count); its second stage, or its respondents as
        with-replacement units when `ssu` is not given, carries its variance.

    Returns
    -------
    SurveyDesign

    Raises
    ------
    LonelyPsuError
        If ``lonely_psu="fail"`` and a stratum of some stage has a single unit; the message
        names the stratum and the stage.
    ValueError
        For invalid weights, ids that are missing, units that cross strata, or an invalid
        FPC.

    References
    ----------
    R ``survey``: ``svydesign.default`` (nesting, later-stage strata), ``as.fpc`` (FPC
    checks), ``onestrat`` (lonely PSUs), ``multistage``; Lumley (2010), sec. 2.3 and
    appendix C; Särndal, Swensson & Wretman (1992), sec. 4.3.
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

    later_ids = _stage_columns(ssu, "ssu")
    fpc_stages = _fpc_stages(fpc, 1 + len(later_ids))

    if psu is None:
        # Element sampling: each row is a PSU, numbered in stratum order.
        order = np.argsort(stratum, kind="stable")
        psu_codes = np.empty(n, dtype=np.intp)
        psu_codes[order] = np.arange(n, dtype=np.intp)
        psu_stratum = stratum[order]
        psu_labels: tuple[object, ...] | None = None
    else:
        psu_codes, psu_stratum, psu_labels = _encode_psu(
            psu, stratum, len(stratum_labels), n=n, nest=nest
        )

    cert_psu: BoolArray | None = None
    if certainty is not None:
        cert_psu = _certainty_psus(certainty, psu_codes, int(psu_stratum.shape[0]), n=n)
        if not cert_psu.any():
            cert_psu = None
    n_strata = len(stratum_labels)
    stratum_n_psu = np.bincount(psu_stratum, minlength=n_strata).astype(np.intp)
    if strata is None and psu_stratum.shape[0] == 1:
        raise ValueError("psu: the design has only one primary sampling unit")
    population = _stratum_population(
        fpc_stages[0], stratum, stratum_n_psu, stratum_labels, n=n,
        name="fpc" if len(fpc_stages) == 1 else "fpc[0]",
        certain=None if cert_psu is None else np.bincount(
            psu_stratum[cert_psu], minlength=n_strata
        ),
    )
    if cert_psu is not None:
        stratum, psu_codes, psu_stratum, stratum_labels, population, psu_labels, cert_psu = (
            _split_certainty(
                cert_psu, stratum, psu_codes, psu_stratum, stratum_labels, population,
                psu_labels,
            )
        )
        n_strata = len(stratum_labels)
        stratum_n_psu = np.bincount(psu_stratum, minlength=n_strata).astype(np.intp)

    stages = _later_stages(
        later_ids, fpc_stages, psu_codes, psu_stratum, stratum_n_psu, population,
        stratum_labels, psu_labels, cert_psu, n=n,
    )

    design = SurveyDesign(
        weights=readonly(w),
        stratum=readonly(stratum),
        psu=readonly(psu_codes),
        psu_stratum=readonly(psu_stratum),
        stratum_labels=stratum_labels,
        stratum_n_psu=readonly(stratum_n_psu),
        stratum_population=readonly(population),
        lonely_psu=lonely_psu,
        stages=stages,
        psu_labels=psu_labels,
    )
    if lonely_psu == "fail":
        if design.lonely_strata.any():
            lonely = np.flatnonzero(design.lonely_strata)
            raise LonelyPsuError(tuple(stratum_labels[int(h)] for h in lonely))
        for stage in stages:
            if stage.lonely_strata.any():
                lonely = np.flatnonzero(stage.lonely_strata)
                raise LonelyPsuError(
                    tuple(stage.stratum_labels[int(h)] for h in lonely), stage.number
                )
    return design


def _stage_columns(
    ssu: npt.ArrayLike | Encoded | Sequence[npt.ArrayLike | Encoded] | None, name: str
) -> list[npt.ArrayLike | Encoded]:
    """Return one id column per later stage."""
    if ssu is None:
        return []
    if isinstance(ssu, Encoded):
        return [ssu]
    if isinstance(ssu, (list, tuple)) and ssu and all(
        isinstance(column, (np.ndarray, list, tuple, Encoded)) for column in ssu
    ):
        return list(ssu)
    array = np.asarray(ssu)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected one 1-D array per stage, got shape {array.shape}")
    return [array]


def _fpc_stages(
    fpc: npt.ArrayLike | Sequence[npt.ArrayLike] | None, n_stages: int
) -> list[npt.ArrayLike | None]:
    """Return the FPC array of each stage (None where a stage has no FPC)."""
    if fpc is None:
        return [None] * n_stages
    if isinstance(fpc, (list, tuple)) and fpc and all(
        isinstance(column, (np.ndarray, list, tuple)) for column in fpc
    ):
        columns: list[npt.ArrayLike | None] = [cast(npt.ArrayLike, column) for column in fpc]
        if len(columns) > n_stages:
            raise ValueError(
                f"fpc: {len(columns)} stages of FPC for a design with {n_stages} stage(s)"
            )
        if 1 < len(columns) < n_stages:
            raise ValueError(
                f"fpc: give the FPC of every stage ({n_stages}), or of the first stage only"
            )
        return columns + [None] * (n_stages - len(columns))
    first: list[npt.ArrayLike | None] = [cast(npt.ArrayLike, fpc)]
    return first + [None] * (n_stages - 1)


def _certainty_psus(
    certainty: npt.ArrayLike, psu_codes: IntArray, n_psu: int, *, n: int
) -> BoolArray:
    flags = np.asarray(certainty)
    if flags.shape != (n,):
        raise ValueError(f"certainty: expected {n} values, got shape {flags.shape}")
    if flags.dtype.kind not in "biuf":
        raise ValueError("certainty: expected booleans or 0/1 values")
    flags = flags.astype(np.float64)
    if np.isnan(flags).any() or not np.isin(flags, (0.0, 1.0)).all():
        raise ValueError("certainty: expected booleans or 0/1 values")
    per_psu = np.bincount(psu_codes, flags, minlength=n_psu)
    rows_per_psu = np.bincount(psu_codes, minlength=n_psu)
    mixed = (per_psu > 0) & (per_psu < rows_per_psu)
    if mixed.any():
        row = int(np.flatnonzero(mixed[psu_codes])[0])
        raise ValueError(f"certainty: the flag varies within the PSU of row {row}")
    return np.asarray(per_psu > 0, dtype=np.bool_)


def _split_certainty(
    cert_psu: BoolArray,
    stratum: IntArray,
    psu_codes: IntArray,
    psu_stratum: IntArray,
    stratum_labels: tuple[object, ...],
    population: FloatArray,
    psu_labels: tuple[object, ...] | None,
) -> tuple[
    IntArray, IntArray, IntArray, tuple[object, ...], FloatArray, tuple[object, ...] | None,
    BoolArray,
]:
    """Move each certainty PSU into a stratum of its own, with population 1 (f = 0).

    Returns the new row strata, PSU codes, PSU strata, stratum labels, populations, PSU
    labels and certainty flags (PSUs are renumbered in the new stratum order).
    """
    n_psu = psu_stratum.shape[0]
    # New stratum key of each PSU: (old stratum, 0) for ordinary PSUs, (old stratum, 1 + psu)
    # for a certainty PSU; ordered by old stratum first.
    key = psu_stratum.astype(np.int64) * (n_psu + 1) + np.where(
        cert_psu, np.arange(n_psu) + 1, 0
    )
    new_keys, new_stratum_of_psu = np.unique(key, return_inverse=True)
    new_stratum_of_psu = new_stratum_of_psu.reshape(-1).astype(np.intp)
    old_of_new = (new_keys // (n_psu + 1)).astype(np.intp)
    cert_of_new = (new_keys % (n_psu + 1)).astype(np.intp) - 1
    labels: list[object] = []
    new_population = np.empty(new_keys.shape[0])
    for j in range(new_keys.shape[0]):
        old = stratum_labels[int(old_of_new[j])]
        p = int(cert_of_new[j])
        if p < 0:
            labels.append(old)
            new_population[j] = population[int(old_of_new[j])]
        else:
            name = label_text(psu_labels[p]) if psu_labels is not None else str(p)
            labels.append(f"{label_text(old)}/{name} (certainty)" if old is not None else
                          f"{name} (certainty)")
            new_population[j] = 1.0
    order = np.argsort(new_stratum_of_psu, kind="stable")
    rank = np.empty(n_psu, dtype=np.intp)
    rank[order] = np.arange(n_psu, dtype=np.intp)
    new_psu_codes = rank[psu_codes]
    new_psu_stratum = new_stratum_of_psu[order]
    new_labels = None if psu_labels is None else tuple(psu_labels[int(p)] for p in order)
    return (
        new_psu_stratum[new_psu_codes], new_psu_codes, new_psu_stratum, tuple(labels),
        new_population, new_labels, np.asarray(cert_psu[order], dtype=np.bool_),
    )


def _later_stages(
    later_ids: list[npt.ArrayLike | Encoded],
    fpc_stages: list[npt.ArrayLike | None],
    psu_codes: IntArray,
    psu_stratum: IntArray,
    stratum_n_psu: IntArray,
    population: FloatArray,
    stratum_labels: tuple[object, ...],
    psu_labels: tuple[object, ...] | None,
    cert_psu: BoolArray | None,
    *,
    n: int,
) -> tuple[LaterStage, ...]:
    """Return the later stages whose variance is added (R ``multistage``)."""
    all_fpc = all(column is not None for column in fpc_stages) and len(fpc_stages) > 1
    if not all_fpc and cert_psu is None:
        return ()
    if cert_psu is not None and not later_ids:
        # Respondents of a certainty PSU are its with-replacement second-stage units.
        later_ids = [np.arange(n)]
        fpc_stages = [fpc_stages[0], None]
    # The certainty strata sit at the end of their stratum's PSUs: recompute per PSU.
    parent = psu_codes
    parent_labels = [
        f"{label_text(stratum_labels[int(psu_stratum[p])])}."
        f"{label_text(psu_labels[p]) if psu_labels is not None else p}"
        for p in range(psu_stratum.shape[0])
    ]
    parent_fraction = np.where(
        np.isinf(population), 0.0, stratum_n_psu / np.where(np.isinf(population), 1.0, population)
    )[psu_stratum]
    parent_multiplier = parent_fraction
    parent_evaluated = (
        np.ones(psu_stratum.shape[0], dtype=np.bool_) if all_fpc
        else np.asarray(cert_psu, dtype=np.bool_)
    )
    stages: list[LaterStage] = []
    for index, column in enumerate(later_ids):
        number = index + 2
        n_parents = len(parent_labels)
        ids = encode_labels(column, f"ssu[{index}]" if len(later_ids) > 1 else "ssu", n=n)
        _require_present(ids.codes, "ssu")
        combined = parent.astype(np.int64) * (len(ids.labels) + 1) + ids.codes
        units = encode_labels(combined, "ssu", n=n)
        unit = units.codes
        unit_values = np.asarray(units.labels, dtype=np.int64)
        unit_stratum = (unit_values // (len(ids.labels) + 1)).astype(np.intp)
        # encode_labels sorts the combined keys, so units are already grouped by parent.
        stratum_n_units = np.bincount(unit_stratum, minlength=n_parents).astype(np.intp)
        stage_population = _stratum_population(
            fpc_stages[index + 1], parent, stratum_n_units, tuple(parent_labels), n=n,
            name=f"fpc[{index + 1}]", units=f"stage-{number} units",
        )
        stage = LaterStage(
            number=number,
            unit=readonly(unit),
            unit_stratum=readonly(unit_stratum),
            stratum_labels=tuple(parent_labels),
            stratum_n_units=readonly(stratum_n_units),
            stratum_population=readonly(stage_population),
            stratum_multiplier=readonly(np.asarray(parent_multiplier, dtype=np.float64)),
            stratum_evaluated=readonly(np.asarray(parent_evaluated, dtype=np.bool_)),
        )
        stages.append(stage)
        fraction = np.where(
            np.isinf(stage_population), 0.0,
            stratum_n_units / np.where(np.isinf(stage_population), 1.0, stage_population),
        )
        ids_labels = ids.labels
        parent_labels = [
            f"{parent_labels[int(unit_stratum[u])]}."
            f"{label_text(ids_labels[int(unit_values[u] % (len(ids_labels) + 1))])}"
            for u in range(unit_stratum.shape[0])
        ] if index + 1 < len(later_ids) else []
        parent = unit
        parent_multiplier = (parent_multiplier * fraction)[unit_stratum]
        parent_evaluated = parent_evaluated[unit_stratum]
    return tuple(stages)


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
) -> tuple[IntArray, IntArray, tuple[object, ...]]:
    """Return PSU codes numbered in stratum order, the stratum and the label of each PSU."""
    columns = grouping_columns(psu)
    if len(columns) == 1:
        encoded = encode_labels(columns[0], "psu", n=n)
        codes = encoded.codes
        labels_of: tuple[object, ...] | None = None
        code_labels: tuple[object, ...] = encoded.labels
    else:
        groups = encode_groups(psu, "psu", n=n)
        codes = groups.codes
        labels_of = groups.keys
        code_labels = groups.keys
    _require_present(codes, "psu")
    if nest:
        nested = encode_labels(stratum * (int(codes.max()) + 1) + codes, "psu", n=n)
        width = int(codes.max()) + 1
        code_labels = tuple(code_labels[cast(int, v) % width] for v in nested.labels)
        codes = nested.codes
    n_psu = int(codes.max()) + 1
    first_row = np.full(n_psu, n, dtype=np.intp)
    np.minimum.at(first_row, codes, np.arange(n, dtype=np.intp))
    stratum_of_psu = stratum[first_row]
    crossing = stratum_of_psu[codes] != stratum
    if crossing.any():
        row = int(np.flatnonzero(crossing)[0])
        label = code_labels[int(codes[row])] if labels_of is None else labels_of[codes[row]]
        raise ValueError(
            f"psu: PSU {label_text(label)} (row {row}) lies in more than one stratum; "
            "PSU ids must be nested in strata (pass nest=True if ids repeat across strata)"
        )
    order = np.argsort(stratum_of_psu, kind="stable")
    rank = np.empty(n_psu, dtype=np.intp)
    rank[order] = np.arange(n_psu, dtype=np.intp)
    return rank[codes], stratum_of_psu[order], tuple(code_labels[int(p)] for p in order)


def _stratum_population(
    fpc: npt.ArrayLike | None,
    stratum: IntArray,
    stratum_n_psu: IntArray,
    stratum_labels: tuple[object, ...],
    *,
    n: int,
    name: str = "fpc",
    certain: npt.NDArray[np.intp] | None = None,
    units: str = "PSUs",
) -> FloatArray:
    """Return the population count per stratum; with `certain`, less the certainty PSUs."""
    n_strata = stratum_n_psu.shape[0]
    if fpc is None:
        return np.full(n_strata, np.inf)
    values = as_float_vector(fpc, name, n=n, allow_inf=True)
    first_row = np.full(n_strata, n, dtype=np.intp)
    np.minimum.at(first_row, stratum, np.arange(n, dtype=np.intp))
    population = values[first_row]
    varying = values != population[stratum]
    if varying.any():
        h = int(stratum[np.flatnonzero(varying)[0]])
        raise ValueError(
            f"{name}: the population number of {units} varies within stratum "
            f"{label_text(stratum_labels[h])}"
        )
    too_small = population < stratum_n_psu
    if too_small.any():
        h = int(np.flatnonzero(too_small)[0])
        raise ValueError(
            f"{name}: stratum {label_text(stratum_labels[h])} has {int(stratum_n_psu[h])} "
            f"sampled {units} but a population of {population[h]:g}; fpc must be the number "
            f"of {units} in the stratum population, not a sampling fraction"
        )
    if certain is not None:
        population = population - certain
    return np.asarray(population, dtype=np.float64)
