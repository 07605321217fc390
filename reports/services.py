"""Writes for reports: render a report once per data snapshot and keep the file."""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from assessment.models import AuditEvent, Wave
from reports.builders import BUILDER_VERSION, county_report, data_fingerprint
from reports.models import JobStatus, Report
from reports.pdf import LAYOUT_VERSION, render_pdf


def county_report_file(*, wave: Wave, user: AbstractBaseUser | AnonymousUser | None = None) -> Report:
    """Return the stored PDF county report for the wave's current data, rendering it if needed.

    Raises ValueError (DataProblem) with a plain message when the wave cannot be reported yet.
    """
    digest = data_fingerprint(wave)
    existing = (
        Report.objects.filter(
            wave=wave, kind=Report.Kind.COUNTY, format=Report.Format.PDF, status=JobStatus.DONE,
            provenance__data_hash=digest, provenance__layout=LAYOUT_VERSION, provenance__builder=BUILDER_VERSION,
        )
        .order_by("-generated_at")
        .first()
    )
    if existing is not None and existing.file and existing.file.storage.exists(existing.file.name):
        return existing
    data = county_report(wave)
    pdf = render_pdf(data)
    actor = user if user is not None and user.is_authenticated else None
    with transaction.atomic():
        report = Report.objects.create(
            wave=wave,
            kind=Report.Kind.COUNTY,
            format=Report.Format.PDF,
            status=JobStatus.DONE,
            provenance={
                "data_hash": digest,
                "layout": LAYOUT_VERSION,
                "builder": BUILDER_VERSION,
                "instruments": list(data.provenance.instruments),
                "keys": list(data.provenance.keys),
                "weight_sets": list(data.provenance.weight_sets),
            },
            generated_at=timezone.now(),
            created_by=actor,
        )
        report.file.save(f"{wave.code}-county-{digest[:12]}.pdf", ContentFile(pdf), save=True)
        AuditEvent.objects.create(
            actor=actor, action="report.generate", object_type="Report", object_id=str(report.pk),
            summary=f"county report {wave.code}", details={"data_hash": digest},
        )
    return report
