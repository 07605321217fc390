"""Report building on the reporting replica, once it has caught up with the primary.

A streaming replica replays the primary's WAL a little behind it.  A report built there right
after a weighting run could show the old weights under the new data fingerprint (the fingerprint
is computed on the primary when the report is asked for), so `report_reads` first reads the
primary's current WAL position and waits (up to SUYANG_REPLICA_MAX_WAIT seconds) until the
replica has replayed past it: then every row committed before the request is there.  A replica
that is further behind, down or unreachable is skipped, with a warning, and the primary serves
the reads.  Without a replica (SQLite, or no DATABASE_REPLICA_URL) the block reads the primary.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from config.routers import reads_from, replica_alias

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.05


def _primary_position() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return str(cursor.fetchone()[0])


def _replayed_past(alias: str, position: str) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])
        return bool(cursor.fetchone()[0])


def replica_ready(alias: str, max_wait: float) -> bool:
    """Return whether the replica ALIAS has replayed everything the primary has written so far,
    waiting up to MAX_WAIT seconds for it."""
    deadline = time.monotonic() + max_wait
    try:
        position = _primary_position()
    except DatabaseError:
        return False  # the primary's own failure shows at the report's first read
    while True:
        try:
            if _replayed_past(alias, position):
                return True
        except DatabaseError as exc:
            logger.warning("reporting replica %r unreachable (%s): reports read from the primary", alias, exc)
            connections[alias].close()
            return False
        if time.monotonic() >= deadline:
            logger.warning("reporting replica %r has not replayed %s after %.1f s: reports read from the primary",
                           alias, position, max_wait)
            return False
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
