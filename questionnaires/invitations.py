"""Invitation links: unguessable (192-bit) tokens bound to one case, expiring, revocable."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from assessment import access
from assessment.fields import EncryptedTextField
from assessment.models import Case, Wave
from questionnaires.models import Invitation
from questionnaires.selectors import DEMOGRAPHICS, Answered

_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{32}$")


class InvitationInvalid(LookupError):
    """A token that opens nothing; `reason` says why in words a respondent can act on."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def is_token_shaped(token: object) -> bool:
    """Return whether TOKEN could be a token (32 url-safe characters) before any lookup."""
    return isinstance(token, str) and _TOKEN.fullmatch(token) is not None  # match() lets "$" pass a final "\n"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@transaction.atomic
def invitation_create(*, case: Case, days: int | None = None, label: str = "") -> str:
    """Create the live invitation of CASE (revoking an older one) and return its token."""
    Invitation.objects.filter(case=case, revoked=False).update(revoked=True)
    token = secrets.token_urlsafe(24)  # 24 random bytes -> 32 url-safe characters
    Invitation.objects.create(
        wave_id=case.wave_id,
        case=case,
        token_hash=token_hash(token),
        token=token,
        expires_at=timezone.now() + timedelta(days=settings.SUYANG_INVITATION_DAYS if days is None else days),
        label=label,
    )
    return token


def invitation_find(token: str, memo: Any = None) -> Invitation | None:
    """Return the invitation TOKEN belongs to, live or not (None if none or malformed).

    One query brings the invitation, its case (without the encrypted contact details), its
    wave's plan revision and the case's answered questionnaires: everything a respondent's
    request needs before it writes (`invitation.answered`, `invitation.plan_revision`, for
    `selectors.respondent_state`).  MEMO (the request, say) keeps the answer, so the throttle
    that checks a token and the view that opens it read the database once.
    """
    found: dict[str, Invitation | None] = getattr(memo, "_suyang_invitations", None) or {}
    if token in found:
        return found[token]
    invitation = _lookup(token_hash(token)) if is_token_shaped(token) else None
    if memo is not None:
        found[token] = invitation
        memo._suyang_invitations = found
    return invitation


class _Column(NamedTuple):
    sql: str
    field: Field[Any, Any]
    col: Any  # the ORM's column expression, which converters are handed
    converters: list[Any]


@lru_cache(maxsize=4)
def _lookup_query(vendor: str) -> tuple[str, list[_Column], int, int, int]:
    """The lookup's SQL for this database, its columns with their converters (as the ORM's
    compiler applies them), and where the invitation's, the case's and the wave's columns end."""
    from questionnaires.models import Instrument, InstrumentVersion, Response

    quote = connection.ops.quote_name
    invitation_fields = [f for f in Invitation._meta.concrete_fields if f.name != "token"]
    case_fields = [f for f in Case._meta.concrete_fields if not isinstance(f, EncryptedTextField)]
    wave_fields = list(Wave._meta.concrete_fields)
    tables = {"i": Invitation, "c": Case, "w": Wave, "r": Response, "v": InstrumentVersion, "n": Instrument}
    wanted = (
        [("i", f) for f in invitation_fields]
        + [("c", f) for f in case_fields]
        + [("w", f) for f in wave_fields]
        + [("r", Response._meta.get_field(name)) for name in ("instrument_version", "answers", "received_at")]
        + [("n", Instrument._meta.get_field("code"))]
    )
    columns = []
    for alias, field in wanted:
        col = field.get_col(alias)
        converters = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        expression = f"{alias}.{quote(field.column)}"
        if alias == "r" and field.name == "answers":
            # Only the demographics' answers matter to a plan (eligibility); the others can be
            # long (50-odd answers each) and are neither sent nor decoded.
            expression = f"CASE WHEN n.{quote('code')} = %s THEN {expression} END"
        columns.append(_Column(expression, field, col, converters))
    table = {alias: quote(model._meta.db_table) for alias, model in tables.items()}

    def on(alias: str, model: type[Any], fk: str, other: str) -> str:
        """`alias.<fk column> = other.<pk column>` of MODEL's foreign key FK."""
        field = model._meta.get_field(fk)
        return f"{alias}.{quote(field.column)} = {other}.{quote(field.target_field.column)}"

    sql = (
        f"SELECT {', '.join(c.sql for c in columns)} FROM {table['i']} i"
        f" JOIN {table['c']} c ON {on('i', Invitation, 'case', 'c')}"
        f" JOIN {table['w']} w ON {on('i', Invitation, 'wave', 'w')}"
        f" LEFT JOIN {table['r']} r ON {on('r', Response, 'case', 'c')}"
        f" LEFT JOIN {table['v']} v ON {on('r', Response, 'instrument_version', 'v')}"
        f" LEFT JOIN {table['n']} n ON {on('v', InstrumentVersion, 'instrument', 'n')}"
        f" WHERE i.{quote(Invitation._meta.get_field('token_hash').column)} = %s"
    )
    ends = list(accumulate((len(invitation_fields), len(case_fields), len(wave_fields))))
    return sql, columns, ends[0], ends[1], ends[2]


def _lookup(digest: str) -> Invitation | None:
    """The invitation with this token hash, as `invitation_find` describes, in one query."""
    sql, columns, cut, case_end, wave_end = _lookup_query(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [DEMOGRAPHICS, digest])
        rows = cursor.fetchall()
    if not rows:
        return None
    converted = []
    for row in rows:
        values = []
        for value, column in zip(row, columns):
            for converter in column.converters:
                value = converter(value, column.col, connection)
            values.append(value)
        converted.append(values)
    first = converted[0]
    invitation = Invitation.from_db(connection.alias, [c.field.attname for c in columns[:cut]], first[:cut])
    case = Case.from_db(connection.alias, [c.field.attname for c in columns[cut:case_end]], first[cut:case_end])
    wave = Wave.from_db(connection.alias, [c.field.attname for c in columns[case_end:wave_end]], first[case_end:wave_end])
    case.wave = invitation.wave = wave
    invitation.case = case
    invitation.plan_revision = wave.plan_revision
    invitation.answered = [
        Answered(version_id, code, answers or {}, received_at)
        for version_id, answers, received_at, code in (values[wave_end:] for values in converted)
        if version_id is not None
    ]
    return invitation


def invitation_is_live(invitation: Invitation | None) -> bool:
    return (
        invitation is not None and not invitation.revoked and invitation.expires_at > timezone.now()
        and access.wave_open(invitation.wave)
    )


def invitation_open(token: str, memo: Any = None, *, mark_opened: bool = True) -> Invitation:
    """Return the live invitation for TOKEN; raise InvitationInvalid otherwise.

    The first opening is recorded (`first_opened_at`) unless MARK_OPENED is False: a
    submission records it in its own transaction (`services.response_submit`).
    """
    if not is_token_shaped(token):
        raise InvitationInvalid("malformed")
    invitation = invitation_find(token, memo)
    if invitation is None:
        raise InvitationInvalid("unknown")
    if invitation.revoked:
        raise InvitationInvalid("revoked")
    if invitation.expires_at <= timezone.now():
        raise InvitationInvalid("expired")
    if not access.wave_open(invitation.wave):  # the survey is over
        raise InvitationInvalid("closed")
    if mark_opened and invitation.first_opened_at is None:
        now = timezone.now()
        Invitation.objects.filter(pk=invitation.pk, first_opened_at__isnull=True).update(first_opened_at=now)
        invitation.first_opened_at = now
    return invitation
