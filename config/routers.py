"""Database routing: report building may read from a streaming replica of the primary.

Every read and write goes to the primary (`default`), except the reads made inside
`reads_from(alias)`, which `reports.replica.report_reads` opens around report building once the
replica has replayed everything the primary had committed (docs/deploy.md, scaling out).
Inside it, `reports.Report` and `reports.ReportBatch` are still read from the primary: they are
written and read back at once.  Writes always go to the primary.  A replica is never migrated (it
replays the primary's schema).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

PRIMARY_ONLY = frozenset({"reports.report", "reports.reportbatch"})
_reads: ContextVar[str | None] = ContextVar("suyang_reads_from", default=None)


@contextmanager
def reads_from(alias: str) -> Iterator[None]:
    """Send this thread's (or task's) reads to the database ALIAS until the block ends."""
    token = _reads.set(alias)
    try:
        yield
    finally:
        _reads.reset(token)


def replica_alias() -> str | None:
    """Return `replica` when DATABASES has it (DATABASE_REPLICA_URL), else None."""
    return "replica" if "replica" in settings.DATABASES else None


class ReportingReadsRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str:
        # The primary outside the block, even for rows read from the replica inside it (Django
        # would otherwise follow the row's own database, unchecked for lag).
        alias = _reads.get()
        if alias is None or model._meta.label_lower in PRIMARY_ONLY:
            return DEFAULT_DB_ALIAS
        return alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # A row read from the replica is the primary's row: relating it to one of the primary's is fine.
        replica = replica_alias()
        return True if replica and {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, replica} else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return None if db == DEFAULT_DB_ALIAS else False
