"""After a run: is every acknowledged submission in the database exactly once?"""
from __future__ import annotations

from collections import Counter
from typing import Any

import psycopg
from load import Ack


def responses_check(database_url: str, acks: list[Ack]) -> dict[str, Any]:
    """Compare the acknowledged client ids with the stored responses."""
    with psycopg.connect(database_url) as conn:
        stored = Counter(str(row[0]) for row in conn.execute("SELECT client_id FROM questionnaires_response"))
        per_case = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM questionnaires_response GROUP BY case_id, instrument_version_id"
            " HAVING count(*) > 1) AS doubled"
        ).fetchone()[0]
        unscored = conn.execute(
            "SELECT count(*) FROM questionnaires_response r JOIN questionnaires_instrumentversion v"
            " ON v.id = r.instrument_version_id JOIN questionnaires_instrument i ON i.id = v.instrument_id"
            " WHERE i.code = 'science_literacy'"
            " AND NOT EXISTS (SELECT 1 FROM questionnaires_responsescore s WHERE s.response_id = r.id)"
        ).fetchone()[0]
    acked = Counter(a.client_id for a in acks)
    return {
        "acknowledged": len(acked),
        "acknowledged_twice_by_the_client": sum(1 for n in acked.values() if n > 1),
        "stored": sum(stored.values()),
        "missing": sorted(set(acked) - set(stored)),
        "duplicated_client_ids": sorted(c for c, n in stored.items() if n > 1),
        "duplicated_case_questionnaires": per_case,
        "stored_not_acknowledged": sorted(set(stored) - set(acked)),
        "science_unscored": unscored,
        "already_stored_replies": sum(1 for a in acks if a.status == "already_stored"),
    }


def exactly_once(check: dict[str, Any]) -> bool:
    """Return whether the database holds exactly one response per acknowledged submission."""
    return (
        not check["missing"] and not check["duplicated_client_ids"] and not check["duplicated_case_questionnaires"]
        and check["stored"] == check["acknowledged"]
    )
