"""Fieldwork API (mounted at /api/v1/): frames, designs and draws, cases, visits, rates, review.

Views validate, ask `assessment.access` whether the user may, call one service or selector and
shape its answer.  Objects outside the user's scope answer 404, roles without the right 403.
"""
from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from api.lists import PAGE_PARAMETERS, MomentField, object_id, page_of, paginated, query_of
from api.parsers import JSONParser
from assessment import access, selectors, services
from assessment.errors import FieldworkError, ImportRejected, WaveClosed
from assessment.models import Case, Disposition, Frame, SampleDesign, SampleDraw, StaffProfile, Wave
from assessment.rates import RATE_NAMES, OutcomeRates
from questionnaires.models import Response


def _profile(request: Request) -> StaffProfile:
    profile = access.profile_of(request.user)
    if profile is None:
        raise ApiPermissionDenied("no staff role")
    return profile


def _wave(request: Request, code: str) -> Wave:
    return get_object_or_404(Wave, county_id=_profile(request).county_id, code=code)


def _refused(message: str) -> ApiResponse:
    return ApiResponse({"detail": message}, status=status.HTTP_403_FORBIDDEN)


def _problem(exc: FieldworkError) -> ApiResponse:
    if isinstance(exc, ImportRejected):
        return ApiResponse({"problems": [p.as_dict() for p in exc.problems]}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, WaveClosed):
        return ApiResponse({"detail": str(exc), "code": "wave_closed"}, status=status.HTTP_409_CONFLICT)
    return ApiResponse({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)


def _number(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(value, 6)


# --- frames ---------------------------------------------------------------------------------


class FrameListApi(APIView):
    """List the county's frames (admins, supervisors); upload a new one (admins)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema_serializer(component_name="FieldworkFrame")
    class Output(serializers.ModelSerializer):
        units = serializers.IntegerField(source="n_units")
        households = serializers.IntegerField(source="n_households")
        # A plain string: an enum named "kind" would collide with the reports' kinds in the API schema.
        kind = serializers.CharField(help_text="area | school | enterprise | agency")

        class Meta:
            model = Frame
            fields = ["id", "name", "kind", "reference_year", "source_filename", "imported_at", "units", "households"]

    @extend_schema_serializer(component_name="FieldworkFrameUpload")
    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=128)
        kind = serializers.CharField(help_text="area | school | enterprise | agency")
        reference_year = serializers.IntegerField(min_value=1949, max_value=2100)
        file = serializers.FileField()

        def validate_kind(self, value: str) -> str:
            if value not in Frame.Kind.values:
                raise serializers.ValidationError(f"one of {', '.join(Frame.Kind.values)}")
            return value

    class Query(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Frame.Kind.choices, required=False)
        reference_year = serializers.IntegerField(min_value=1949, max_value=2100, required=False)

    @extend_schema(parameters=[Query, *PAGE_PARAMETERS], responses={200: paginated("PaginatedFrameList", Output(many=True))})
    def get(self, request: Request) -> ApiResponse:
        profile = _profile(request)
        if profile.role not in ("admin", "supervisor"):
            return _refused("only admins and supervisors see frames")
        frames = (
            Frame.objects.filter(county_id=profile.county_id, **query_of(request, self.Query))
            .annotate(n_units=Count("units", distinct=True), n_households=Count("units__households_listed"))
            .order_by("-imported_at", "-pk")
        )
        return page_of(request, self, frames, self.Output)

    @extend_schema(request=Input, responses={201: Output})
    def post(self, request: Request) -> ApiResponse:
        profile = _profile(request)
        if not access.can_manage_frames(request.user, profile.county_id):
            return _refused("only the county's admins import frames")
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        try:
            frame = services.frame_import(
                county=profile.county, name=body.validated_data["name"], kind=body.validated_data["kind"],
                reference_year=body.validated_data["reference_year"], data=upload.read(), filename=upload.name, user=request.user,
            )
        except FieldworkError as exc:
            return _problem(exc)
        return ApiResponse({"id": frame.pk, "units": frame.units.count()}, status=status.HTTP_201_CREATED)


class HouseholdListingApi(APIView):
    """Upload a household listing for a frame's units (admins); sampled PSUs waiting for it get their cases."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema_serializer(component_name="HouseholdListingUpload")
    class Input(serializers.Serializer):
        file = serializers.FileField()

    @extend_schema_serializer(component_name="HouseholdListingResult")
    class Output(serializers.Serializer):
        households = serializers.IntegerField()
        cases = serializers.IntegerField(help_text="cases drawn at once in sampled PSUs that were waiting for this listing")

    @extend_schema(request=Input, responses={201: Output})
    def post(self, request: Request, frame_id: int) -> ApiResponse:
        profile = _profile(request)
        frame = get_object_or_404(Frame, pk=frame_id, county_id=profile.county_id)
        if not access.can_manage_frames(request.user, frame.county_id):
            return _refused("only the county's admins import listings")
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        try:
            result = services.households_import(frame=frame, data=upload.read(), filename=upload.name, user=request.user)
        except FieldworkError as exc:
            return _problem(exc)
        return ApiResponse({"households": result.households, "cases": result.cases}, status=status.HTTP_201_CREATED)


# --- designs and draws ----------------------------------------------------------------------


class StratumOutput(serializers.Serializer):
    code = serializers.CharField()
    frame_units = serializers.IntegerField()
    frame_size = serializers.FloatField()
    psu_allocated = serializers.IntegerField()
    target_completes = serializers.IntegerField()


class DesignOutput(serializers.ModelSerializer):
    strata = StratumOutput(many=True)
    frame = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = SampleDesign
        fields = [
            "id", "name", "frame", "allocation", "stratify_by", "psu_total", "households_per_psu", "household_method",
            "parameters", "strata",
        ]


class DesignListApi(APIView):
    """A wave's sample designs (admins, supervisors); create one (admins)."""

    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="SampleDesignInput")
    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=128)
        frame = object_id()
        allocation = serializers.ChoiceField(choices=SampleDesign.Allocation.choices)
        psu_total = serializers.IntegerField(min_value=1, max_value=100_000, required=False, allow_null=True)
        households_per_psu = serializers.IntegerField(min_value=1, max_value=500)
        stratify_by = serializers.ListField(child=serializers.ChoiceField(choices=["town", "urban_rural"]), default=["town"])
        household_method = serializers.ChoiceField(choices=SampleDesign.HouseholdMethod.choices, default="systematic")
        parameters = serializers.DictField(required=False, default=dict)

    class Query(serializers.Serializer):
        frame = object_id(required=False)
        allocation = serializers.ChoiceField(choices=SampleDesign.Allocation.choices, required=False)

    @extend_schema(parameters=[Query, *PAGE_PARAMETERS], responses={200: paginated("PaginatedDesignList", DesignOutput(many=True))})
    def get(self, request: Request, wave_code: str) -> ApiResponse:
        wave = _wave(request, wave_code)
        if not access.can_monitor(request.user, wave):
            return _refused("only admins and supervisors see designs")
        params = query_of(request, self.Query)
        designs = SampleDesign.objects.filter(wave=wave).prefetch_related("strata").order_by("pk")
        if "frame" in params:
            designs = designs.filter(frame_id=params["frame"])
        if "allocation" in params:
            designs = designs.filter(allocation=params["allocation"])
        return page_of(request, self, designs, DesignOutput)

    @extend_schema(request=Input, responses={201: DesignOutput})
    def post(self, request: Request, wave_code: str) -> ApiResponse:
        wave = _wave(request, wave_code)
        if not access.can_design(request.user, wave):
            return _refused("only the county's admins design samples")
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        frame = Frame.objects.filter(pk=data["frame"], county_id=wave.county_id).first()
        if frame is None:
            return ApiResponse({"frame": ["no such frame in this county"]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            design = services.sample_design_create(
                wave=wave, frame=frame, name=data["name"], allocation=data["allocation"], psu_total=data.get("psu_total"),
                households_per_psu=data["households_per_psu"], stratify_by=data["stratify_by"],
                household_method=data["household_method"], parameters=data["parameters"], user=request.user,
            )
        except FieldworkError as exc:
            return _problem(exc)
        return ApiResponse(DesignOutput(design).data, status=status.HTTP_201_CREATED)


class DrawOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    design = serializers.IntegerField(source="design_id")
    seed = serializers.IntegerField()
    is_current = serializers.BooleanField()
    psus = serializers.SerializerMethodField()
    certainty_psus = serializers.SerializerMethodField()
    cases = serializers.SerializerMethodField()
    drawn_at = serializers.DateTimeField()

    def get_psus(self, draw: SampleDraw) -> int:
        return draw.units.count()

    def get_certainty_psus(self, draw: SampleDraw) -> int:
        return draw.units.filter(certainty=True).count()

    def get_cases(self, draw: SampleDraw) -> int:
        return draw.cases.count()


class DrawCreateApi(APIView):
    """Draw a design's sample with a seed (admins); the same seed gives the same sample."""

    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="SampleDrawInput")
    class Input(serializers.Serializer):
        seed = serializers.IntegerField(min_value=0, max_value=2**63 - 1, required=False, allow_null=True)

    @extend_schema(request=Input, responses={201: DrawOutput})
    def post(self, request: Request, design_id: int) -> ApiResponse:
        design = get_object_or_404(SampleDesign, pk=design_id, wave__county_id=_profile(request).county_id)
        if not access.can_design(request.user, design.wave):
            return _refused("only the county's admins draw samples")
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            draw = services.wave_draw_sample(design=design, seed=body.validated_data.get("seed"), user=request.user)
        except FieldworkError as exc:
            return _problem(exc)
        return ApiResponse(DrawOutput(draw).data, status=status.HTTP_201_CREATED)


class DrawDetailApi(APIView):
    """A draw: its seed and how many PSUs and cases it selected."""

    @extend_schema(responses={200: DrawOutput})
    def get(self, request: Request, draw_id: int) -> ApiResponse:
        draw = get_object_or_404(SampleDraw.objects.select_related("design__wave"), pk=draw_id, design__wave__county_id=_profile(request).county_id)
        if not access.can_monitor(request.user, draw.design.wave):
            return _refused("only admins and supervisors see draws")
        return ApiResponse(DrawOutput(draw).data)


# --- cases ----------------------------------------------------------------------------------


class CaseListApi(APIView):
    """The cases the user may see (admin: county; supervisor: their towns; enumerator: their own)."""

    @extend_schema_serializer(component_name="FieldworkCase")
    class Output(serializers.ModelSerializer):
        wave = serializers.CharField(source="wave.code")
        town = serializers.CharField(source="town.code")
        psu = serializers.IntegerField(source="sampled_unit_id")
        psu_code = serializers.CharField(source="sampled_unit.unit.code")
        household = serializers.CharField(source="household.code", default=None, allow_null=True)
        assigned_to = serializers.CharField(source="assigned_to.username", default=None, allow_null=True)
        pi = serializers.FloatField(source="inclusion_probability")

        class Meta:
            model = Case
            fields = [
                "code", "wave", "town", "psu", "psu_code", "household", "disposition", "disposition_at", "assigned_to",
                "prob_psu", "prob_household", "prob_person", "pi",
            ]

    class Query(serializers.Serializer):
        wave = serializers.SlugField(required=False)
        town = serializers.SlugField(required=False)
        psu = object_id(required=False, help_text="id of a sampled PSU")
        disposition = serializers.ChoiceField(choices=Disposition.choices, required=False)

    @extend_schema(parameters=[Query, *PAGE_PARAMETERS], responses={200: paginated("PaginatedCaseList", Output(many=True))})
    def get(self, request: Request) -> ApiResponse:
        profile = _profile(request)
        if profile.role == "official":
            return _refused("officials see reports, not cases")
        params = query_of(request, self.Query)
        wave = _wave(request, params["wave"]) if params.get("wave") else None
        cases = selectors.cases_for(
            request.user, wave=wave, town=params.get("town"), psu=params.get("psu"), disposition=params.get("disposition"),
        ).select_related("wave")
        return page_of(request, self, cases, self.Output)


class CaseAssignApi(APIView):
    """Assign cases (by code, or every case of a PSU) to an enumerator; the open assignment is closed."""

    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="CaseAssignInput")
    class Input(serializers.Serializer):
        enumerator = serializers.CharField()
        cases = serializers.ListField(child=serializers.CharField(), required=False)
        psu = object_id(required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs.get("cases") and not attrs.get("psu"):
                raise serializers.ValidationError("give cases or a psu")
            return attrs

    @extend_schema_serializer(component_name="CaseAssignResult")
    class Output(serializers.Serializer):
        assigned = serializers.IntegerField(help_text="cases that changed hands")
        cases = serializers.IntegerField()

    @extend_schema(request=Input, responses={200: Output})
    def post(self, request: Request) -> ApiResponse:
        profile = _profile(request)
        if profile.role not in ("admin", "supervisor"):
            return _refused("only admins and supervisors assign cases")
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        visible = access.visible_cases(request.user).filter(draw__is_current=True)
        cases = list(visible.filter(code__in=data["cases"]) if data.get("cases") else visible.filter(sampled_unit_id=data["psu"]))
        if not cases or (data.get("cases") and len(cases) != len(set(data["cases"]))):
            raise NotFound("no such cases")
        enumerator = access.assignable_enumerators(request.user).filter(username=data["enumerator"]).first()
        if enumerator is None:
            return ApiResponse({"enumerator": ["not an enumerator you may assign to"]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            moved = services.cases_assign(cases=cases, enumerator=enumerator, user=request.user)
        except PermissionDenied as exc:
            return _refused(str(exc))
        except FieldworkError as exc:
            return _problem(exc)
        return ApiResponse({"assigned": moved, "cases": len(cases)})


class RosterApi(APIView):
    """Record a household's roster; the Kish grid selects the respondent and sets π_person."""

    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="RosterMember")
    class Member(serializers.Serializer):
        sex = serializers.ChoiceField(choices=["male", "female"])
        age = serializers.IntegerField(min_value=0, max_value=120)
        name = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)

    @extend_schema_serializer(component_name="RosterInput")
    class Input(serializers.Serializer):
        members = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=30)

        def validate_members(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
            """Each member checked; errors are keyed by the member's line (1 = first)."""
            out, errors = [], {}
            for line, item in enumerate(value, start=1):
                member = RosterApi.Member(data=item)
                if member.is_valid():
                    out.append(member.validated_data)
                else:
                    errors[str(line)] = member.errors
            if errors:
                raise serializers.ValidationError(errors)
            return out

    @extend_schema_serializer(component_name="RosterResult")
    class Output(serializers.Serializer):
        selected_line = serializers.IntegerField(allow_null=True)
        eligible = serializers.IntegerField()
        prob_person = serializers.FloatField(allow_null=True)
        disposition = serializers.CharField()

    @extend_schema(request=Input, responses={200: Output})
    def post(self, request: Request, case_code: str) -> ApiResponse:
        case = get_object_or_404(access.visible_cases(request.user), code=case_code)
        if not access.can_work_case(request.user, case):
            return _refused("you may not record this household's roster")
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        members = [services.MemberInput(sex=m["sex"], age=m["age"], name=m["name"]) for m in body.validated_data["members"]]
        try:
            selected = services.household_roster_record(case=case, members=members, user=request.user)
        except FieldworkError as exc:
            return _problem(exc)
        return ApiResponse({
            "selected_line": selected.line if selected else None,
            "eligible": case.members.filter(eligible=True).count(),
            "prob_person": case.prob_person,
            "disposition": case.disposition,
        })


class VisitSyncApi(APIView):
    """Store a device's queued visit attempts; idempotent by client_id, one status per visit."""

    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="VisitRecord")
    class Visit(serializers.Serializer):
        client_id = serializers.UUIDField()
        case = serializers.CharField(max_length=40)
        visited_at = MomentField()
        outcome = serializers.ChoiceField(choices=[c for c in Disposition.values if c != Disposition.PENDING])
        note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)

    @extend_schema_serializer(component_name="VisitSyncInput")
    class Input(serializers.Serializer):
        visits = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=500)

    @extend_schema_serializer(component_name="VisitSyncResult")
    class Result(serializers.Serializer):
        client_id = serializers.CharField()
        status = serializers.ChoiceField(choices=["stored", "already_stored", "refused"])
        error = serializers.JSONField()

    @extend_schema_serializer(component_name="VisitSyncOutput")
    class Output(serializers.Serializer):
        results = serializers.ListField(child=serializers.DictField())

    @extend_schema(request=Input, responses={200: Output})
    def post(self, request: Request) -> ApiResponse:
        profile = _profile(request)
        if profile.role == "official":
            return _refused("officials do not record visits")
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        items, results = [], []
        for i, raw in enumerate(body.validated_data["visits"]):
            one = self.Visit(data=raw)
            if not one.is_valid():
                results.append({"index": i, "client_id": str(raw.get("client_id", "")), "status": "refused", "error": one.errors})
                continue
            v = one.validated_data
            items.append(services.VisitInput(v["client_id"], v["case"], v["visited_at"], v["outcome"], v["note"]))
        results += [
            {"client_id": r.client_id, "status": r.status, "error": r.error} for r in services.visits_sync(visits=items, user=request.user)
        ]
        return ApiResponse({"results": results})


# --- rates and review -----------------------------------------------------------------------


def _rates(r: OutcomeRates) -> dict[str, Any]:
    return {
        "counts": {k: getattr(r.counts, k) for k in ("I", "P", "R", "NC", "O", "U", "NE")},
        "e": _number(r.e),
        **{name: _number(r.rates[name]) for name in RATE_NAMES},
    }


@extend_schema_serializer(component_name="OutcomeRates")
class RatesOutput(serializers.Serializer):
    wave = serializers.CharField()
    by = serializers.ChoiceField(choices=list(selectors.RATE_GROUPS))
    e_method = serializers.CharField()
    overall = serializers.DictField(help_text="counts {I, P, R, NC, O, U, NE}, e and RR1–RR6, COOP1–4, REF1–3, CON1–3")
    groups = serializers.ListField(child=serializers.DictField())


class RatesApi(APIView):
    """AAPOR outcome rates of a wave by wave, town, PSU or enumerator, over the cases the user may see."""

    @extend_schema(responses={200: RatesOutput})
    def get(self, request: Request) -> ApiResponse:
        profile = _profile(request)
        if profile.role == "official":
            return _refused("officials see reports, not fieldwork")
        code = request.query_params.get("wave")
        if not code:
            return ApiResponse({"wave": ["required"]}, status=status.HTTP_400_BAD_REQUEST)
        wave = _wave(request, code)
        by = request.query_params.get("by", "town")
        if by not in selectors.RATE_GROUPS:
            return ApiResponse({"by": [f"one of {', '.join(selectors.RATE_GROUPS)}"]}, status=status.HTTP_400_BAD_REQUEST)
        cases = access.visible_cases(request.user).filter(wave=wave, draw__is_current=True)
        overall, rows = selectors.rates_by(cases, by, e=selectors.wave_e(wave))
        return ApiResponse({
            "wave": wave.code,
            "by": by,
            "e_method": "eligible share among the wave's cases of known eligibility (one e for every group)",
            "overall": _rates(overall),
            "groups": [{"key": r.key, "label": r.label, **_rates(r.rates)} for r in rows],
        })


class ReviewApi(APIView):
    """Approve or reject a response with a reason (admins; supervisors for their towns)."""

    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="ReviewInput")
    class Input(serializers.Serializer):
        decision = serializers.ChoiceField(choices=[Response.Review.APPROVED, Response.Review.REJECTED])
        reason = serializers.CharField(max_length=255)

    @extend_schema_serializer(component_name="ReviewResult")
    class Output(serializers.Serializer):
        decided = serializers.ListField(child=serializers.IntegerField(), help_text="the response and any rejected with it")
        review = serializers.CharField()
        weights_stale = serializers.ListField(child=serializers.CharField(), help_text="weight sets to recompute")

    @extend_schema(request=Input, responses={200: Output})
    def post(self, request: Request, response_id: int) -> ApiResponse:
        response = get_object_or_404(access.visible_responses(request.user), pk=response_id)
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            outcome = services.response_review(response=response, user=request.user, **body.validated_data)
        except PermissionDenied as exc:
            return _refused(str(exc))
        except FieldworkError as exc:
            return _problem(exc)
        stale = selectors.weights_stale(response.wave)
        return ApiResponse({
            "decided": [r.pk for r in outcome.responses],
            "review": body.validated_data["decision"],
            "weights_stale": [f"{ws.instrument.code} v{ws.version}" for ws in stale],
        })
