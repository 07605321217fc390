"""Report building on a real streaming replica (PostgreSQL pass): the reads go there only when it
has replayed everything the primary had written; behind, paused or down, the primary serves them.

The module takes a base backup of the test cluster once the session's demo county is committed
(pg_basebackup -R) and starts it as a hot standby on another port; `connections` gets a `replica`
alias for it, as `DATABASE_REPLICA_URL` gives in production (config/settings/base.py).  The tests
run outside pytest-django's test transaction (a standby sees only committed rows) and remove
what they write.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from production_helpers import free_port

from assessment.models import AuditEvent, Wave
from config.routers import ReportingReadsRouter, reads_from
from reports import replica as replica_module
from reports.builders import build_report
from reports.estimates import Estimates
from reports.models import Report, ReportBatch
from reports.replica import read_for_report, report_reads
from reports.services import report_file
from tests.reports.report_text import figures

needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="a streaming replica needs PostgreSQL; this test runs in the PostgreSQL pass (scripts/with-postgres.sh)",
)
WEIGHTS_READ = '"assessment_weight"."final"'  # a query only the report's design loading makes


def pg_tool(name: str) -> str:
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    return str(bins[-1] / name)


@pytest.fixture(scope="module")
def standby(demo_county: Any, django_db_blocker: Any) -> Iterator[int]:
    """A hot standby of the test cluster, streaming from it; yield its port."""
    primary = connection.settings_dict
    directory = Path(tempfile.mkdtemp(prefix="suyang-standby."))
    as_user: list[str] = []
    if os.getuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(directory, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = directory / "data"
    subprocess.run([*as_user, pg_tool("pg_basebackup"), "-h", primary["HOST"], "-p", str(primary["PORT"]), "-U", primary["USER"],
                    "-D", str(data), "-R", "-X", "stream", "-c", "fast"], check=True, capture_output=True)
    subprocess.run([*as_user, pg_tool("pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"), "-w",
                    "-o", f"-p {port} -k {directory} -c listen_addresses=127.0.0.1", "start"], check=True, capture_output=True)
    try:
        yield port
    finally:
        subprocess.run([*as_user, pg_tool("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


def alias_add(port: int) -> None:
    connections.settings["replica"] = {**connection.settings_dict, "PORT": str(port)}


def alias_remove() -> None:
    if "replica" in connections.settings:
        connections["replica"].close()
        del connections["replica"]
        del connections.settings["replica"]


@pytest.fixture
def unblocked(demo_county: Any, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        assert not connection.in_atomic_block, "these tests need the database outside any transaction"
        yield


@pytest.fixture(autouse=True)
def replica_not_remembered_down() -> None:
    replica_module._down_until.clear()


@pytest.fixture
def replica(standby: int, unblocked: None, settings: Any) -> Iterator[str]:
    alias_add(standby)
    settings.SUYANG_REPLICA_MAX_WAIT = 30
    try:
        yield "replica"
    finally:
        alias_remove()


@pytest.fixture
def wave_2025(demo_county: Any, unblocked: None) -> Wave:
    return Wave.objects.select_related("county").get(county_id=demo_county.county_id, code="2025", kind=Wave.Kind.HOUSEHOLD)


def primary_write() -> None:
    """Commit a change on the primary (outside the test's transaction): the WAL moves on."""
    primary = connection.settings_dict
    with psycopg.connect(host=primary["HOST"], port=primary["PORT"], user=primary["USER"], dbname=primary["NAME"], autocommit=True) as conn:
        conn.execute("CREATE TABLE suyang_replica_probe (x int)")
        conn.execute("DROP TABLE suyang_replica_probe")


@needs_postgres
@pytest.mark.slow
def test_a_report_is_built_from_the_replica_once_it_has_caught_up(replica: str, wave_2025: Wave) -> None:
    primary_write()  # the replica must first replay this
    with transaction.atomic():  # what the report writes on the primary is rolled back at the end
        with CaptureQueriesContext(connections[replica]) as on_replica, CaptureQueriesContext(connection) as on_primary:
            report = report_file(wave=wave_2025, fmt="csv")
        try:
            read_there = " ".join(q["sql"] for q in on_replica.captured_queries)
            read_here = " ".join(q["sql"] for q in on_primary.captured_queries)
            assert "pg_last_wal_replay_lsn" in read_there and WEIGHTS_READ in read_there
            assert WEIGHTS_READ not in read_here  # the estimation read nothing from the primary
            assert '"reports_report"' not in read_there  # written and read back on the primary
            assert Report.objects.get(pk=report.pk).format == "csv"
            assert AuditEvent.objects.filter(action="report.generate", object_id=str(report.pk)).exists()
        finally:
            report.file.delete(save=False)
            transaction.set_rollback(True)
    # The same figures as from the primary.
    with report_reads() as alias:
        assert alias == replica
        there = build_report(wave_2025, estimates=Estimates(snapshots=False))
    with CaptureQueriesContext(connections[replica]) as on_replica:
        here = build_report(wave_2025, estimates=Estimates(snapshots=False))  # outside the block: the primary
    assert on_replica.captured_queries == []
    assert figures(there) == figures(here)


@needs_postgres
@pytest.mark.slow
def test_a_replica_behind_the_primary_is_skipped_until_it_catches_up(
    replica: str, wave_2025: Wave, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.SUYANG_REPLICA_MAX_WAIT = 0.5
    with connections[replica].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    try:
        primary_write()
        with caplog.at_level(logging.WARNING, logger="reports.replica"):
            with report_reads() as alias:
                assert alias == DEFAULT_DB_ALIAS
                with CaptureQueriesContext(connections[replica]) as on_replica:
                    build_report(wave_2025, estimates=Estimates())
        assert on_replica.captured_queries == []
        assert "has not replayed" in caplog.text and "reports read from the primary for 30 s" in caplog.text
        # Remembered: the next report does not wait for it again.
        with CaptureQueriesContext(connections[replica]) as on_replica, report_reads() as alias:
            assert alias == DEFAULT_DB_ALIAS
        assert on_replica.captured_queries == []
    finally:
        with connections[replica].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
    replica_module._down_until.clear()  # as 30 s later
    settings.SUYANG_REPLICA_MAX_WAIT = 30
    with report_reads() as alias:
        assert alias == replica


@needs_postgres
@pytest.mark.slow
def test_an_unreachable_replica_is_skipped(wave_2025: Wave, caplog: pytest.LogCaptureFixture) -> None:
    alias_add(free_port())  # nothing listens there
    try:
        with caplog.at_level(logging.WARNING, logger="reports.replica"), report_reads() as alias:
            assert alias == DEFAULT_DB_ALIAS
            assert build_report(wave_2025).title.startswith("平阴县2025年")
        assert "unreachable" in caplog.text
    finally:
        alias_remove()


@pytest.mark.django_db  # also makes pytest-django create the test database when this module runs alone
def test_the_router_sends_only_report_reads_inside_the_block_to_the_replica() -> None:
    router = ReportingReadsRouter()
    read_there = Wave()
    read_there._state.db = "replica"
    # Outside the block the primary, even for the relations of a row read from the replica.
    assert router.db_for_read(Wave) == router.db_for_read(Wave, instance=read_there) == DEFAULT_DB_ALIAS
    with reads_from("replica"):
        assert router.db_for_read(Wave) == "replica"
        assert router.db_for_read(Report) == router.db_for_read(ReportBatch) == DEFAULT_DB_ALIAS
        assert router.db_for_write(Wave) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Wave) == DEFAULT_DB_ALIAS
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "assessment") is None
    assert router.allow_migrate("replica", "assessment") is False
    read_here = Report()
    read_here._state.db = DEFAULT_DB_ALIAS
    alias_add(free_port())  # configured, never connected to here
    try:
        assert router.allow_relation(read_there, read_here) is True
    finally:
        alias_remove()
    assert router.allow_relation(read_there, read_here) is None


@needs_postgres
@pytest.mark.slow
def test_a_replica_failing_during_a_build_is_left_and_the_build_runs_again_on_the_primary(
    replica: str, standby: int, wave_2025: Wave, caplog: pytest.LogCaptureFixture
) -> None:
    builds: list[str] = []

    def build() -> Any:
        builds.append("replica" if connections[replica].connection is not None else "?")
        if len(builds) == 1:  # the replica's session is killed under the report
            with connections[replica].cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            primary = connection.settings_dict
            with psycopg.connect(host="127.0.0.1", port=standby, user=primary["USER"], dbname=primary["NAME"], autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", [pid])
        return build_report(wave_2025, estimates=Estimates())

    with caplog.at_level(logging.WARNING, logger="reports.replica"):
        data = read_for_report(build)
    assert len(builds) == 2 and data.title.startswith("平阴县2025年")
    assert "failed during a report" in caplog.text
    with report_reads() as alias:  # left alone for a while
        assert alias == DEFAULT_DB_ALIAS
