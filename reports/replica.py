"""Report building on the reporting replica, once it has caught up with the primary.

A streaming replica replays the primary's WAL a little behind it.  A report built there right
after a weighting run could show the old weights, so `report_reads` first reads the primary's
WAL position and waits (up to SUYANG_REPLICA_MAX_WAIT seconds) until the replica has replayed
past it: then every row committed before the request is there (with `synchronous_commit` on, the
default).  A replica that is further behind, down or unreachable is skipped with a warning, and
then left alone for REMEMBER_DOWN_SECONDS, so reports do not each wait for it; the primary serves
the reads.  `read_for_report` also runs a build again on the primary if the replica fails during
it (a restart, a query cancelled by a recovery conflict).  Without a replica (SQLite, or no
DATABASE_REPLICA_URL) everything reads the primary.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from config.routers import reads_from, replica_alias

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.05
REMEMBER_DOWN_SECONDS = 30.0
_down_until: dict[str, float] = {}
T = TypeVar("T")


def _primary_position() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return str(cursor.fetchone()[0])


def _replayed_past(alias: str, position: str) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])
        return bool(cursor.fetchone()[0])


def _skip(alias: str, why: str) -> bool:
    logger.warning("reporting replica %r %s: reports read from the primary for %.0f s", alias, why, REMEMBER_DOWN_SECONDS)
    _down_until[alias] = time.monotonic() + REMEMBER_DOWN_SECONDS
    connections[alias].close()
    return False


def replica_ready(alias: str, max_wait: float) -> bool:
    """Return whether the replica ALIAS has replayed everything the primary has written so far,
    waiting up to MAX_WAIT seconds for it; False at once while it is remembered as down."""
    if time.monotonic() < _down_until.get(alias, 0.0):
        return False
    deadline = time.monotonic() + max_wait
    try:
        position = _primary_position()
    except DatabaseError:
        return False  # the primary's own failure shows at the report's first read
    while True:
        try:
            if _replayed_past(alias, position):
                _down_until.pop(alias, None)
                return True
        except DatabaseError as exc:
            return _skip(alias, f"unreachable ({exc})")
        if time.monotonic() >= deadline:
            return _skip(alias, f"has not replayed {position} after {max_wait:.1f} s")
        time.sleep(POLL_SECONDS)


@contextmanager
def report_reads() -> Iterator[str]:
    """Read from the reporting replica inside the block if it has caught up, else from the primary;
    yield the alias read from.  Writes go to the primary either way (config/routers.py)."""
    alias = replica_alias()
    if alias is None or not replica_ready(alias, float(settings.SUYANG_REPLICA_MAX_WAIT)):
        yield DEFAULT_DB_ALIAS
        return
    with reads_from(alias):
        yield alias


def read_for_report(build: Callable[[], T]) -> T:
    """Return BUILD() read from the reporting replica if it has caught up, else from the primary;
    if the replica fails during it, log, leave the replica alone for a while and build again on
    the primary."""
    with report_reads() as alias:
        if alias == DEFAULT_DB_ALIAS:
            return build()
        try:
            return build()
        except DatabaseError as exc:
            # Built again on the primary: a fault of the data or the code fails there too.
            _skip(alias, f"failed during a report ({exc})")
    return build()
