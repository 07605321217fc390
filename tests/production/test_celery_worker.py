"""Background jobs on Celery: a real redis-server and a real worker process run a report batch
and a weighting run against a copy of the test database.

The worker is another process, so it must see committed rows: the test copies the PostgreSQL
test database holding the session's demo county (CREATE DATABASE … TEMPLATE) and points both
this process and the worker at the copy, so the demo stays untouched for the other tests.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection, connections
from production_helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the worker is a separate process and cannot see the in-memory SQLite test database; "
    "this test runs in the PostgreSQL pass (scripts/with-postgres.sh)",
)


def test_without_a_broker_jobs_run_in_the_web_process_and_with_one_they_wait_for_the_commit(
    db: Any, settings: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import base
    from reports import jobs
    from reports.tasks import run_job

    assert base.SUYANG_JOB_BACKEND == ("celery" if os.environ.get("CELERY_BROKER_URL") else "thread")
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(run_job, "delay", lambda *args: sent.append(args))
    settings.SUYANG_JOB_BACKEND = "celery"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        jobs.enqueue("reports.batch_run", batch_id=7)
        assert sent == []  # the worker must not look for a row this transaction has not committed
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent == [("reports.batch_run", {"batch_id": 7})]


@pytest.fixture
def database_copy(demo_county: Any, django_db_blocker: Any) -> Iterator[str]:
    """Point this process at a copy of the test database (with the demo county); yield its URL."""
    settings_dict = connection.settings_dict
    original, copy = settings_dict["NAME"], f"{settings_dict['NAME']}_celery_{uuid.uuid4().hex[:8]}"
    admin = {"host": settings_dict["HOST"], "port": settings_dict["PORT"] or 5432, "user": settings_dict["USER"],
             "password": settings_dict["PASSWORD"] or None, "dbname": "postgres", "autocommit": True}
    with django_db_blocker.unblock():
        assert not connection.in_atomic_block, "this test needs the database outside any transaction"
        connections.close_all()
        with psycopg.connect(**admin) as conn:

            def copied() -> bool:
                try:
                    conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{original}"')
                except psycopg.errors.ObjectInUse:  # a connection of an earlier test still closing
                    return False
                return True

            wait_for(copied, "the test database to be free to copy", 30)
        settings_dict["NAME"] = copy
        try:
            password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
            yield f"postgres://{settings_dict['USER']}{password}@{admin['host']}:{admin['port']}/{copy}"
        finally:
            connections.close_all()
            settings_dict["NAME"] = original
            with psycopg.connect(**admin) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


@pytest.fixture
def worker(redis_url: str, database_copy: str, tmp_path: Path, settings: Any) -> Iterator[Path]:
    """A Celery worker process on the copy; this process sends its jobs to it through Redis."""
    from config.celery import app

    log = tmp_path / "worker.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_copy,
           "CELERY_BROKER_URL": redis_url}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--hostname", f"test-{uuid.uuid4().hex[:6]}@%h"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    previous = app.conf.broker_url
    settings.SUYANG_JOB_BACKEND = "celery"
    app.conf.broker_url = redis_url
    try:
        wait_for(lambda: process.poll() is not None or " ready." in log.read_text(), "the worker to start")
        assert process.poll() is None, log.read_text()
        yield log
    finally:
        app.pool.force_close_all()
        app.conf.broker_url = previous
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@needs_postgres
@pytest.mark.slow
def test_a_celery_worker_builds_the_report_batch_and_runs_the_weighting(worker: Path, django_db_blocker: Any) -> None:
    from assessment.models import AuditEvent, Wave, WeightSet
    from assessment.weighting import weight_set_compute_start
    from reports import services
    from reports.models import JobStatus, Report, ReportBatch

    with django_db_blocker.unblock():
        wave = Wave.objects.select_related("county").get(code="2025", kind=Wave.Kind.HOUSEHOLD)
        batch = services.report_batch_start(wave=wave)
        # Sent to the worker, not built here (the call returns at once; the worker may already
        # have started it by the time the row is read back).
        assert batch.status in (JobStatus.QUEUED, JobStatus.RUNNING)

        def finished() -> ReportBatch | None:
            row = ReportBatch.objects.get(pk=batch.pk)
            return row if row.status in (JobStatus.DONE, JobStatus.FAILED) else None

        done = wait_for(finished, "the worker to build the batch", 240)
        assert done.status == JobStatus.DONE, done.error + worker.read_text()
        assert done.done == done.total and done.total > 1
        with zipfile.ZipFile(done.archive.open("rb")) as bundle:
            names = bundle.namelist()
            assert bundle.read("PDF/平阴县全县报告.pdf").startswith(b"%PDF")
        assert len(names) == 3 * done.total + 1 and "说明.txt" in names
        assert "Task suyang.run_job[" in worker.read_text()

        # A weighting run whose inputs changed (here: the stored hash no longer matches) makes a
        # new version on the worker; the old one stays, no longer current.
        current = WeightSet.objects.get(wave=wave, instrument__code="science_literacy", is_current=True)
        WeightSet.objects.filter(pk=current.pk).update(inputs_hash="stale")
        weight_set_compute_start(wave=wave, instrument_code="science_literacy")

        def recomputed() -> WeightSet | None:
            return WeightSet.objects.filter(wave=wave, instrument__code="science_literacy", is_current=True).exclude(pk=current.pk).first()

        fresh = wait_for(recomputed, "the worker to compute the weights", 120)
        assert fresh.version == current.version + 1 and fresh.weights.count() == current.weights.count()
        assert AuditEvent.objects.filter(action="weights.compute", object_id=str(fresh.pk)).exists()
        for report in Report.objects.filter(batch=done):
            report.file.delete(save=False)
        done.archive.delete(save=False)
