"""Report figures computed ahead of the first report (`reports.estimates_store`).

A weighting run, a rescoring or a change of a wave's official key queues the job once its
transaction commits; the job stores every figure the reports of the wave's year show, so the
first report after it (and later years' trends) loads no earlier wave's respondents.  The
stored figures are keyed by what they are computed from, scores included.
"""
from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from assessment.models import Wave, WeightSet
from assessment.weighting import weight_set_compute
from questionnaires.models import ResponseScore
from questionnaires.services import responses_rescore
from reports import jobs
from reports.builders import build_report, data_fingerprint
from reports.estimates import Estimates, Measure, snapshot_inputs
from reports.models import EstimateSnapshot, JobStatus, Report
from reports.services import batch_entries, estimates_store, report_batch_run, report_batch_start
from scoring.adapters import wave_key
from tests.reports.report_text import figures

pytestmark = pytest.mark.django_db


def household_waves(wave: Wave) -> list[Wave]:
    return list(Wave.objects.filter(county=wave.county, kind=Wave.Kind.HOUSEHOLD).order_by("year"))


def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(jobs, "enqueue", lambda name, **kwargs: sent.append((name, kwargs)))
    return sent


def test_after_every_years_job_no_report_of_2025_loads_an_earlier_wave(wave_2025: Wave) -> None:
    EstimateSnapshot.objects.all().delete()
    out = io.StringIO()
    call_command("estimates_store", stdout=out)  # every year's job, as after an upgrade
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [f"{w.county.code} {w.code}" for w in household_waves(wave_2025)]
    assert all(int(line.split(": ")[1].split()[0]) > 0 for line in lines[:-1])
    assert lines[-1] == "Report figures stored for 4 wave(s)."
    # Every figure of the year is stored: running the job again stores nothing new.
    assert estimates_store(wave=wave_2025) == 0
    stored, fresh = Estimates(), Estimates(snapshots=False)
    for entry in batch_entries(wave_2025):
        from_store = build_report(wave_2025, entry.kind, entry.code, estimates=stored)
        assert figures(from_store) == figures(build_report(wave_2025, entry.kind, entry.code, estimates=fresh)), entry
    loaded = {wave_pk for wave_pk, _ in stored._designs}
    assert loaded <= set(Wave.objects.filter(county=wave_2025.county, year=2025).values_list("pk", flat=True))
    assert {wave_pk for wave_pk, _ in fresh._designs} > loaded  # the earlier years, loaded without the store


def test_an_enterprise_waves_job_stores_the_household_report_of_its_year(wave_2025: Wave) -> None:
    EstimateSnapshot.objects.all().delete()
    enterprise = Wave.objects.get(county=wave_2025.county, year=2025, kind=Wave.Kind.ENTERPRISE)
    assert estimates_store(wave=enterprise) > 0
    instruments = set(EstimateSnapshot.objects.values_list("wave__code", "instrument"))
    assert (enterprise.code, "occupational_health") in instruments
    assert ("2025", "science_literacy") in instruments and ("2025", "health_literacy") in instruments


def test_new_weights_queue_the_job_once_committed(
    wave_2025: Wave, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = queued(monkeypatch)
    WeightSet.objects.filter(wave=wave_2025, instrument__code="science_literacy", is_current=True).update(inputs_hash="stale")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert weight_set_compute(wave=wave_2025, instrument_code="science_literacy").created
        assert sent == []  # a worker must not read weights this transaction has not committed
    for callback in callbacks:
        callback()
    assert sent == [("reports.estimates_store", {"wave_id": wave_2025.pk})]
    # Unchanged inputs make no new weights, and queue nothing.
    with django_capture_on_commit_callbacks(execute=True):
        assert not weight_set_compute(wave=wave_2025, instrument_code="science_literacy").created
    assert len(sent) == 1


def test_the_queued_job_stores_the_figures_of_the_new_weights(wave_2025: Wave, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.SUYANG_JOB_BACKEND = "inline"
    WeightSet.objects.filter(wave=wave_2025, instrument__code="health_literacy", is_current=True).update(inputs_hash="stale")
    with django_capture_on_commit_callbacks(execute=True):
        weight_set_compute(wave=wave_2025, instrument_code="health_literacy")
    inputs = snapshot_inputs(wave_2025, "health_literacy")
    assert EstimateSnapshot.objects.get(wave=wave_2025, instrument="health_literacy", inputs=inputs).cells


def test_scores_added_later_under_the_same_key_and_weights_are_new_inputs(
    wave_2025: Wave, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = wave_key(wave_2025, "science_literacy")
    before, fingerprint = snapshot_inputs(wave_2025, "science_literacy"), data_fingerprint(wave_2025)
    # A response whose scoring failed at submission has no score under the key...
    score = ResponseScore.objects.filter(key=key, response__wave=wave_2025).order_by("pk").first()
    assert score is not None
    score.delete()
    without = snapshot_inputs(wave_2025, "science_literacy")
    assert without != before and data_fingerprint(wave_2025) != fingerprint
    # ... until it is rescored: new inputs again, and the year's figures are queued.
    sent = queued(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        assert responses_rescore(key=key, wave=wave_2025) == 1
    assert snapshot_inputs(wave_2025, "science_literacy") not in (before, without)
    assert sent == [("reports.estimates_store", {"wave_id": wave_2025.pk})]
    # Rescoring that scores nothing queues nothing.
    with django_capture_on_commit_callbacks(execute=True):
        assert responses_rescore(key=key, wave=wave_2025) == 0
    assert len(sent) == 1


def test_the_job_of_a_deleted_wave_does_nothing(db: None) -> None:
    jobs.run("reports.estimates_store", {"wave_id": 987654321})
    assert not EstimateSnapshot.objects.exists()


def test_the_command_names_a_wrong_wave_or_county(wave_2025: Wave) -> None:
    with pytest.raises(CommandError, match="没有代码为“1999”的调查轮次（现有：2022、2023、2024、2025）。"):
        call_command("estimates_store", "--wave", "1999")
    with pytest.raises(CommandError, match="没有代码为“atlantis”的县。"):
        call_command("estimates_store", "--county", "atlantis")


def test_cells_are_stored_under_the_inputs_read_before_their_data(wave_2025: Wave) -> None:
    EstimateSnapshot.objects.all().delete()
    before = snapshot_inputs(wave_2025, "science_literacy")
    est = Estimates()
    est.cells(wave_2025, Measure("science_literacy", "science_literacy"), ("town",))
    # A weighting run commits while the run is still going: its cells are the old weights'.
    WeightSet.objects.filter(wave=wave_2025, instrument__code="science_literacy", is_current=True).update(inputs_hash="newer")
    assert snapshot_inputs(wave_2025, "science_literacy") != before
    assert est.save() == 1
    assert list(EstimateSnapshot.objects.filter(wave=wave_2025, instrument="science_literacy").values_list("inputs", flat=True)) == [before]


def test_a_batch_asked_for_before_a_weighting_run_is_stored_under_the_data_it_was_built_from(
    wave_2025: Wave, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = queued(monkeypatch)
    batch = report_batch_start(wave=wave_2025)  # queued; a worker takes it later
    assert sent == [("reports.batch_run", {"batch_id": batch.pk})]
    WeightSet.objects.filter(wave=wave_2025, instrument__code="health_literacy", is_current=True).update(inputs_hash="newer")
    now = data_fingerprint(wave_2025)
    assert now != batch.data_hash
    report_batch_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.data_hash) == (JobStatus.DONE, now)
    stored = Report.objects.filter(batch=batch)
    assert stored.count() == 3 * batch.total
    assert {r.provenance["data_hash"] for r in stored} == {now}
    for report in stored:
        report.file.delete(save=False)
    batch.archive.delete(save=False)
