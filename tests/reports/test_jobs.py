"""The background job interface (reports/jobs.py): inline, in a thread, and its refusals."""
from __future__ import annotations

import threading
from typing import Any

import pytest

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
