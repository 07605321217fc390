"""Waves and weight sets API (mounted at /api/v1/): read for staff, weighting runs for admins.

Objects of another county answer 404; roles without the right 403 (`assessment.access`).
"""
from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from api.lists import PAGE_PARAMETERS, page_of, paginated, query_of
from api.parsers import JSONParser
from assessment import access
from assessment.models import StaffProfile, Wave, WaveInstrument, WeightSet
from assessment.weighting import weight_set_compute
from questionnaires.models import Instrument
from scoring.adapters import DataProblem


def _profile(request: Request) -> StaffProfile:
    profile = access.profile_of(request.user)
    if profile is None:
        raise PermissionDenied("no staff role")
    return profile


class TargetOutput(serializers.Serializer):
    indicator = serializers.CharField()
    value = serializers.FloatField()
    target_year = serializers.IntegerField()
    source = serializers.CharField(allow_blank=True)


class WaveInstrumentOutput(serializers.Serializer):
    instrument = serializers.CharField(source="instrument_version.instrument.code")
    version = serializers.IntegerField(source="instrument_version.version")
    version_id = serializers.IntegerField(source="instrument_version_id")
    scoring_key = serializers.IntegerField(source="scoring_key.version", default=None, allow_null=True)
    scoring_key_id = serializers.IntegerField(allow_null=True)
    eligibility = serializers.CharField(allow_blank=True)


class WaveOutput(serializers.ModelSerializer):
    targets = TargetOutput(many=True)
    instruments = WaveInstrumentOutput(many=True, source="wave_instruments")

    class Meta:
        model = Wave
        fields = [
            "code", "year", "name_zh", "name_en", "kind", "status", "fieldwork_start", "fieldwork_end",
            "targets", "instruments",
        ]


def _waves(request: Request) -> Any:
    profile = _profile(request)
    instruments = WaveInstrument.objects.select_related("instrument_version__instrument", "scoring_key").order_by("order")
    return (
        Wave.objects.filter(county_id=profile.county_id)
        .prefetch_related("targets", Prefetch("wave_instruments", queryset=instruments))
        .order_by("-year", "code")
    )


class WaveListApi(APIView):
    """The waves of the user's county, with their instruments and targets (filters: year, kind, status)."""

    class Query(serializers.Serializer):
        year = serializers.IntegerField(required=False, min_value=1949, max_value=2100)
        kind = serializers.ChoiceField(choices=Wave.Kind.choices, required=False)
        status = serializers.ChoiceField(choices=Wave.Status.choices, required=False)

    @extend_schema(parameters=[Query, *PAGE_PARAMETERS], responses={200: paginated("PaginatedWaveList", WaveOutput(many=True))})
    def get(self, request: Request) -> ApiResponse:
        params = query_of(request, self.Query)
        waves = _waves(request).filter(**params)
        return page_of(request, self, waves, WaveOutput)


class WaveDetailApi(APIView):
    """One wave by its code."""

    @extend_schema(responses={200: WaveOutput})
    def get(self, request: Request, wave_code: str) -> ApiResponse:
        wave = get_object_or_404(_waves(request), code=wave_code)
        return ApiResponse(WaveOutput(wave).data)


class WeightSetOutput(serializers.ModelSerializer):
    wave = serializers.CharField(source="wave.code")
    instrument = serializers.CharField(source="instrument.code")
    label = serializers.CharField()
    margin_set = serializers.CharField(source="margin_set.name", default=None, allow_null=True)
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)

    class Meta:
        model = WeightSet
        fields = [
            "id", "wave", "instrument", "version", "label", "is_current", "margin_set", "diagnostics", "inputs_hash",
            "created_at", "created_by",
        ]


class WeightSetDetailOutput(WeightSetOutput):
    method = serializers.JSONField()

    class Meta(WeightSetOutput.Meta):
        fields = [*WeightSetOutput.Meta.fields, "method"]


def _weight_sets(request: Request) -> Any:
    profile = _profile(request)
    if not access.can_read_weights(request.user):
        raise PermissionDenied("only admins, supervisors and officials see weight sets")
    return WeightSet.objects.filter(wave__county_id=profile.county_id).select_related(
        "wave", "instrument", "margin_set", "created_by"
    )


class WeightSetListApi(APIView):
    """Weight sets (filters: wave, instrument, current); POST runs the weighting (admins, audited)."""

    parser_classes = [JSONParser]

    class Query(serializers.Serializer):
        wave = serializers.SlugField(required=False)
        instrument = serializers.SlugField(required=False)
        current = serializers.BooleanField(required=False, allow_null=True, default=None)

    class Input(serializers.Serializer):
        wave = serializers.SlugField()
        instrument = serializers.SlugField()

    class Output(serializers.Serializer):
        created = serializers.BooleanField(help_text="false: the inputs are unchanged and the current set stands")
        weight_set = WeightSetOutput()

    @extend_schema(parameters=[Query, *PAGE_PARAMETERS], responses={200: paginated("PaginatedWeightSetList", WeightSetOutput(many=True))})
    def get(self, request: Request) -> ApiResponse:
        params = query_of(request, self.Query)
        sets = _weight_sets(request)
        if params.get("wave"):
            sets = sets.filter(wave__code=params["wave"])
        if params.get("instrument"):
            sets = sets.filter(instrument__code=params["instrument"])
        if params.get("current") is not None:
            sets = sets.filter(is_current=params["current"])
        return page_of(request, self, sets.order_by("wave__year", "instrument__code", "version"), WeightSetOutput)

    @extend_schema(request=Input, responses={201: Output, 200: Output})
    def post(self, request: Request) -> ApiResponse:
        profile = _profile(request)
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        wave = get_object_or_404(Wave, county_id=profile.county_id, code=body.validated_data["wave"])
        if not access.can_run_weighting(request.user, wave):
            raise PermissionDenied("only the county's admins run the weighting")
        code = body.validated_data["instrument"]
        if not Instrument.objects.filter(code=code).exists() or not wave.wave_instruments.filter(instrument_version__instrument__code=code).exists():
            return ApiResponse({"instrument": [f"{code!r} is not an instrument of wave {wave.code}"]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            outcome = weight_set_compute(wave=wave, instrument_code=code, user=request.user)
        except DataProblem as exc:
            return ApiResponse({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        data = {"created": outcome.created, "weight_set": WeightSetOutput(outcome.weight_set).data}
        return ApiResponse(data, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)


class WeightSetDetailApi(APIView):
    """One weight set with its full method (every step and parameter)."""

    @extend_schema(responses={200: WeightSetDetailOutput})
    def get(self, request: Request, weight_set_id: int) -> ApiResponse:
        weight_set = get_object_or_404(_weight_sets(request), pk=weight_set_id)
        return ApiResponse(WeightSetDetailOutput(weight_set).data)
