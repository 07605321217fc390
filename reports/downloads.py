"""Record who downloaded which report or archive (the audit log of DESIGN.md §5)."""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from assessment.models import AuditEvent
from reports.models import Report, ReportBatch


def report_download_record(*, report: Report, user: AbstractBaseUser | AnonymousUser) -> None:
    AuditEvent.objects.create(
        actor=user if user.is_authenticated else None, action="report.download", object_type="Report",
        object_id=str(report.pk), summary=f"{report.wave.code} {report.filename}"[:255], county_id=report.wave.county_id,
        details={"wave": report.wave.code, "kind": report.kind, "scope": report.scope_code, "format": report.format},
    )


def batch_download_record(*, batch: ReportBatch, user: AbstractBaseUser | AnonymousUser) -> None:
    AuditEvent.objects.create(
        actor=user if user.is_authenticated else None, action="report.batch_download", object_type="ReportBatch",
        object_id=str(batch.pk), summary=f"{batch.wave.code}: {batch.total} reports (ZIP)", county_id=batch.wave.county_id,
        details={"wave": batch.wave.code, "reports": batch.total},
    )
