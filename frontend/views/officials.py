"""The officials' pages: waves and their reports, as far as each user may see them.

Bad requests get a page that says what is wrong: an unknown wave, town or group is a 404, a
report outside the user's scope a 403, a wave that cannot be reported yet (no weights, or
weights older than the responses) a 409.
"""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assessment import access
from assessment.models import StaffProfile, Town, Wave
from frontend.templatetags.names import named
from reports import selectors
from reports.downloads import batch_download_record, report_download_record
from reports.models import JobStatus, Report, ReportBatch
from reports.services import CONTENT_TYPES, batch_is_stale, report_batch_start, report_file
from scoring.adapters import DataProblem


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/forbidden.html", status=403)


def _unavailable(request: HttpRequest, title: str, message: str, *, status: int, wave: Wave | None = None, reason: str = "") -> HttpResponse:
    context = {"title": title, "message": message, "wave": wave, "reason": reason}
    return render(request, "frontend/report_unavailable.html", context, status=status)


def _not_found(request: HttpRequest, message: str) -> HttpResponse:
    return _unavailable(request, _("没有找到报告"), message, status=404)


def _profile(request: HttpRequest) -> StaffProfile | None:
    profile = access.profile_of(request.user)
    return profile if profile is not None and selectors.has_report_rights(request.user) else None


def _wave(request: HttpRequest, profile: StaffProfile, wave_code: str) -> Wave | HttpResponse:
    wave = Wave.objects.filter(code=wave_code, county_id=profile.county_id).select_related("county").first()
    if wave is None:
        return _not_found(request, _("没有代码为“%(code)s”的调查轮次。") % {"code": wave_code})
    if wave.kind != Wave.Kind.HOUSEHOLD:
        return _not_found(
            request,
            _("“%(wave)s”是专项调查，它的结果写在%(year)s年入户调查的全县报告里。") % {"wave": named(wave), "year": wave.year},
        )
    return wave


@login_required
def officials(request: HttpRequest) -> HttpResponse:
    """Waves and their reports, as far as the signed-in user may see them."""
    profile = _profile(request)
    if profile is None:
        return _forbidden(request)
    rows = []
    for wave in selectors.household_waves(profile.county_id).select_related("county"):
        entries = selectors.visible_reports(request.user, wave)
        if not entries:
            continue
        batch = None
        if selectors.can_run_batch(request.user, wave):
            batch = ReportBatch.objects.filter(wave=wave).first()
        rows.append(
            {
                "wave": wave,
                "county": [e for e in entries if e.kind == "county"],
                "towns": [e for e in entries if e.kind == "town"],
                "groups": [e for e in entries if e.kind == "group"],
                "can_batch": selectors.can_run_batch(request.user, wave),
                "batch": batch,
                "batch_running": batch is not None and batch.status in (JobStatus.QUEUED, JobStatus.RUNNING) and not batch_is_stale(batch),
                "batch_ready": batch is not None and batch.status == JobStatus.DONE and bool(batch.archive),
            }
        )
    return render(request, "frontend/officials.html", {"rows": rows, "formats": ("pdf", "xlsx", "csv")})


def _download(request: HttpRequest, wave_code: str, kind: str, code: str, fmt: str) -> HttpResponse:
    profile = _profile(request)
    if profile is None:
        return _forbidden(request)
    found = _wave(request, profile, wave_code)
    if isinstance(found, HttpResponse):
        return found
    wave = found
    if fmt not in ("pdf", "csv", "xlsx"):
        return _not_found(request, _("没有“%(format)s”格式的报告（可选 PDF、XLSX、CSV）。") % {"format": fmt})
    town = None
    if kind == Report.Kind.TOWN:
        town = Town.objects.filter(county_id=wave.county_id, code=code).first()
        if town is None:
            return _not_found(request, _("%(county)s没有代码为“%(code)s”的乡镇（街道）。") % {"county": named(wave.county), "code": code})
    if not selectors.can_view_report(request.user, wave, kind, town):
        return _forbidden(request)
    if kind == Report.Kind.GROUP:
        try:
            groups = selectors.population_groups(wave)
        except DataProblem as exc:
            return _unavailable(request, _("报告暂不可用"), _("这一轮调查还不能生成报告。"), status=409, wave=wave, reason=str(exc))
        if code not in groups:
            return _not_found(request, _("没有代码为“%(code)s”的重点人群。") % {"code": code})
    try:
        report = report_file(wave=wave, kind=kind, code=code, fmt=fmt, user=request.user)
    except DataProblem as exc:
        message = _("“%(wave)s”的数据尚未完成权重计算，或权重计算后又有新的答卷，暂时不能生成报告。请联系县科协管理员重新计算权重后再下载。") % {"wave": named(wave)}
        return _unavailable(request, _("报告暂不可用"), message, status=409, wave=wave, reason=str(exc))
    except selectors.ReportRequestError as exc:
        return _not_found(request, str(exc))
    report_download_record(report=report, user=request.user)
    response = FileResponse(report.file.open("rb"), content_type=CONTENT_TYPES[fmt], as_attachment=True, filename=report.filename)
    return response


@login_required
def county_report(request: HttpRequest, wave_code: str, fmt: str) -> HttpResponse:
    return _download(request, wave_code, Report.Kind.COUNTY, "", fmt)


@login_required
def town_report(request: HttpRequest, wave_code: str, code: str, fmt: str) -> HttpResponse:
    return _download(request, wave_code, Report.Kind.TOWN, code, fmt)


@login_required
def group_report(request: HttpRequest, wave_code: str, code: str, fmt: str) -> HttpResponse:
    return _download(request, wave_code, Report.Kind.GROUP, code, fmt)


@login_required
@require_POST
def batch_start(request: HttpRequest, wave_code: str) -> HttpResponse:
    """Start building every report of a wave as one ZIP (county-wide scope only)."""
    profile = _profile(request)
    if profile is None:
        return _forbidden(request)
    found = _wave(request, profile, wave_code)
    if isinstance(found, HttpResponse):
        return found
    if not selectors.can_run_batch(request.user, found):
        return _forbidden(request)
    try:
        batch = report_batch_start(wave=found, user=request.user)
    except DataProblem as exc:
        message = _("“%(wave)s”的数据尚未完成权重计算，暂时不能生成报告。") % {"wave": named(found)}
        return _unavailable(request, _("报告暂不可用"), message, status=409, wave=found, reason=str(exc))
    return redirect("report_batch", batch_id=batch.pk)


def _batch(request: HttpRequest, batch_id: int) -> ReportBatch | HttpResponse:
    profile = _profile(request)
    if profile is None:
        return _forbidden(request)
    batch = ReportBatch.objects.filter(pk=batch_id, wave__county_id=profile.county_id).select_related("wave").first()
    if batch is None:
        return _not_found(request, _("没有这个报告批次。"))
    if not selectors.can_run_batch(request.user, batch.wave):
        return _forbidden(request)
    return batch


@login_required
def batch_status(request: HttpRequest, batch_id: int) -> HttpResponse:
    """How far a batch has got; the page reloads itself until it is done."""
    found = _batch(request, batch_id)
    if isinstance(found, HttpResponse):
        return found
    stale = batch_is_stale(found)
    running = found.status in (JobStatus.QUEUED, JobStatus.RUNNING) and not stale
    return render(request, "frontend/officials_batch.html", {"batch": found, "running": running, "stale": stale})


@login_required
def batch_download(request: HttpRequest, batch_id: int) -> HttpResponse:
    found = _batch(request, batch_id)
    if isinstance(found, HttpResponse):
        return found
    if found.status != JobStatus.DONE or not found.archive:
        return _unavailable(
            request, _("压缩包尚未生成"), _("这个批次的报告还没有全部生成，请稍后再下载。"), status=409, wave=found.wave
        )
    name = f"suyang-{found.wave.code}-all-reports.zip"
    batch_download_record(batch=found, user=request.user)
    return FileResponse(found.archive.open("rb"), content_type=CONTENT_TYPES["zip"], as_attachment=True, filename=name)
