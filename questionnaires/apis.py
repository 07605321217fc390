"""Questionnaires API (mounted at /api/v1/).

Respondents: the invitation token is the credential (no account, no session).  Instruments,
versions, scoring keys and item analysis: admins only (`assessment.access.is_admin`); views
validate, call one service or selector and shape its answer.
"""
from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from api.lists import PAGE_PARAMETERS, MomentField, object_id, page_of, paginated, query_of
from api.throttles import InvitationThrottle, SubmissionThrottle
from assessment import access
from assessment.models import Wave
from questionnaires import selectors
from questionnaires.forms import SubmissionError
from questionnaires.invitations import InvitationInvalid, invitation_open
from questionnaires.models import (
    Instrument,
    InstrumentVersion,
    Invitation,
    PublishState,
    Response,
    ScoringKey,
)
from questionnaires.selectors import DEMOGRAPHICS, respondent_state
from questionnaires.services import (
    QuestionnaireError,
    Submission,
    instrument_import,
    instrument_publish,
    key_import,
    key_publish,
    response_submit,
    responses_rescore,
    wave_key_select,
)
from questionnaires.xlsform import XLSFormError
from scoring.adapters import DataProblem

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _invitation(request: Request, token: str, *, mark_opened: bool = True) -> Invitation | ApiResponse:
    try:
        return invitation_open(token, memo=request, mark_opened=mark_opened)
    except InvitationInvalid as exc:
        gone = exc.reason in ("revoked", "expired", "closed")
        return ApiResponse(
            {"detail": f"invitation {exc.reason}", "code": f"invitation_{exc.reason}"},
            status=status.HTTP_410_GONE if gone else status.HTTP_404_NOT_FOUND,
        )


class PlanStepOutput(serializers.Serializer):
    instrument = serializers.CharField()
    version = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=["done", "todo", "waiting", "not_eligible"])


class InvitationApi(APIView):
    """The questionnaires of an invitation and how far the respondent has got."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [InvitationThrottle]

    @extend_schema(responses={200: PlanStepOutput(many=True)})
    def get(self, request: Request, token: str) -> ApiResponse:
        found = _invitation(request, token)
        if isinstance(found, ApiResponse):
            return found
        steps = respondent_state(found.case, found.answered, found.plan_revision)[0]
        return ApiResponse(
            [
                {"instrument": s.code, "version": s.version.version, "title": s.version.title_zh, "status": s.status}
                for s in steps
            ]
        )


@extend_schema_field({"type": "object", "minProperties": 1, "additionalProperties": {}})
class AnswersField(serializers.Field):  # type: ignore[type-arg]
    """{question name: answer}: a non-empty JSON object, as parsed.  Each answer is checked
    against its question by the questionnaire's rules (`forms.validate_answers`), so nothing is
    checked twice here (a DictField of JSONFields re-encoded every answer to check it is JSON)."""

    default_error_messages = serializers.DictField.default_error_messages  # DRF's wording, translated

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        if not data:
            self.fail("empty")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class SubmissionInput(serializers.Serializer):
    client_id = serializers.UUIDField()
    instrument = serializers.SlugField()
    answers = AnswersField()
    language = serializers.CharField(max_length=8, required=False, default="zh-hans")
    started_at = MomentField(required=False, allow_null=True, clock=True)
    submitted_at = MomentField(required=False, allow_null=True, clock=True)
    # "interviewer": an enumerator administered it (the field app, logged in; checked against
    # the case's scope and recorded with the enumerator); "self" (default): the respondent.
    mode = serializers.ChoiceField(choices=["self", "interviewer"], required=False, default="self")


class SubmissionOutput(serializers.Serializer):
    client_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["stored", "already_stored"])
    scored = serializers.BooleanField()


class SubmissionApi(APIView):
    """Submit one questionnaire; idempotent by `client_id` (a retry returns 200, not a second copy)."""

    # The token is the respondent's credential; a session (CSRF-checked) only identifies the
    # enumerator of an interview.  Respondents' pages send no cookies.
    authentication_classes: list[Any] = [SessionAuthentication]
    permission_classes = [AllowAny]
    throttle_classes = [InvitationThrottle, SubmissionThrottle]

    @extend_schema(request=SubmissionInput, responses={201: SubmissionOutput, 200: SubmissionOutput})
    def post(self, request: Request, token: str) -> ApiResponse:
        found = _invitation(request, token, mark_opened=False)  # recorded with the submission
        if isinstance(found, ApiResponse):
            return found
        body = SubmissionInput(data=request.data)
        if not body.is_valid():
            return ApiResponse({"errors": _flatten(body.errors)}, status=status.HTTP_400_BAD_REQUEST)
        data = body.validated_data
        plan, demographics = respondent_state(found.case, found.answered, found.plan_revision)
        step = next((s for s in plan if s.code == data["instrument"]), None)
        if step is None:
            return ApiResponse({"errors": {"instrument": "not a questionnaire of this invitation"}}, status=400)
        if step.status == "not_eligible":
            return ApiResponse({"errors": {"instrument": "the respondent is not eligible for this questionnaire"}}, status=400)
        if step.status == "waiting":
            return ApiResponse({"errors": {"instrument": f"answer {DEMOGRAPHICS} first"}}, status=409)
        context = demographics if step.code != DEMOGRAPHICS else {}
        interviewer = None
        if data["mode"] == "interviewer":
            if not access.can_work_case(request.user, found.case):
                return ApiResponse(
                    {"errors": {"mode": "an interview is recorded by the case's enumerator, logged in"}},
                    status=status.HTTP_403_FORBIDDEN,
                )
            interviewer = request.user
        try:
            stored = response_submit(
                wave=found.wave,
                version=step.version,
                submission=Submission(
                    client_id=data["client_id"],
                    answers=data["answers"],
                    language=data["language"],
                    started_at=data.get("started_at"),
                    submitted_at=data.get("submitted_at"),
                ),
                case=found.case,
                invitation=found,
                mode=Response.Mode.INTERVIEWER if interviewer is not None else Response.Mode.SELF,
                enumerator=interviewer,
                context=context,
                plan=plan,
                key=step.key,
            )
        except SubmissionError as exc:
            conflict = set(exc.errors) & {"case", "client_id"}
            return ApiResponse({"errors": exc.errors}, status=409 if conflict else 400)
        return ApiResponse(
            {
                "client_id": str(stored.response.client_id),
                "status": "stored" if stored.created else "already_stored",
                "scored": stored.scored,
            },
            status=status.HTTP_201_CREATED if stored.created else status.HTTP_200_OK,
        )


def _flatten(errors: Any, prefix: str = "") -> dict[str, str]:
    """Return DRF's nested error lists as {"field.sub": "message"}."""
    flat: dict[str, str] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
    elif isinstance(errors, list):
        if errors and all(not isinstance(e, (dict, list)) for e in errors):
            flat[prefix.rstrip(".")] = " ".join(str(e) for e in errors)
        else:
            for i, value in enumerate(errors):
                flat.update(_flatten(value, f"{prefix}{i}."))
    else:
        flat[prefix.rstrip(".")] = str(errors)
    return flat


# --- instruments, versions and keys (admins) ------------------------------------------------


class IsSuyangAdmin(BasePermission):
    """Only the survey office's admins (assessment.access.is_admin) author, publish and analyse instruments."""

    message = "only admins may use this endpoint"

    def has_permission(self, request: Request, view: Any) -> bool:
        return access.is_admin(request.user)


class AdminApi(APIView):
    permission_classes = [IsSuyangAdmin]


def _problems(exc: XLSFormError | QuestionnaireError) -> ApiResponse:
    if isinstance(exc, XLSFormError):
        problems = [{"sheet": p.sheet, "row": p.row, "column": p.column, "message": p.message} for p in exc.problems]
    else:
        problems = [{"message": p} for p in exc.problems]
    return ApiResponse({"problems": problems}, status=status.HTTP_400_BAD_REQUEST)


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _version_number(text: str | None, name: str = "version") -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 9:  # "²".isdigit() is true
        raise ValidationError({name: "must be a whole number"})
    return int(text)


class InstrumentListApi(AdminApi):
    """List the instruments (filter: ?kind=test|module)."""

    class Output(serializers.ModelSerializer):
        versions = serializers.SerializerMethodField()

        class Meta:
            model = Instrument
            fields = ["code", "name_zh", "name_en", "kind", "age_min", "age_max", "versions"]

        def get_versions(self, instrument: Instrument) -> list[dict[str, Any]]:
            return [{"id": v.pk, "version": v.version, "status": v.status} for v in instrument.versions.all()]

    class Query(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Instrument.Kind.choices, required=False)

    @extend_schema(parameters=[Query, *PAGE_PARAMETERS], responses={200: paginated("PaginatedInstrumentList", Output(many=True))})
    def get(self, request: Request) -> ApiResponse:
        kind = query_of(request, self.Query).get("kind")
        instruments = selectors.instruments_list(kind=kind).prefetch_related(
            Prefetch("versions", queryset=InstrumentVersion.objects.order_by("version"))
        )
        return page_of(request, self, instruments, self.Output)


class InstrumentDetailApi(AdminApi):
    """One instrument and its versions."""

    @extend_schema(responses={200: InstrumentListApi.Output})
    def get(self, request: Request, code: str) -> ApiResponse:
        versions = Prefetch("versions", queryset=InstrumentVersion.objects.order_by("version"))
        instrument = get_object_or_404(Instrument.objects.prefetch_related(versions), code=code)
        return ApiResponse(InstrumentListApi.Output(instrument).data)


class VersionOutput(serializers.ModelSerializer):
    instrument = serializers.CharField(source="instrument.code")
    published_by = serializers.CharField(source="published_by.username", default=None, allow_null=True)

    class Meta:
        model = InstrumentVersion
        fields = [
            "id", "instrument", "version", "status", "title_zh", "title_en", "source_name", "source_hash",
            "created_at", "published_at", "published_by",
        ]


class VersionListApi(AdminApi):
    """List instrument versions (filters: ?instrument=CODE&status=draft|published|retired); upload an XLSForm."""

    parser_classes = [MultiPartParser, FormParser]

    class Input(serializers.Serializer):
        file = serializers.FileField()

    class Query(serializers.Serializer):
        instrument = serializers.SlugField(required=False)
        status = serializers.ChoiceField(choices=PublishState.choices, required=False)

    @extend_schema(parameters=[Query, *PAGE_PARAMETERS], responses={200: paginated("PaginatedVersionList", VersionOutput(many=True))})
    def get(self, request: Request) -> ApiResponse:
        params = query_of(request, self.Query)
        versions = selectors.versions_list(instrument=params.get("instrument"), status=params.get("status"))
        return page_of(request, self, versions.select_related("published_by"), VersionOutput)

    @extend_schema(request=Input, responses={201: VersionOutput, 200: VersionOutput})
    def post(self, request: Request) -> ApiResponse:
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        existing = set(InstrumentVersion.objects.values_list("pk", flat=True))
        try:
            version = instrument_import(data=upload.read(), filename=upload.name)
        except XLSFormError as exc:
            return _problems(exc)
        created = version.pk not in existing
        return ApiResponse(VersionOutput(version).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class VersionDetailApi(AdminApi):
    """One version: sections, questions with their options, dimensions and keys."""

    class Output(VersionOutput):
        settings = serializers.JSONField(source="form_settings")
        sections = serializers.SerializerMethodField()
        items = serializers.SerializerMethodField()
        dimensions = serializers.SerializerMethodField()
        keys = serializers.SerializerMethodField()

        class Meta(VersionOutput.Meta):
            fields = [*VersionOutput.Meta.fields, "settings", "sections", "items", "dimensions", "keys"]

        def get_sections(self, version: InstrumentVersion) -> list[dict[str, Any]]:
            return [
                {"name": s.name, "label_zh": s.label_zh, "label_en": s.label_en, "relevant": s.relevant}
                for s in version.sections.all()
            ]

        def get_items(self, version: InstrumentVersion) -> list[dict[str, Any]]:
            options = {cl.pk: [{"name": c.name, "label_zh": c.label_zh, "label_en": c.label_en} for c in cl.choices.all()]
                       for cl in version.choice_lists.all()}
            return [
                {
                    "name": i.name, "type": i.type, "section": i.section.name if i.section else None,
                    "label_zh": i.label_zh, "label_en": i.label_en, "required": i.required, "relevant": i.relevant,
                    "constraint": i.constraint, "options": options.get(i.choice_list_id, []) if i.choice_list_id else [],
                }
                for i in version.items.all()
            ]

        def get_dimensions(self, version: InstrumentVersion) -> list[dict[str, Any]]:
            return [{"code": d.code, "family": d.family, "label_zh": d.label_zh, "label_en": d.label_en}
                    for d in version.dimensions.all()]

        def get_keys(self, version: InstrumentVersion) -> list[dict[str, Any]]:
            return [{"id": k.pk, "version": k.version, "status": k.status} for k in version.scoring_keys.all()]

    @extend_schema(responses={200: Output})
    def get(self, request: Request, version_id: int) -> ApiResponse:
        try:
            version = selectors.version_detail(version_id)
        except InstrumentVersion.DoesNotExist:
            raise NotFound("no such instrument version") from None
        return ApiResponse(self.Output(version).data)


class VersionXLSFormApi(AdminApi):
    """The version as an .xlsx XLSForm (?key=N: scored by key N, default the latest published)."""

    @extend_schema(responses={(200, XLSX): bytes})
    def get(self, request: Request, version_id: int) -> HttpResponse:
        version = get_object_or_404(InstrumentVersion.objects.select_related("instrument"), pk=version_id)
        number = _version_number(request.query_params.get("key"), "key")
        key = get_object_or_404(version.scoring_keys, version=number) if number is not None else None
        return _xlsx(selectors.instrument_export(version, key), selectors.export_filename(version, key))


class VersionPublishApi(AdminApi):
    """Publish a draft version with its draft keys, after the checks (400 lists every problem)."""

    @extend_schema(request=None, responses={200: VersionOutput})
    def post(self, request: Request, version_id: int) -> ApiResponse:
        version = get_object_or_404(InstrumentVersion.objects.select_related("instrument"), pk=version_id)
        try:
            version = instrument_publish(version=version, user=request.user)
        except QuestionnaireError as exc:
            return _problems(exc)
        return ApiResponse(VersionOutput(version).data)


class KeyOutput(serializers.ModelSerializer):
    instrument = serializers.CharField(source="instrument_version.instrument.code")
    instrument_version = serializers.IntegerField(source="instrument_version.version")
    instrument_version_id = serializers.IntegerField()
    based_on = serializers.IntegerField(source="based_on.version", default=None, allow_null=True)

    class Meta:
        model = ScoringKey
        fields = [
            "id", "instrument", "instrument_version", "instrument_version_id", "version", "status", "note",
            "based_on", "excluded", "source_name", "source_hash", "created_at", "published_at",
        ]


class KeyListApi(AdminApi):
    """List scoring keys (filters: ?instrument=CODE&version=N&status=…); upload a key file for a version."""

    parser_classes = [MultiPartParser, FormParser]

    class Input(serializers.Serializer):
        instrument_version = object_id(help_text="id of the published instrument version")
        file = serializers.FileField()
        based_on = serializers.IntegerField(required=False, min_value=1, max_value=999_999_999, help_text="number of the key it revises")

    class Query(serializers.Serializer):
        instrument = serializers.SlugField(required=False)
        version = serializers.IntegerField(required=False, min_value=1, max_value=999_999_999, help_text="instrument version number")
        status = serializers.ChoiceField(choices=PublishState.choices, required=False)

    @extend_schema(parameters=[Query, *PAGE_PARAMETERS], responses={200: paginated("PaginatedKeyList", KeyOutput(many=True))})
    def get(self, request: Request) -> ApiResponse:
        params = query_of(request, self.Query)
        keys = selectors.keys_list(instrument=params.get("instrument"), version=params.get("version"), status=params.get("status"))
        return page_of(request, self, keys, KeyOutput)

    @extend_schema(request=Input, responses={201: KeyOutput, 200: KeyOutput})
    def post(self, request: Request) -> ApiResponse:
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        version = get_object_or_404(InstrumentVersion.objects.select_related("instrument"), pk=data["instrument_version"])
        based_on = get_object_or_404(version.scoring_keys, version=data["based_on"]) if "based_on" in data else None
        upload = data["file"]
        try:
            key, created = key_import(version=version, data=upload.read(), filename=upload.name, based_on=based_on)
        except (XLSFormError, QuestionnaireError) as exc:
            return _problems(exc)
        return ApiResponse(KeyOutput(key).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class KeyDetailApi(AdminApi):
    """One key: item points and correct options, benchmark and group rules."""

    class Output(KeyOutput):
        items = serializers.SerializerMethodField()
        benchmarks = serializers.SerializerMethodField()
        groups = serializers.SerializerMethodField()

        class Meta(KeyOutput.Meta):
            fields = [*KeyOutput.Meta.fields, "items", "benchmarks", "groups"]

        def get_items(self, key: ScoringKey) -> list[dict[str, Any]]:
            return [
                {"name": ik.item.name, "points": float(ik.points), "correct": ik.correct,
                 "dimensions": sorted(d.code for d in ik.dimensions.all())}
                for ik in key.item_keys.all()
            ]

        def get_benchmarks(self, key: ScoringKey) -> list[dict[str, Any]]:
            return [
                {"name": b.name, "label_zh": b.label_zh, "label_en": b.label_en, "scope": b.scope, "basis": b.basis,
                 "threshold": b.threshold, "levels": b.levels}
                for b in key.benchmarks.all()
            ]

        def get_groups(self, key: ScoringKey) -> list[dict[str, Any]]:
            return [{"name": g.name, "label_zh": g.label_zh, "label_en": g.label_en, "rule": g.rule} for g in key.groups.all()]

    @extend_schema(responses={200: Output})
    def get(self, request: Request, key_id: int) -> ApiResponse:
        try:
            key = selectors.key_detail(key_id)
        except ScoringKey.DoesNotExist:
            raise NotFound("no such scoring key") from None
        return ApiResponse(self.Output(key).data)


class KeyFileApi(AdminApi):
    """The key as an .xlsx key file (edit it and upload it to make the next key version)."""

    @extend_schema(responses={(200, XLSX): bytes})
    def get(self, request: Request, key_id: int) -> HttpResponse:
        key = get_object_or_404(ScoringKey.objects.select_related("instrument_version__instrument"), pk=key_id)
        return _xlsx(selectors.key_export(key), f"{key.label}.xlsx")


class KeyPublishApi(AdminApi):
    """Publish a draft key of a published version, after the checks (400 lists every problem)."""

    @extend_schema(request=None, responses={200: KeyOutput})
    def post(self, request: Request, key_id: int) -> ApiResponse:
        key = get_object_or_404(ScoringKey.objects.select_related("instrument_version__instrument"), pk=key_id)
        try:
            key = key_publish(key=key, user=request.user)
        except QuestionnaireError as exc:
            return _problems(exc)
        return ApiResponse(KeyOutput(key).data)


def _admin_wave(request: Request, code: str) -> Wave:
    profile = access.profile_of(request.user)
    return get_object_or_404(Wave, county_id=profile.county_id if profile else None, code=code)


class KeyRescoreApi(AdminApi):
    """Score the stored responses of the admin's county (of one wave, if given) under a published key; old scores stay."""

    class Input(serializers.Serializer):
        wave = serializers.SlugField(required=False)

    class Output(serializers.Serializer):
        key = serializers.CharField()
        scored = serializers.IntegerField()

    @extend_schema(request=Input, responses={200: Output})
    def post(self, request: Request, key_id: int) -> ApiResponse:
        key = get_object_or_404(ScoringKey.objects.select_related("instrument_version__instrument"), pk=key_id)
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        wave = _admin_wave(request, body.validated_data["wave"]) if "wave" in body.validated_data else None
        profile = access.profile_of(request.user)
        try:  # the admin's county only: keys are shared by counties, their responses are not
            scored = responses_rescore(key=key, wave=wave, county_id=profile.county_id if profile else -1, user=request.user)
        except QuestionnaireError as exc:
            return _problems(exc)
        return ApiResponse({"key": key.label, "scored": scored})


class WaveKeyApi(AdminApi):
    """Choose the key whose scores are official for an instrument in a wave (audited)."""

    class Input(serializers.Serializer):
        key = object_id(help_text="id of a published key of the fielded version")

    class Output(serializers.Serializer):
        wave = serializers.CharField()
        instrument = serializers.CharField()
        key = serializers.CharField()

    @extend_schema(request=Input, responses={200: Output})
    def post(self, request: Request, wave_code: str, code: str) -> ApiResponse:
        wave = _admin_wave(request, wave_code)
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        key = get_object_or_404(ScoringKey.objects.select_related("instrument_version__instrument"), pk=body.validated_data["key"])
        try:
            wave_key_select(wave=wave, instrument_code=code, key=key, user=request.user)
        except QuestionnaireError as exc:
            return _problems(exc)
        return ApiResponse({"wave": wave.code, "instrument": code, "key": key.label})


class ItemAnalysisApi(AdminApi):
    """Item analysis of an instrument in a wave: ?wave=2025&instrument=CODE[&group=farmer][&weighted=false]."""

    class Query(serializers.Serializer):
        wave = serializers.SlugField()
        instrument = serializers.SlugField()
        group = serializers.SlugField(required=False)
        weighted = serializers.BooleanField(required=False, default=True)

    @extend_schema(parameters=[Query], responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> ApiResponse:
        query = self.Query(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        wave = _admin_wave(request, params["wave"])
        fielded = wave.wave_instruments.values_list("instrument_version__instrument__code", flat=True)
        if params["instrument"] not in fielded:  # a request error, not data that is not ready yet
            return ApiResponse({"instrument": [f"{params['instrument']!r} is not an instrument of wave {wave.code} ({', '.join(fielded)})"]},
                               status=status.HTTP_400_BAD_REQUEST)
        try:
            analysis = selectors.wave_item_analysis(
                wave, params["instrument"], group=params.get("group"), weighted=params["weighted"]
            )
        except DataProblem as exc:
            return ApiResponse({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return ApiResponse(analysis.as_json())
