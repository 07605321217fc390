"""Weight sets: base weights 1/π raked to census margins, stored as reproducible versions.

A weight set records its method and the hash of every input (respondents, design
coordinates, π, raking labels, margins), so estimation can re-derive the calibrated design
and check that it reproduces the stored weights exactly.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from assessment.demography import RAKING_VARIABLES
from assessment.models import AuditEvent, CensusMarginSet, Wave, Weight, WeightSet
from questionnaires.models import Instrument
from scoring import Margin, RakeResult, SurveyDesign, design_create, weights_base, weights_rake
from scoring.adapters import DataProblem, RespondentTable, margin_totals, respondent_table

METHOD: dict[str, Any] = {
    "base": "1/pi (product of the stage probabilities: PSU, household, person)",
    "nonresponse": "none (absorbed by raking on town, sex x age group, urban/rural, education)",
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
            f"no census margins for ages {instrument.age_min}–{instrument.age_max} in {wave.county}: import them first"
        )
    return found


def calibrated_design(
    table: RespondentTable, totals: dict[str, dict[str, float]], method: dict[str, Any] = METHOD
) -> RakeResult:
    """Return the raked design of TABLE's respondents (pure given its inputs)."""
    if table.n == 0:
        raise DataProblem("no usable responses to weight")
    calibration = method["calibration"]
    missing = [v for v in calibration["variables"] if v not in totals]
    if missing:
        raise DataProblem(f"the margin set has no totals for {', '.join(missing)}")
    design: SurveyDesign = design_create(
        weights_base(table.pi), strata=table.stratum, psu=table.psu, lonely_psu=method["design"]["lonely_psu"]
    )
    margins = []
    for variable in calibration["variables"]:
        try:
            margins.append(Margin.from_labels(variable, table.labels[variable], totals[variable]))
        except ValueError as exc:
            raise DataProblem(str(exc)) from exc
    try:
        return weights_rake(design, margins, tol=calibration["tol"], max_iter=calibration["max_iter"])
    except ValueError as exc:
        raise DataProblem(f"raking failed: {exc}") from exc


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
    *, wave: Wave, instrument_code: str, user: AbstractBaseUser | None = None
) -> WeightingOutcome:
    """Compute and store the weights of an instrument's respondents in WAVE.

    Re-running on unchanged inputs returns the current set; changed inputs (new responses,
    a rejection, new margins) make a new version, and the old one stays for reproducibility.
    """
    instrument = Instrument.objects.get(code=instrument_code)
    margin_set = margin_set_for(wave, instrument)
    totals = margin_totals(margin_set)
    table = respondent_table(wave, instrument_code)
    digest = _inputs_hash(table, totals, METHOD)
    current = WeightSet.objects.filter(wave=wave, instrument=instrument, is_current=True).first()
    if current is not None and current.inputs_hash == digest:
        return WeightingOutcome(current, False)
    raked = calibrated_design(table, totals)
    base = weights_base(table.pi)
    final = raked.weights
    last = WeightSet.objects.filter(wave=wave, instrument=instrument).order_by("-version").values_list("version", flat=True).first()
    WeightSet.objects.filter(wave=wave, instrument=instrument, is_current=True).update(is_current=False)
    weight_set = WeightSet.objects.create(
        wave=wave,
        instrument=instrument,
        version=(last or 0) + 1,
        margin_set=margin_set,
        method=METHOD,
        diagnostics={
            "respondents": table.n,
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
            adjusted=float(b),
            final=float(f),
        )
        for rid, s, p, b, f in zip(table.response_id, table.stratum, table.psu, base, final)
    )
    AuditEvent.objects.create(
        actor=weight_set.created_by,
        action="weights.compute",
        object_type="WeightSet",
        object_id=str(weight_set.pk),
        summary=f"{wave.code} {instrument_code} v{weight_set.version}: {table.n} respondents",
        details=weight_set.diagnostics,
    )
    return WeightingOutcome(weight_set, True)
