"""Report API for officials and scripts (mounted at /api/v1/): list, generate, download, batches.

The same scope rules as the officials' page (reports.selectors, assessment.access): a town
official sees the county report and their own town's.  Errors: 400 malformed input, 403 out
of scope, 404 unknown wave, town, group or report, 409 a wave that cannot be reported yet.
"""
from __future__ import annotations

from typing import Any

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from api.lists import PAGE_PARAMETERS, page_of, paginated
from assessment import access
from assessment.models import Town, Wave
from reports import selectors
from reports.downloads import batch_download_record, report_download_record
from reports.models import JobStatus, Report, ReportBatch
from reports.services import CONTENT_TYPES, batch_is_stale, report_batch_start, report_file
from scoring.adapters import DataProblem

FORMATS = ("pdf", "xlsx", "csv")


def _error(code: str, detail: str, http: int) -> ApiResponse:
    return ApiResponse({"code": code, "detail": detail}, status=http)


def _wave(request: Request, code: str) -> Wave | ApiResponse:
    """Return the user's household wave CODE, or the error response."""
    profile = access.profile_of(request.user)
    if profile is None or not selectors.has_report_rights(request.user):
        return _error("forbidden", "this account has no access to reports", status.HTTP_403_FORBIDDEN)
    wave = Wave.objects.filter(code=code, county_id=profile.county_id, kind=Wave.Kind.HOUSEHOLD).select_related("county").first()
    if wave is None:
        known = ", ".join(selectors.household_waves(profile.county_id).values_list("code", flat=True)) or "none"
        return _error("unknown_wave", f"no wave {code!r} (known waves: {known})", status.HTTP_404_NOT_FOUND)
    return wave


class ReportEntryOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Report.Kind.choices)
    code = serializers.CharField(allow_blank=True)
    title = serializers.CharField()
    formats = serializers.ListField(child=serializers.CharField())


class WaveReportsOutput(serializers.Serializer):
    wave = serializers.CharField()
    name = serializers.CharField()
    year = serializers.IntegerField()
    status = serializers.CharField()
    reports = ReportEntryOutput(many=True)


class GenerateInput(serializers.Serializer):
    wave = serializers.SlugField()
    kind = serializers.ChoiceField(choices=Report.Kind.choices, default=Report.Kind.COUNTY)
    code = serializers.SlugField(required=False, allow_blank=True, default="")
    format = serializers.ChoiceField(choices=FORMATS, default="pdf")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["kind"] != Report.Kind.COUNTY and not data["code"]:
            raise serializers.ValidationError({"code": f"a {data['kind']} report needs the town's code or the group's name"})
        if data["kind"] == Report.Kind.COUNTY:
            data["code"] = ""
        return data


class ReportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    wave = serializers.CharField()
    kind = serializers.CharField()
    code = serializers.CharField()
    format = serializers.CharField()
    title = serializers.CharField()
    data_hash = serializers.CharField()
    generated_at = serializers.DateTimeField()
    download_url = serializers.CharField()


def _report_output(request: Request, report: Report) -> dict[str, Any]:
    return {
        "id": report.pk,
        "wave": report.wave.code,
        "kind": report.kind,
        "code": report.scope_code,
        "format": report.format,
        "title": report.provenance.get("title", ""),
        "data_hash": report.provenance.get("data_hash", ""),
        "generated_at": report.generated_at,
        "download_url": request.build_absolute_uri(reverse("api-report-download", args=[report.pk])),
    }


class ReportListApi(APIView):
    """GET: the waves and the reports the user may download.  POST: generate (or fetch) one report."""

    @extend_schema(
        parameters=[OpenApiParameter("wave", str, description="a wave's code"), *PAGE_PARAMETERS],
        responses={200: paginated("PaginatedWaveReportsList", WaveReportsOutput(many=True))},
    )
    def get(self, request: Request) -> ApiResponse:
        profile = access.profile_of(request.user)
        if profile is None or not selectors.has_report_rights(request.user):
            return _error("forbidden", "this account has no access to reports", status.HTTP_403_FORBIDDEN)
        waves = selectors.household_waves(profile.county_id).select_related("county")
        if request.query_params.get("wave"):
            waves = waves.filter(code=request.query_params["wave"])
        rows = [
            {
                "wave": w.code, "name": w.name_zh, "year": w.year, "status": w.status,
                "reports": [{"kind": e.kind, "code": e.code, "title": e.title, "formats": list(FORMATS)} for e in entries],
            }
            for w in waves
            if (entries := selectors.visible_reports(request.user, w))
        ]
        return page_of(request, self, rows, WaveReportsOutput)

    @extend_schema(request=GenerateInput, responses={200: ReportOutput})
    def post(self, request: Request) -> ApiResponse:
        given = GenerateInput(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        found = _wave(request, data["wave"])
        if isinstance(found, ApiResponse):
            return found
        town = None
        if data["kind"] == Report.Kind.TOWN:
            town = Town.objects.filter(county_id=found.county_id, code=data["code"]).first()
            if town is None:
                return _error("unknown_town", f"no town {data['code']!r} in {found.county}", status.HTTP_404_NOT_FOUND)
        if not selectors.can_view_report(request.user, found, data["kind"], town):
            return _error("forbidden", "this report is outside your scope", status.HTTP_403_FORBIDDEN)
        try:
            report = report_file(wave=found, kind=data["kind"], code=data["code"], fmt=data["format"], user=request.user)
        except DataProblem as exc:
            return _error("not_reportable", str(exc), status.HTTP_409_CONFLICT)
        except selectors.ReportRequestError as exc:
            return _error("unknown_scope", str(exc), status.HTTP_404_NOT_FOUND)
        # Generating is idempotent: the stored report of unchanged data is returned as it is.
        return ApiResponse(ReportOutput(_report_output(request, report)).data)


class ReportDownloadApi(APIView):
    """The file of a stored report (the scope is checked again)."""

    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request: Request, pk: int) -> FileResponse | ApiResponse:
        profile = access.profile_of(request.user)
        report = Report.objects.filter(pk=pk, status=JobStatus.DONE).select_related("wave", "town").first()
        if profile is None or report is None or report.wave.county_id != profile.county_id:
            return _error("unknown_report", f"no report {pk}", status.HTTP_404_NOT_FOUND)
        if not selectors.can_view_report(request.user, report.wave, report.kind, report.town):
            return _error("forbidden", "this report is outside your scope", status.HTTP_403_FORBIDDEN)
        report_download_record(report=report, user=request.user)
        return FileResponse(report.file.open("rb"), content_type=CONTENT_TYPES[report.format], as_attachment=True, filename=report.filename)


class BatchInput(serializers.Serializer):
    wave = serializers.SlugField()


class BatchOutput(serializers.Serializer):
    id = serializers.IntegerField()
    wave = serializers.CharField()
    status = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    progress = serializers.IntegerField()
    step = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True)
    status_url = serializers.CharField()
    download_url = serializers.CharField(allow_null=True)


def _batch_output(request: Request, batch: ReportBatch) -> dict[str, Any]:
    state = "interrupted" if batch_is_stale(batch) else batch.status
    return {
        "id": batch.pk, "wave": batch.wave.code, "status": state, "total": batch.total, "done": batch.done,
        "progress": batch.progress, "step": batch.step, "error": batch.error,
        "status_url": request.build_absolute_uri(reverse("api-report-batch", args=[batch.pk])),
        "download_url": request.build_absolute_uri(reverse("api-report-batch-download", args=[batch.pk]))
        if batch.status == JobStatus.DONE else None,
    }


class BatchStartApi(APIView):
    """Start building every report of a wave (county-wide scope only); 202 with the batch to poll."""

    @extend_schema(request=BatchInput, responses={202: BatchOutput})
    def post(self, request: Request) -> ApiResponse:
        given = BatchInput(data=request.data)
        given.is_valid(raise_exception=True)
        found = _wave(request, given.validated_data["wave"])
        if isinstance(found, ApiResponse):
            return found
        if not selectors.can_run_batch(request.user, found):
            return _error("forbidden", "a batch holds every town's report: it needs the whole county in scope", status.HTTP_403_FORBIDDEN)
        try:
            batch = report_batch_start(wave=found, user=request.user)
        except DataProblem as exc:
            return _error("not_reportable", str(exc), status.HTTP_409_CONFLICT)
        batch.refresh_from_db()
        return ApiResponse(BatchOutput(_batch_output(request, batch)).data, status=status.HTTP_202_ACCEPTED)


def _batch(request: Request, pk: int) -> ReportBatch | ApiResponse:
    profile = access.profile_of(request.user)
    batch = ReportBatch.objects.filter(pk=pk).select_related("wave").first()
    if profile is None or batch is None or batch.wave.county_id != profile.county_id:
        return _error("unknown_batch", f"no batch {pk}", status.HTTP_404_NOT_FOUND)
    if not selectors.can_run_batch(request.user, batch.wave):
        return _error("forbidden", "this batch is outside your scope", status.HTTP_403_FORBIDDEN)
    return batch


class BatchStatusApi(APIView):
    @extend_schema(responses={200: BatchOutput})
    def get(self, request: Request, pk: int) -> ApiResponse:
        found = _batch(request, pk)
        if isinstance(found, ApiResponse):
            return found
        return ApiResponse(BatchOutput(_batch_output(request, found)).data)


class BatchDownloadApi(APIView):
    @extend_schema(responses={(200, "application/zip"): bytes})
    def get(self, request: Request, pk: int) -> FileResponse | ApiResponse:
        found = _batch(request, pk)
        if isinstance(found, ApiResponse):
            return found
        if found.status != JobStatus.DONE or not found.archive:
            return _error("not_ready", f"batch {pk} is {found.status} ({found.done}/{found.total} reports)", status.HTTP_409_CONFLICT)
        name = f"suyang-{found.wave.code}-all-reports.zip"
        batch_download_record(batch=found, user=request.user)
        return FileResponse(found.archive.open("rb"), content_type=CONTENT_TYPES["zip"], as_attachment=True, filename=name)
