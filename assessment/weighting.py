"""Weight sets: base weights 1/π, a nonresponse adjustment within weighting classes, then raking
to census margins, stored as reproducible versions.

The nonresponse adjustment uses the dispositions of every sampled case of the wave: within a
class (town × urban/rural, collapsed where small, `assessment.nonresponse`), respondents carry
the household base weight of the eligible nonrespondents (`scoring.weights_nonresponse`);
cases of unknown eligibility count with the share e of them presumed eligible (AAPOR's e, as
in `assessment.rates`).  The factors per cell are stored in the weight set's method, so the
adjusted and raked weights are a pure function of the respondent table, the margins and the
method.  A weight set records the hash of every input (respondents, design coordinates, π,
raking labels, margins, method with its factors), so estimation can re-derive the calibrated
design and check that it reproduces the stored weights exactly.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from assessment.demography import RAKING_VARIABLES
from assessment.models import AuditEvent, Case, CensusMarginSet, Wave, Weight, WeightSet
from assessment.names import shown_name
from assessment.nonresponse import classes_collapse
from assessment.rates import counts_from_dispositions, eligibility_known_share
from questionnaires.models import Instrument, Response
from reports import jobs
from scoring import Margin, RakeResult, SurveyDesign, design_create, weights_base, weights_nonresponse, weights_rake
from scoring.adapters import DataProblem, RespondentTable, margin_totals, respondent_table

NONRESPONSE: dict[str, Any] = {
    "method": "weighting classes (Kalton & Flores-Cervantes 2003, sec. 2.2), before raking",
    "cells": ["town", "urban_rural"],
    "case_weight": "household base weight 1/(pi_psu * pi_household) of every sampled case",
    "respondents": "cases with at least one response that is not rejected",
    "eligible_nonrespondents": "refusal, non-contact, other, and interviews whose responses were all rejected",
    "unknown_eligibility": "unknown and still-pending cases, weighted by e = eligible share among cases of known eligibility",
    "not_eligible": "left out",
    "min_respondents": 20,
    "max_factor": 2.0,
    "collapse": "town x urban/rural -> town -> pooled small towns -> one class",
}

METHOD: dict[str, Any] = {
    "base": "1/pi (product of the stage probabilities: PSU, household, person)",
    "nonresponse": NONRESPONSE,
    "calibration": {"method": "raking", "variables": list(RAKING_VARIABLES), "tol": 1e-10, "max_iter": 1000},
    "design": {"strata": "town (certainty PSUs: own stratum, households as PSUs)", "psu": "village/community", "lonely_psu": "adjust"},
    "variance": "Taylor linearisation with calibration residuals (ultimate cluster, with replacement)",
}


def margin_set_for(wave: Wave, instrument: Instrument) -> CensusMarginSet:
    """Return the county's latest margin set for the instrument's age range."""
    found = (
        CensusMarginSet.objects.filter(county=wave.county, age_min=instrument.age_min, age_max=instrument.age_max)
        .order_by("-reference_year", "-pk")
        .first()
    )
    if found is None:
        raise DataProblem(
            _("%(county)s没有 %(min)s–%(max)s 岁人口的控制数：请先导入人口控制数。")
            % {"county": shown_name(wave.county.name_zh, wave.county.name_en), "min": instrument.age_min, "max": instrument.age_max}
        )
    return found


def calibrated_design(
    table: RespondentTable, totals: dict[str, dict[str, float]], method: dict[str, Any] = METHOD
) -> RakeResult:
    """Return the raked design of TABLE's respondents (pure given its inputs)."""
    if table.n == 0:
        raise DataProblem(_("没有可用于计算权重的答卷。"))
    calibration = method["calibration"]
    missing = [v for v in calibration["variables"] if v not in totals]
    if missing:
        raise DataProblem(_("人口控制数缺少这些变量的总数：%(variables)s。") % {"variables": "、".join(missing)})
    design: SurveyDesign = design_create(
        adjusted_weights(table, method), strata=table.stratum, psu=table.psu, lonely_psu=method["design"]["lonely_psu"]
    )
    margins = []
    for variable in calibration["variables"]:
        try:
            margins.append(Margin.from_labels(variable, table.labels[variable], totals[variable]))
        except ValueError as exc:
            raise _margin_problem(variable, table.labels[variable], totals[variable], exc) from exc
    try:
        return weights_rake(design, margins, tol=calibration["tol"], max_iter=calibration["max_iter"])
    except ValueError as exc:
        raise _raking_problem(table, totals, calibration["variables"], exc) from exc


def _margin_problem(variable: str, labels: Any, totals: dict[str, float], exc: ValueError) -> DataProblem:
    """Name, in the user's language, the respondent class a census margin has no total for."""
    uncounted = sorted({str(label) for label in labels} - {str(level) for level in totals})
    if uncounted:
        return DataProblem(
            _("有答卷的“%(variable)s”为“%(label)s”，人口控制数中却没有这一类的总数。") % {"variable": variable, "label": uncounted[0]}
        )
    return DataProblem(_("人口控制数“%(variable)s”不能使用：%(detail)s") % {"variable": variable, "detail": exc})


def _raking_problem(table: RespondentTable, totals: dict[str, dict[str, float]], variables: list[str], exc: ValueError) -> DataProblem:
    """Name, in the user's language, a census class with people but no usable response (what raking
    cannot reach); other failures keep the numeric library's detail."""
    for variable in variables:
        present = {str(label) for label in table.labels[variable]}
        for level, total in sorted(totals[variable].items()):
            if total > 0 and str(level) not in present:
                return DataProblem(
                    _("人口控制数中“%(variable)s”为“%(label)s”的一类有 %(total)s 人，却没有一份可用的答卷，无法按它调整权重。")
                    % {"variable": variable, "label": level, "total": f"{total:,.0f}"}
                )
    return DataProblem(_("按人口控制数调整（raking）失败：%(detail)s") % {"detail": exc})


def cell_key(town: str, urban_rural: str) -> str:
    """Return the nonresponse cell of a case, as the method's factors are keyed."""
    return f"{town}|{urban_rural}"


def adjusted_weights(table: RespondentTable, method: dict[str, Any] = METHOD) -> Any:
    """Return the respondents' base weights times their cell's nonresponse factor (if the method has factors)."""
    base = weights_base(table.pi)
    nonresponse = method.get("nonresponse")
    factors = nonresponse.get("factors") if isinstance(nonresponse, dict) else None
    if not factors:
        return base
    cells = [cell_key(t, u) for t, u in zip(table.labels["town"].tolist(), table.labels["urban_rural"].tolist())]
    missing = sorted(set(cells) - set(factors))
    if missing:
        raise DataProblem(_("无回答调整单元 %(cell)s 没有调整系数：请重新计算权重。") % {"cell": missing[0]})
    return base * np.asarray([factors[c] for c in cells], dtype=np.float64)


def nonresponse_adjustment(wave: Wave, spec: dict[str, Any] = NONRESPONSE) -> dict[str, Any]:
    """Return SPEC completed with the wave's e, each cell's class and factor, from all its sampled cases."""
    rows = list(
        Case.objects.filter(wave=wave)
        .order_by("pk")
        .values_list("pk", "town__code", "sampled_unit__unit__urban_rural", "prob_psu", "prob_household", "disposition")
    )
    if not rows:
        raise DataProblem(_("%(wave)s 轮次没有抽中的样本户。") % {"wave": wave.code})
    usable = set(
        Response.objects.filter(wave=wave, case__isnull=False)
        .exclude(review=Response.Review.REJECTED)
        .values_list("case_id", flat=True)
    )
    e = eligibility_known_share(counts_from_dispositions(r[5] for r in rows))
    e = 1.0 if e != e else e  # no case of known eligibility yet: presume the unknown ones eligible
    cells, responded, weight = [], [], []
    for pk, town, urban_rural, p1, p2, disposition in rows:
        answered = pk in usable
        if not answered and disposition == "not_eligible":
            continue
        share = e if not answered and disposition in ("unknown", "pending") else 1.0
        if share <= 0:
            continue
        cells.append((town, urban_rural))
        responded.append(answered)
        weight.append(share / (p1 * p2))
    try:
        labels = classes_collapse(
            cells, responded, weight, min_respondents=spec["min_respondents"], max_factor=spec["max_factor"]
        )
        result = weights_nonresponse(weight, responded, labels)
    except ValueError as exc:
        raise DataProblem(_("%(wave)s 轮次的无回答调整失败：%(detail)s") % {"wave": wave.code, "detail": exc}) from exc
    factor_of = dict(zip((str(c) for c in result.class_labels), result.factors.tolist()))
    class_of = {cell_key(*cell): label for cell, label in zip(cells, labels)}
    return {
        **spec,
        "e": e,
        "classes": dict(sorted(class_of.items())),
        "factors": {cell: factor_of[label] for cell, label in sorted(class_of.items())},
    }


def _inputs_hash(table: RespondentTable, totals: dict[str, dict[str, float]], method: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    for array in (table.response_id, table.pi):
        digest.update(np.ascontiguousarray(array).tobytes())
    for array in (table.stratum, table.psu, *[table.labels[v] for v in RAKING_VARIABLES]):
        digest.update("\x1f".join(array.tolist()).encode())
    digest.update(json.dumps([totals, method], sort_keys=True).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class WeightingOutcome:
    weight_set: WeightSet
    created: bool


@transaction.atomic
def weight_set_compute(
    *, wave: Wave, instrument_code: str, user: AbstractBaseUser | None = None, store_estimates: bool = True
) -> WeightingOutcome:
    """Compute and store the weights of an instrument's respondents in WAVE.

    Re-running on unchanged inputs returns the current set; changed inputs (new responses,
    a rejection, new margins) make a new version, and the old one stays for reproducibility.
    A new version also queues, once it is committed, the `reports.estimates_store` job, which
    computes the year's report figures ahead of the first report (STORE_ESTIMATES False: the
    caller does that itself, as the demo does once every wave is weighted).
    """
    instrument = Instrument.objects.get(code=instrument_code)
    margin_set = margin_set_for(wave, instrument)
    totals = margin_totals(margin_set)
    table = respondent_table(wave, instrument_code)
    method = {**METHOD, "nonresponse": nonresponse_adjustment(wave)}
    digest = _inputs_hash(table, totals, method)
    current = WeightSet.objects.filter(wave=wave, instrument=instrument, is_current=True).first()
    if current is not None and current.inputs_hash == digest:
        return WeightingOutcome(current, False)
    raked = calibrated_design(table, totals, method)
    base = weights_base(table.pi)
    adjusted = adjusted_weights(table, method)
    final = raked.weights
    factors = np.asarray(list(method["nonresponse"]["factors"].values()))
    last = WeightSet.objects.filter(wave=wave, instrument=instrument).order_by("-version").values_list("version", flat=True).first()
    WeightSet.objects.filter(wave=wave, instrument=instrument, is_current=True).update(is_current=False)
    weight_set = WeightSet.objects.create(
        wave=wave,
        instrument=instrument,
        version=(last or 0) + 1,
        margin_set=margin_set,
        method=method,
        diagnostics={
            "respondents": table.n,
            "nonresponse_classes": len(set(method["nonresponse"]["classes"].values())),
            "nonresponse_factor_min": float(factors.min()),
            "nonresponse_factor_max": float(factors.max()),
            "sum_adjusted": float(adjusted.sum()),
            "iterations": raked.iterations,
            "converged": raked.converged,
            "max_rel_error": raked.max_rel_error,
            "sum_base": float(base.sum()),
            "sum_final": float(final.sum()),
            "min_final": float(final.min()),
            "max_final": float(final.max()),
            # Kish's approximate design effect due to unequal weights: 1 + CV² of the weights.
            "deff_weighting": float(1 + final.var() / final.mean() ** 2),
        },
        inputs_hash=digest,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    Weight.objects.bulk_create(
        Weight(
            weight_set=weight_set,
            response_id=int(rid),
            stratum=str(s),
            psu=str(p),
            base=float(b),
            adjusted=float(a),
            final=float(f),
        )
        for rid, s, p, b, a, f in zip(table.response_id, table.stratum, table.psu, base, adjusted, final)
    )
    AuditEvent.objects.create(
        actor=weight_set.created_by,
        action="weights.compute",
        object_type="WeightSet",
        object_id=str(weight_set.pk),
        county_id=wave.county_id,
        summary=f"{wave.code} {instrument_code} v{weight_set.version}: {table.n} respondents",
        details=weight_set.diagnostics,
    )
    if store_estimates:
        wave_id = wave.pk
        # Robust: a broker that is down must not turn the committed weighting into an error.
        transaction.on_commit(lambda: jobs.enqueue("reports.estimates_store", wave_id=wave_id), robust=True)
    return WeightingOutcome(weight_set, True)


@jobs.job("assessment.weight_set_compute")
def weight_set_compute_job(*, wave_id: int, instrument_code: str, user_id: int | None = None) -> None:
    """Run `weight_set_compute` as a background job (ids in, the weight set and audit event out)."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    weight_set_compute(wave=Wave.objects.get(pk=wave_id), instrument_code=instrument_code, user=user)


def weight_set_compute_start(*, wave: Wave, instrument_code: str, user: AbstractBaseUser | None = None) -> None:
    """Compute the instrument's weights in WAVE in the background (a Celery worker in production)."""
    Instrument.objects.get(code=instrument_code)  # an unknown instrument fails here, not on a worker
    user_id = user.pk if user is not None and user.is_authenticated else None
    jobs.enqueue("assessment.weight_set_compute", wave_id=wave.pk, instrument_code=instrument_code, user_id=user_id)
