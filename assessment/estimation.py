"""Estimates for a wave: literacy shares with design-based intervals, overall and by domain."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.utils.translation import gettext as _

from assessment.models import Wave, WeightSet
from assessment.weighting import calibrated_design
from questionnaires.models import ScoringKey
from scoring import CellEstimate, SurveyDesign, estimate_proportion
from scoring.adapters import (
    DataProblem,
    RespondentTable,
    benchmark_values,
    margin_totals,
    respondent_table,
    stored_weights,
    wave_key,
)


@dataclass(frozen=True)
class WaveDesign:
    """The calibrated design of one instrument in one wave, checked against its stored weights."""

    wave: Wave
    instrument_code: str
    table: RespondentTable
    design: SurveyDesign
    weight_set: WeightSet
    key: ScoringKey


def weights_missing(wave: Wave, instrument_code: str) -> DataProblem:
    """The problem of a wave whose INSTRUMENT_CODE responses have no weights yet."""
    return DataProblem(
        _("%(wave)s 轮次的 %(instrument)s 还没有权重：请先计算权重。") % {"wave": wave.code, "instrument": instrument_code}
    )


def wave_design(wave: Wave, instrument_code: str) -> WaveDesign:
    """Return the design behind the current weight set; raise DataProblem if there is none or it is stale."""
    weight_set = (
        WeightSet.objects.filter(wave=wave, instrument__code=instrument_code, is_current=True)
        .select_related("margin_set")
        .first()
    )
    if weight_set is None or weight_set.margin_set is None:
        raise weights_missing(wave, instrument_code)
    table = respondent_table(wave, instrument_code)
    stored = stored_weights(weight_set)
    if not np.array_equal(stored.response_id, table.response_id):
        raise DataProblem(
            _("%(wave)s 轮次（%(instrument)s）的权重已过期：第 %(version)s 版权重计算之后答卷有变动，请重新计算权重。")
            % {"wave": wave.code, "instrument": instrument_code, "version": weight_set.version}
        )
    if not (np.array_equal(stored.stratum, table.stratum) and np.array_equal(stored.psu, table.psu)):
        raise DataProblem(
            _("%(wave)s 轮次（%(instrument)s）的权重已过期：第 %(version)s 版权重计算之后抽样设计（层、初级抽样单位）有变动，请重新计算权重。")
            % {"wave": wave.code, "instrument": instrument_code, "version": weight_set.version}
        )
    raked = calibrated_design(table, margin_totals(weight_set.margin_set), weight_set.method)
    if not np.allclose(raked.weights, stored.final, rtol=1e-9, atol=0):
        raise DataProblem(_("第 %(version)s 版权重无法由其输入重新得出。") % {"version": weight_set.version})
    return WaveDesign(wave, instrument_code, table, raked.design, weight_set, wave_key(wave, instrument_code))


def _reliability() -> dict[str, float]:
    return {"min_n": settings.SUYANG_RELIABILITY_MIN_N, "max_cv": settings.SUYANG_RELIABILITY_MAX_CV}


def benchmark_indicator(wd: WaveDesign, benchmark: str, dimension: str | None = None) -> npt.NDArray[np.float64]:
    """Return the 0/1 benchmark values of the design's respondents (NaN if unscored)."""
    return benchmark_values(wd.table.response_id, wd.key, benchmark, dimension)


def _proportion(design: SurveyDesign, y: npt.NDArray[np.float64], var: str, by: object, level: float) -> tuple[CellEstimate, ...]:
    """Return logit intervals, falling back to Korn–Graubard where logit is undefined (p̂ = 0 or 1)."""
    cells = estimate_proportion(design, y, var=var, by=by, level=level, **_reliability())  # type: ignore[arg-type]
    if all(np.isfinite([c.ci_low for c in cells])):
        return cells
    exact = {c.domain: c for c in estimate_proportion(design, y, var=var, by=by, ci="beta", level=level, **_reliability())}  # type: ignore[arg-type]
    return tuple(c if np.isfinite(c.ci_low) else exact[c.domain] for c in cells)


def estimate_overall(
    wd: WaveDesign, benchmark: str, dimension: str | None = None, *, level: float = 0.95
) -> CellEstimate:
    y = benchmark_indicator(wd, benchmark, dimension)
    return _proportion(wd.design, y, benchmark, None, level)[0]


def estimate_by(
    wd: WaveDesign, benchmark: str, by: str, dimension: str | None = None, *, level: float = 0.95
) -> tuple[CellEstimate, ...]:
    """Return one cell per level of a demographic label ('town', 'sex', …) or per group ('group')."""
    y = benchmark_indicator(wd, benchmark, dimension)
    if by == "group":
        cells = []
        for name, member in wd.table.groups.items():
            found = _proportion(wd.design, y, benchmark, member, level)
            inside = next((c for c in found if c.domain == (True,)), None)
            if inside is not None:
                cells.append(replace(inside, domain=(name,)))
        return tuple(cells)
    labels = wd.table.labels[by]
    keep = labels != ""
    y = np.where(keep, y, np.nan)
    cells = _proportion(wd.design, y, benchmark, np.where(keep, labels, "-"), level)
    return tuple(c for c in cells if c.domain != ("-",))
