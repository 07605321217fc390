"""The background job interface (reports/jobs.py): inline, in a thread, its refusals, and one job of a kind per wave at a time."""
from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connections

from reports import jobs

seen: list[tuple[str, Any]] = []
finished = threading.Event()


@jobs.job("tests.record")
def record(*, value: int) -> None:
    seen.append((threading.current_thread().name, value))
    finished.set()


@pytest.fixture(autouse=True)
def clean() -> None:
    seen.clear()
    finished.clear()


def test_the_inline_backend_runs_the_job_at_once_in_the_caller(settings: Any) -> None:
    settings.SUYANG_JOB_BACKEND = "inline"
    jobs.enqueue("tests.record", value=3)
    assert seen == [(threading.current_thread().name, 3)]


def test_the_thread_backend_runs_the_job_in_its_own_thread(settings: Any) -> None:
    settings.SUYANG_JOB_BACKEND = "thread"
    jobs.enqueue("tests.record", value=4)
    assert finished.wait(10)
    assert seen == [("job:tests.record", 4)]


def test_an_unknown_job_is_refused_naming_the_registered_ones(settings: Any) -> None:
    settings.SUYANG_JOB_BACKEND = "inline"
    with pytest.raises(jobs.JobError, match="no job 'tests.nothing'.*tests.record"):
        jobs.enqueue("tests.nothing")
    assert "reports.batch_run" in jobs._registry


def test_arguments_a_queue_could_not_carry_are_refused(settings: Any) -> None:
    settings.SUYANG_JOB_BACKEND = "inline"
    with pytest.raises(jobs.JobError, match="plain JSON"):
        jobs.enqueue("tests.record", value=object())
    assert seen == []


def test_an_unknown_backend_is_refused(settings: Any) -> None:
    settings.SUYANG_JOB_BACKEND = "carrier-pigeon"
    with pytest.raises(jobs.JobError, match="unknown job backend 'carrier-pigeon'"):
        jobs.enqueue("tests.record", value=1)


def _hold(name: str, key: int, spans: list[tuple[str, float, float]], label: str, started: threading.Event) -> None:
    try:
        with jobs.one_at_a_time(name, key):
            start = time.monotonic()
            started.set()
            time.sleep(0.3)
            spans.append((label, start, time.monotonic()))
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_jobs_of_the_same_wave_run_one_at_a_time_and_other_waves_do_not_wait() -> None:
    """On PostgreSQL an advisory lock (each thread has its own connection), on SQLite a lock."""
    spans: list[tuple[str, float, float]] = []
    first_in = threading.Event()
    first = threading.Thread(target=_hold, args=("reports.estimates_store", 7, spans, "first", first_in))
    first.start()
    assert first_in.wait(10)
    same = threading.Thread(target=_hold, args=("reports.estimates_store", 7, spans, "same", threading.Event()))
    other = threading.Thread(target=_hold, args=("reports.estimates_store", 8, spans, "other", threading.Event()))
    same.start()
    other.start()
    for thread in (first, same, other):
        thread.join(10)
    by = {label: (start, end) for label, start, end in spans}
    assert set(by) == {"first", "same", "other"}
    assert by["same"][0] >= by["first"][1]  # waited for the first to finish
    assert by["other"][0] < by["first"][1]  # another wave did not wait
    with jobs.one_at_a_time("reports.estimates_store", 7):  # released: taken again at once
        pass
