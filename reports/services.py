"""Writes for reports: render a report once per data snapshot and keep the file; build batches.

Every stored report is keyed by its wave, scope (county, town, group), format, the data
fingerprint and the builder's and renderer's versions, so asking again for unchanged data
returns the stored file, and changed data or code makes a new one.
"""
from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from assessment.models import AuditEvent, Town, Wave
from reports import jobs
from reports.builders import BUILDER_VERSION, build_report, data_fingerprint
from reports.data import AssessmentReport
from reports.estimates import Estimates
from reports.models import JobStatus, Report, ReportBatch
from reports.pdf import LAYOUT_VERSION, render_pdf
from reports.replica import read_for_report
from reports.selectors import ReportEntry, county_towns, population_groups, report_group, report_town
from reports.tables import TABLES_VERSION, render_csv, render_xlsx
from scoring.adapters import DataProblem

logger = logging.getLogger(__name__)
UserLike = AbstractBaseUser | AnonymousUser | None
RENDERERS: dict[str, tuple[Callable[[AssessmentReport], bytes], int]] = {
    "pdf": (render_pdf, LAYOUT_VERSION),
    "csv": (render_csv, TABLES_VERSION),
    "xlsx": (render_xlsx, TABLES_VERSION),
}
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}
BATCH_FORMATS = ("pdf", "xlsx", "csv")
# A batch whose row has not moved for this long is taken as dead (its process ended).
BATCH_STALE_AFTER = timedelta(minutes=10)


def _actor(user: UserLike) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None  # type: ignore[return-value]


def _scope(wave: Wave, kind: str, code: str) -> tuple[Town | None, str]:
    """Return (town, group) of a report request; raise ReportRequestError for an unknown one."""
    if kind == Report.Kind.TOWN:
        return report_town(wave, code), ""
    if kind == Report.Kind.GROUP:
        return None, report_group(wave, code)[0]
    if kind != Report.Kind.COUNTY:
        from reports.selectors import ReportRequestError

        raise ReportRequestError(_("没有“%(kind)s”类报告（可选 county、town、group）。") % {"kind": kind})
    return None, ""


def stored_report(wave: Wave, kind: str, town: Town | None, group: str, fmt: str, digest: str) -> Report | None:
    """Return the stored report of this scope and format for data DIGEST and the current code, if any."""
    found = (
        Report.objects.filter(
            wave=wave, kind=kind, town=town, group=group, format=fmt, status=JobStatus.DONE,
            provenance__data_hash=digest, provenance__layout=RENDERERS[fmt][1], provenance__builder=BUILDER_VERSION,
        )
        .order_by("-generated_at", "-pk")
        .first()
    )
    if found is not None and found.file and found.file.storage.exists(found.file.name):
        return found
    return None


def report_file(
    *,
    wave: Wave,
    kind: str = Report.Kind.COUNTY,
    code: str = "",
    fmt: str = Report.Format.PDF,
    user: UserLike = None,
    estimates: Estimates | None = None,
    batch: ReportBatch | None = None,
    data: AssessmentReport | None = None,
) -> Report:
    """Return the stored report of WAVE for a scope in a format, building and rendering it if needed.

    Raises DataProblem (a ValueError) with a plain message when the wave cannot be reported
    yet, ReportRequestError for an unknown town, group, kind or format.  ESTIMATES (and DATA,
    the report already built) let a batch share work between its reports.
    """
    if fmt not in RENDERERS:
        from reports.selectors import ReportRequestError

        raise ReportRequestError(_("没有“%(format)s”格式的报告（可选 %(formats)s）。") % {"format": fmt, "formats": "、".join(RENDERERS)})
    town, group = _scope(wave, kind, code)
    shared = estimates is not None
    est = estimates if estimates is not None else Estimates()
    # Read before anything is built (in a batch: at its start), so what is built can only be as
    # new as it or newer: a report is never stored under a fingerprint newer than its figures.
    digest = est.fingerprint(wave)
    existing = stored_report(wave, kind, town, group, fmt, digest)
    if existing is not None:
        return existing
    if data is None:
        data = read_for_report(lambda: build_report(wave, kind, code, estimates=est))
    render, version = RENDERERS[fmt]
    content = render(data)
    if not shared:
        est.save()
    actor = _actor(user)
    with transaction.atomic():
        report = Report.objects.create(
            wave=wave,
            kind=kind,
            town=town,
            group=group,
            format=fmt,
            batch=batch,
            status=JobStatus.DONE,
            provenance={
                "data_hash": digest,
                "layout": version,
                "builder": BUILDER_VERSION,
                "title": data.title,
                "instruments": list(data.provenance.instruments),
                "keys": list(data.provenance.keys),
                "weight_sets": list(data.provenance.weight_sets),
            },
            generated_at=timezone.now(),
            created_by=actor,
        )
        scope = f"-{town.code if town else group}" if (town or group) else ""
        report.file.save(f"{wave.code}-{kind}{scope}-{digest[:12]}.{fmt}", ContentFile(content), save=True)
        AuditEvent.objects.create(
            actor=actor, action="report.generate", object_type="Report", object_id=str(report.pk), county_id=wave.county_id,
            summary=f"{kind} report {wave.code}{scope} ({fmt})", details={"data_hash": digest},
        )
    return report


def county_report_file(*, wave: Wave, user: UserLike = None) -> Report:
    """Return the stored PDF county report for the wave's current data, rendering it if needed."""
    return report_file(wave=wave, user=user)


# -- batches ------------------------------------------------------------------------------------


def batch_entries(wave: Wave) -> list[ReportEntry]:
    """Return every report of a batch: the county, each town, each population group."""
    entries = [ReportEntry("county", "", f"{wave.county.name_zh}全县报告")]
    entries += [ReportEntry("town", t.code, f"{t.name_zh}报告") for t in county_towns(wave)]
    entries += [ReportEntry("group", name, f"{label}报告") for name, label in population_groups(wave).items()]
    return entries


def batch_is_stale(batch: ReportBatch) -> bool:
    """Return whether a queued or running batch has stopped moving (its process died)."""
    unfinished = batch.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    return unfinished and timezone.now() - batch.updated_at > BATCH_STALE_AFTER


def report_batch_start(*, wave: Wave, user: UserLike = None, background: bool = True) -> ReportBatch:
    """Start building every report of WAVE as one ZIP in the background; return the batch.

    A batch of the same data already done (its ZIP kept) or still running is returned
    instead of a new one.  Without BACKGROUND the batch is built before returning (scripts).
    Raises DataProblem when the wave cannot be reported yet.
    """
    digest = data_fingerprint(wave)
    for batch in ReportBatch.objects.filter(wave=wave, data_hash=digest).exclude(status=JobStatus.FAILED).order_by("-created_at", "-pk")[:5]:
        if batch.status == JobStatus.DONE and batch.archive and batch.archive.storage.exists(batch.archive.name):
            return batch
        if batch.status in (JobStatus.QUEUED, JobStatus.RUNNING) and not batch_is_stale(batch):
            return batch
    batch = ReportBatch.objects.create(
        wave=wave, status=JobStatus.QUEUED, total=len(batch_entries(wave)), data_hash=digest, created_by=_actor(user)
    )
    AuditEvent.objects.create(
        actor=_actor(user), action="report.batch", object_type="ReportBatch", object_id=str(batch.pk), county_id=wave.county_id,
        summary=f"all reports of {wave.code}", details={"data_hash": digest, "reports": batch.total},
    )
    if background:
        jobs.enqueue("reports.batch_run", batch_id=batch.pk)
    else:
        jobs.run("reports.batch_run", {"batch_id": batch.pk})
    batch.refresh_from_db()
    return batch


def _progress(batch: ReportBatch, **fields: object) -> None:
    for name, value in fields.items():
        setattr(batch, name, value)
    batch.save(update_fields=[*fields, "updated_at"])


@jobs.job("reports.batch_run")
def report_batch_run(*, batch_id: int) -> None:
    """Build every report of the batch's wave in every format and pack them into one ZIP."""
    batch = ReportBatch.objects.select_related("wave__county", "created_by").get(pk=batch_id)
    if batch.status == JobStatus.DONE:
        return
    _progress(batch, status=JobStatus.RUNNING, started_at=timezone.now(), done=0, error="")
    try:
        wave = batch.wave
        entries = batch_entries(wave)
        _progress(batch, total=len(entries))
        est = Estimates()
        digest = est.fingerprint(wave)  # before anything is built, as in report_file
        if digest != batch.data_hash:  # the data changed since the batch was asked for
            _progress(batch, data_hash=digest)
        files: list[tuple[str, Report]] = []
        for entry in entries:
            _progress(batch, step=entry.title)
            data = None
            for fmt in BATCH_FORMATS:
                town, group = _scope(wave, entry.kind, entry.code)
                existing = stored_report(wave, entry.kind, town, group, fmt, digest)
                if existing is None and data is None:
                    data = read_for_report(partial(build_report, wave, entry.kind, entry.code, estimates=est))
                report = existing or report_file(
                    wave=wave, kind=entry.kind, code=entry.code, fmt=fmt, user=batch.created_by,
                    estimates=est, batch=batch, data=data,
                )
                folder = {"county": "", "town": "乡镇（街道）/", "group": "重点人群/"}[entry.kind]
                files.append((f"{fmt.upper()}/{folder}{entry.title}.{fmt}", report))
            _progress(batch, done=batch.done + 1)
        est.save()
        _progress(batch, step="打包")
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
            lines = [f"{wave.name_zh}：全部评估报告", f"数据指纹 {batch.data_hash[:12]}，生成于 {timezone.localtime():%Y-%m-%d %H:%M}", ""]
            for name, report in files:
                with report.file.open("rb") as source:
                    bundle.writestr(name, source.read())
                lines.append(name)
            bundle.writestr("说明.txt", "\n".join(lines) + "\n")
        batch.archive.save(f"{wave.code}-all-reports-{batch.data_hash[:12]}.zip", ContentFile(archive.getvalue()), save=False)
        _progress(batch, archive=batch.archive.name, status=JobStatus.DONE, step="", finished_at=timezone.now())
    except Exception as exc:
        logger.exception("report batch %s failed", batch_id)
        _progress(batch, status=JobStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now())
        raise


# -- estimates stored ahead of the reports ---------------------------------------------------


def estimates_store(*, wave: Wave) -> int:
    """Compute and store every estimate the reports of WAVE's year show, and return how many
    estimate tables were newly stored.

    Run after each weighting run (the `reports.estimates_store` job). The year's reports, and the
    trends of later years' reports, then read these figures from `EstimateSnapshot` rows
    instead of loading the wave's respondents again. An enterprise wave's figures appear in the
    household report of its year, so that report is the one built. A report that cannot be made
    yet (say, health literacy not weighted) stores what it could compute.
    """
    if wave.kind == Wave.Kind.HOUSEHOLD:
        household = [wave]
    else:
        household = list(Wave.objects.filter(county_id=wave.county_id, year=wave.year, kind=Wave.Kind.HOUSEHOLD).order_by("code"))
    est = Estimates()

    def build_all() -> None:
        for target in household:
            for entry in batch_entries(target):
                try:
                    build_report(target, entry.kind, entry.code, estimates=est)
                except DataProblem as exc:
                    logger.info("estimates of %s %s %s not stored: %s", target.code, entry.kind, entry.code, exc)

    read_for_report(build_all)
    return est.save()


@jobs.job("reports.estimates_store")
def estimates_store_job(*, wave_id: int) -> None:
    """Run `estimates_store` in the background (queued when a weighting run makes new weights)."""
    with jobs.one_at_a_time("reports.estimates_store", wave_id):  # the second of two runs finds the figures stored
        wave = Wave.objects.filter(pk=wave_id).first()
        if wave is not None:  # deleted since
            estimates_store(wave=wave)
