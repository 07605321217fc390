"""Storing a new submission: the response, its score, the case's disposition and the
invitation's first opening, all or nothing, in as few database round trips as the database allows.

On PostgreSQL the four writes are one statement (data-modifying common table expressions):
outside a transaction it is its own transaction, committed durably when it returns, so a
submission costs one round trip here instead of six (BEGIN, two INSERTs, two UPDATEs, COMMIT).
Elsewhere (SQLite) they are the same writes through the ORM in one transaction.  Either way a
unique-constraint violation (a concurrent retry, a second sheet for the household) raises
IntegrityError and writes nothing, and the instances are left as the ORM would leave them
(primary keys, `received_at`, `scored_at`).  No model signals are sent for these rows on
PostgreSQL; none are connected for them (questionnaires/signals.py watches plan rows only).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, models, transaction

from assessment.models import Case
from questionnaires.models import Invitation, Response, ResponseScore


def submission_store(
    response: Response,
    *,
    score: ResponseScore | None = None,
    case: Case | None = None,
    disposition: str | None = None,
    opened: Invitation | None = None,
    now: datetime,
) -> None:
    """Insert RESPONSE (and SCORE of it); set CASE's DISPOSITION if given; record NOW as
    OPENED's first opening if it has none.  All or nothing."""
    if connection.vendor == "postgresql":
        if connection.in_atomic_block:
            with transaction.atomic():  # a savepoint: a refused insert leaves the caller's transaction usable
                _store_in_one_statement(response, score, case, disposition, opened, now)
        else:
            _store_in_one_statement(response, score, case, disposition, opened, now)
    else:
        with transaction.atomic():
            response.save(force_insert=True)
            if score is not None:
                score.response = response
                score.save(force_insert=True)
            if case is not None and disposition is not None:
                Case.objects.filter(pk=case.pk).update(disposition=disposition, disposition_at=now)
            if opened is not None:
                Invitation.objects.filter(pk=opened.pk, first_opened_at__isnull=True).update(first_opened_at=now)
    if case is not None and disposition is not None:
        case.disposition, case.disposition_at = disposition, now
    if opened is not None and opened.first_opened_at is None:
        opened.first_opened_at = now


def _store_in_one_statement(
    response: Response,
    score: ResponseScore | None,
    case: Case | None,
    disposition: str | None,
    opened: Invitation | None,
    now: datetime,
) -> None:
    quote = connection.ops.quote_name
    columns, values, params = _insert_parts(response)
    parts = [f"r AS (INSERT INTO {quote(Response._meta.db_table)} ({columns}) VALUES ({values})"
             f" RETURNING {quote('id')}, {quote('received_at')})"]
    if score is not None:
        score_columns, score_values, score_params = _insert_parts(score, skip={"response"})
        parts.append(
            f"s AS (INSERT INTO {quote(ResponseScore._meta.db_table)} ({quote('response_id')}, {score_columns})"
            f" SELECT r.{quote('id')}, {score_values} FROM r RETURNING {quote('id')}, {quote('scored_at')})"
        )
        params += score_params
    if case is not None and disposition is not None:
        parts.append(
            f"c AS (UPDATE {quote(Case._meta.db_table)} SET {quote('disposition')} = %s, {quote('disposition_at')} = %s"
            f" WHERE {quote('id')} = %s)"
        )
        params += [disposition, now, case.pk]
    if opened is not None:
        parts.append(
            f"i AS (UPDATE {quote(Invitation._meta.db_table)} SET {quote('first_opened_at')} = %s"
            f" WHERE {quote('id')} = %s AND {quote('first_opened_at')} IS NULL)"
        )
        params += [now, opened.pk]
    tail = (f"SELECT r.{quote('id')}, r.{quote('received_at')}, s.{quote('id')}, s.{quote('scored_at')} FROM r, s"
            if score is not None else f"SELECT r.{quote('id')}, r.{quote('received_at')} FROM r")
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} {tail}", params)
        row = cursor.fetchone()
    response.pk, response.received_at = row[0], row[1]
    response._state.adding, response._state.db = False, connection.alias
    if score is not None:
        score.response = response
        score.pk, score.scored_at = row[2], row[3]
        score._state.adding, score._state.db = False, connection.alias


def _insert_parts(obj: models.Model, skip: frozenset[str] | set[str] = frozenset()) -> tuple[str, str, list[Any]]:
    """Return OBJ's INSERT column list, placeholders and parameters, prepared as the ORM's
    insert compiler prepares them (defaults, `auto_now_add`, JSON and UUID adaptation)."""
    quote = connection.ops.quote_name
    fields = [f for f in obj._meta.local_concrete_fields if not f.primary_key and f.name not in skip]
    params = [f.get_db_prep_save(f.pre_save(obj, add=True), connection=connection) for f in fields]
    return ", ".join(quote(f.column) for f in fields), ", ".join(["%s"] * len(fields)), params
