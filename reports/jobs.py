"""Background jobs: one small interface that runs a job inline, in a thread, or on Celery workers.

A job is a function registered by name with `@job("name")`, taking keyword arguments that are
plain JSON (ids, codes), never model instances: that is what a queue can carry.  `enqueue`
hands it to the backend named by the setting ``SUYANG_JOB_BACKEND`` (``"celery"`` when
``CELERY_BROKER_URL`` is set, else ``"thread"``; see the Celery block of the base settings):

* ``"thread"`` (the embedded SQLite setup): a daemon thread of the web process; the job
  records its own progress in the database, so a page can show it;
* ``"inline"``: at once, in the caller (tests, management commands);
* ``"celery"``: once the caller's transaction commits (so the worker sees the rows the job
  is about), ``reports.tasks.run_job.delay(name, kwargs)`` puts it on the broker; a worker
  runs `run(name, kwargs)`, having imported the modules that register the jobs
  (``CELERY_IMPORTS``) as the web process does in ``ReportsConfig.ready``.

A job that dies with its process leaves its rows as they were; callers judge staleness from
the rows' update times (see ``reports.services.batch_is_stale``).
"""
from __future__ import annotations

import json
import logging
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connections, transaction

logger = logging.getLogger(__name__)
JobFunction = Callable[..., None]
_registry: dict[str, JobFunction] = {}


class JobError(ValueError):
    """An unknown job, or arguments a queue could not carry."""


def job(name: str) -> Callable[[JobFunction], JobFunction]:
    """Register the decorated function as the job NAME."""

    def register(function: JobFunction) -> JobFunction:
        _registry[name] = function
        return function

    return register


def run(name: str, kwargs: dict[str, Any]) -> None:
    """Run the job NAME with KWARGS here and now (what every backend finally calls)."""
    try:
        function = _registry[name]
    except KeyError:
        raise JobError(f"no job {name!r} (registered: {', '.join(sorted(_registry)) or 'none'})") from None
    function(**kwargs)


_local_locks: dict[tuple[str, int], threading.Lock] = {}
_local_locks_guard = threading.Lock()


@contextmanager
def one_at_a_time(name: str, key: int) -> Iterator[None]:
    """Run the block while no other job holds NAME for KEY (e.g. one wave's figures): a second
    job of the same wave waits, then finds the first one's work done.

    On PostgreSQL a session advisory lock, so it holds across worker processes and nodes (a
    dropped connection frees it); on SQLite, whose setup runs jobs in threads of one process, a
    lock of this process.
    """
    connection = connections["default"]
    if connection.vendor == "postgresql":
        ids = [zlib.crc32(name.encode()) - 2**31, key]  # the two-int4 form of the lock
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", ids)
        try:
            yield
        finally:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", ids)
            except Exception:  # the connection is gone, and the lock with it
                logger.warning("could not release the job lock %s %s", name, key, exc_info=True)
        return
    with _local_locks_guard:
        lock = _local_locks.setdefault((name, key), threading.Lock())
    with lock:
        yield


def _inline(name: str, kwargs: dict[str, Any]) -> None:
    run(name, kwargs)


def _in_thread(name: str, kwargs: dict[str, Any]) -> None:
    try:
        run(name, kwargs)
    except Exception:
        logger.exception("background job %s %s failed", name, kwargs)
    finally:
        connections.close_all()  # the thread's own connections; the request's are untouched


def _thread(name: str, kwargs: dict[str, Any]) -> None:
    threading.Thread(target=_in_thread, args=(name, kwargs), name=f"job:{name}", daemon=True).start()


def _celery(name: str, kwargs: dict[str, Any]) -> None:
    from reports.tasks import run_job  # here: reports.tasks imports this module

    transaction.on_commit(lambda: run_job.delay(name, kwargs))


BACKENDS: dict[str, Callable[[str, dict[str, Any]], None]] = {"inline": _inline, "thread": _thread, "celery": _celery}


def backend_name() -> str:
    """Return the configured backend (read at every call, so tests can switch it)."""
    return str(getattr(settings, "SUYANG_JOB_BACKEND", "thread"))


def enqueue(name: str, **kwargs: Any) -> None:
    """Run the job NAME with KWARGS in the background (or inline, as configured)."""
    if name not in _registry:
        raise JobError(f"no job {name!r} (registered: {', '.join(sorted(_registry)) or 'none'})")
    try:
        json.dumps(kwargs)
    except TypeError as exc:
        raise JobError(f"job {name!r}: arguments must be plain JSON ({exc})") from exc
    backend = backend_name()
    if backend not in BACKENDS:
        raise JobError(f"unknown job backend {backend!r} (known: {', '.join(BACKENDS)})")
    BACKENDS[backend](name, kwargs)
