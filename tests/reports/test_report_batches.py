"""Batches: every report of a wave in every format, built as a background job into one ZIP."""
from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from assessment.models import Town, Wave
from reports import services
from reports.models import JobStatus, Report, ReportBatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def inline(settings: Any, tmp_path: Path) -> Path:
    settings.SUYANG_JOB_BACKEND = "inline"
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_a_batch_builds_every_report_in_every_format_into_one_zip(wave_2025: Wave, inline: Path) -> None:
    county = services.report_file(wave=wave_2025)  # already stored: the batch takes it as it is
    batch = services.report_batch_start(wave=wave_2025)
    towns = Town.objects.filter(county=wave_2025.county).count()
    assert (batch.status, batch.done, batch.total) == (JobStatus.DONE, 1 + towns + 5, 1 + towns + 5)
    assert batch.started_at <= batch.finished_at and batch.step == ""
    names = zipfile.ZipFile(batch.archive.open("rb")).namelist()
    assert len(names) == 3 * batch.total + 1 and "说明.txt" in names
    assert "PDF/平阴县全县报告.pdf" in names and "XLSX/乡镇（街道）/榆山街道报告.xlsx" in names
    assert "CSV/重点人群/农民报告.csv" in names
    with zipfile.ZipFile(batch.archive.open("rb")) as bundle:
        assert bundle.read("PDF/乡镇（街道）/孝直镇报告.pdf").startswith(b"%PDF")
        readme = bundle.read("说明.txt").decode()
    assert batch.data_hash[:12] in readme
    stored = Report.objects.filter(batch=batch)
    assert stored.count() == 3 * batch.total - 1 and county.batch is None
    assert set(stored.values_list("format", flat=True)) == {"pdf", "xlsx", "csv"}
    assert Report.objects.filter(wave=wave_2025, kind="county", format="pdf").get() == county
    # Asked again for the same data, the batch is the one already built.
    assert services.report_batch_start(wave=wave_2025).pk == batch.pk
    assert ReportBatch.objects.count() == 1


def test_a_failing_batch_says_why(wave_2025: Wave, inline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the font file is missing")

    monkeypatch.setattr(services, "build_report", broken)
    with pytest.raises(RuntimeError):
        services.report_batch_start(wave=wave_2025)
    batch = ReportBatch.objects.get()
    assert batch.status == JobStatus.FAILED and "the font file is missing" in batch.error
    assert batch.finished_at is not None
    # A failed batch is not reused: the next request starts afresh.
    monkeypatch.undo()
    monkeypatch.setattr(services.jobs, "enqueue", lambda *a, **k: None)
    again = services.report_batch_start(wave=wave_2025)
    assert again.pk != batch.pk and again.status == JobStatus.QUEUED


def test_a_running_batch_is_returned_until_it_goes_stale(wave_2025: Wave, inline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    monkeypatch.setattr(services.jobs, "enqueue", lambda name, **kwargs: started.append(kwargs["batch_id"]))
    first = services.report_batch_start(wave=wave_2025)
    assert first.status == JobStatus.QUEUED and started == [first.pk]
    assert services.report_batch_start(wave=wave_2025).pk == first.pk
    assert not services.batch_is_stale(first)
    ReportBatch.objects.filter(pk=first.pk).update(status=JobStatus.RUNNING, updated_at=timezone.now() - timedelta(minutes=30))
    first.refresh_from_db()
    assert services.batch_is_stale(first)
    second = services.report_batch_start(wave=wave_2025)
    assert second.pk != first.pk and started == [first.pk, second.pk]


def test_the_command_writes_the_batch_zip(wave_2025: Wave, inline: Path, tmp_path: Path, settings: Any) -> None:
    settings.SUYANG_JOB_BACKEND = "thread"  # the command builds the batch itself whatever the backend
    out = tmp_path / "all.zip"
    stdout = io.StringIO()
    call_command("report", wave="2025", batch=True, out=str(out), stdout=stdout)
    assert zipfile.is_zipfile(out)
    assert "15 reports built" in stdout.getvalue()
