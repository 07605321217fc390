"""After a run: is every acknowledged submission in the database exactly once?"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
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


def verdict_lines(check: dict[str, Any], refused: list[Any]) -> list[str]:
    """Return the report's lines on the database after a run and on refused submissions."""
    return [
        f"database: {check['stored']} responses stored, {check['acknowledged']} acknowledged; missing "
        f"{len(check['missing'])}, duplicated client ids {len(check['duplicated_client_ids'])}, duplicated case "
        f"questionnaires {check['duplicated_case_questionnaires']}, stored but never acknowledged "
        f"{len(check['stored_not_acknowledged'])}, science sheets stored but unscored {check['science_unscored']}",
        f"every acknowledged response present exactly once: {'YES' if exactly_once(check) else 'NO'}",
        f"refused (4xx) submissions: {len(refused)}" + (f" — first: {refused[0]}" if refused else ""),
    ]


def report_write(lines: list[str], out: Path) -> None:
    """Print the report with the machine's load at the end, and write it to OUT."""
    lines = [*lines, "machine load (1/5/15 min) at the end: " + " ".join(f"{x:.1f}" for x in os.getloadavg())
             + f" on {os.cpu_count()} CPUs (other work on the machine competes with the stack)"]
    text = "\n".join(lines) + "\n"
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
