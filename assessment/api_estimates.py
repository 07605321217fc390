"""Estimates API (mounted at /api/v1/): a wave's literacy share overall and by one domain variable.

`GET /api/v1/estimates/?wave=2025&indicator=science_literacy&by=town` answers the county overall
and one cell per level of BY, each with its standard error, interval, n, design effect, CV and
reliability flag: the numbers of the reports (`reports.estimates`, logit intervals with the
Korn–Graubard fallback).  A town official or supervisor gets the county overall and the cells
of their own towns only (`assessment.access.estimate_towns`): by=town gives their towns' cells,
any other BY is split by their towns first.
"""
from __future__ import annotations

import math
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from assessment import access
from assessment.models import Wave
from assessment.selectors import headline_instruments
from reports.estimates import Estimates, Measure
from scoring import CellEstimate
from scoring.adapters import DataProblem

BY = ("town", "group", "sex", "age_group", "urban_rural", "education")


class CellOutput(serializers.Serializer):
    domain = serializers.DictField(child=serializers.CharField(), help_text="{variable: level}; {} for the county overall")
    estimate = serializers.FloatField(allow_null=True)
    se = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    ci_method = serializers.CharField()
    n = serializers.IntegerField()
    weighted_n = serializers.FloatField(allow_null=True)
    deff = serializers.FloatField(allow_null=True)
    cv = serializers.FloatField(allow_null=True)
    df = serializers.IntegerField()
    reliable = serializers.BooleanField()


class EstimateOutput(serializers.Serializer):
    wave = serializers.CharField()
    indicator = serializers.CharField()
    benchmark = serializers.CharField()
    by = serializers.CharField(allow_null=True)
    level = serializers.FloatField()
    weights = serializers.CharField(help_text="the weight set behind the estimates")
    scope = serializers.ListField(child=serializers.CharField(), allow_null=True, help_text="your towns; null: the whole county")
    overall = CellOutput()
    cells = CellOutput(many=True)


def _number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _cell(domain: dict[str, str], cell: CellEstimate) -> dict[str, Any]:
    return {
        "domain": domain, "estimate": _number(cell.estimate), "se": _number(cell.se), "ci_low": _number(cell.ci_low),
        "ci_high": _number(cell.ci_high), "ci_method": cell.ci_method, "n": int(cell.n),
        "weighted_n": _number(cell.weighted_n), "deff": _number(cell.deff), "cv": _number(cell.cv), "df": int(cell.df),
        "reliable": bool(cell.reliable),
    }


class EstimateApi(APIView):
    """The share meeting an indicator's benchmark in a wave, overall and by a domain variable."""

    class Query(serializers.Serializer):
        wave = serializers.SlugField()
        indicator = serializers.SlugField(help_text="instrument code, e.g. science_literacy; its headline benchmark")
        by = serializers.ChoiceField(choices=BY, required=False, allow_null=True, default=None)
        level = serializers.FloatField(min_value=0.5, max_value=0.999, default=0.95)

    @extend_schema(parameters=[Query], responses={200: EstimateOutput})
    def get(self, request: Request) -> ApiResponse:
        profile = access.profile_of(request.user)
        if profile is None:
            raise PermissionDenied("no staff role")
        query = self.Query(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        wave = get_object_or_404(Wave, county_id=profile.county_id, code=params["wave"])
        if not access.can_read_estimates(request.user, wave):
            raise PermissionDenied("only admins, officials and supervisors see estimates")
        headline = {code: benchmark for code, benchmark, _name in headline_instruments(wave)}
        if params["indicator"] not in headline:
            known = ", ".join(headline) or "none"
            return ApiResponse({"indicator": [f"not an indicator of wave {wave.code} (known: {known})"]}, status=status.HTTP_400_BAD_REQUEST)
        measure = Measure(params["indicator"], headline[params["indicator"]])
        towns = access.estimate_towns(request.user, wave)
        scope = sorted(towns.values_list("code", flat=True)) if towns is not None else None
        est = Estimates()
        try:
            overall = est.cells(wave, measure, level=params["level"])[()]
            cells = _domain_cells(est, wave, measure, params["by"], scope, params["level"])
            weights = est.design(wave, measure.instrument).weight_set.label
        except DataProblem as exc:
            return ApiResponse({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        est.save()
        return ApiResponse(EstimateOutput({
            "wave": wave.code, "indicator": measure.instrument, "benchmark": measure.benchmark, "by": params["by"],
            "level": params["level"], "weights": weights, "scope": scope, "overall": _cell({}, overall), "cells": cells,
        }).data)


def _domain_cells(est: Estimates, wave: Wave, measure: Measure, by: str | None, scope: list[str] | None, level: float) -> list[dict[str, Any]]:
    """Return the cells of BY, limited to the towns of SCOPE (None: every cell of the county)."""
    if by is None:
        return []
    split = () if scope is None or by == "town" else ("town",)
    out = []
    variables = [(f"group:{name}", name) for name in sorted(est.design(wave, measure.instrument).table.groups)] if by == "group" else [(by, None)]
    for variable, group in variables:
        for domain, cell in sorted(est.cells(wave, measure, (*split, variable), level=level).items()):
            labels = dict(zip((*split, variable), domain))
            if scope is not None and labels.get("town") not in scope:
                continue
            if group is not None:
                if labels.pop(variable) != "in":
                    continue
                labels["group"] = group
            out.append(_cell(labels, cell))
    return out
