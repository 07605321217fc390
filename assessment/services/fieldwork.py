"""Cases in the field: assignments, visit attempts (idempotent for offline sync), invitations."""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from assessment import access
from assessment.errors import FieldworkError, WaveClosed
from assessment.models import Assignment, AuditEvent, Case, Disposition, Visit
from assessment.models.audit import county_of_wave
from questionnaires.invitations import invitation_create
from questionnaires.models import Invitation

INTERVIEWS = (Disposition.COMPLETE, Disposition.PARTIAL)
CLOCK_SKEW = timedelta(hours=24)  # a device clock may run ahead; further ahead is a wrong date


def waves_open_required(cases: Iterable[Case]) -> None:
    """Raise WaveClosed if one of CASES belongs to a closed wave (`access.wave_open`)."""
    code = access.closed_wave_code({c.wave_id for c in cases})
    if code is not None:
        raise WaveClosed(code)


@transaction.atomic
def cases_assign(*, cases: Iterable[Case], enumerator: AbstractBaseUser, user: AbstractBaseUser) -> int:
    """Give CASES to ENUMERATOR, closing each case's open assignment; return how many changed hands.

    Refused as a whole (PermissionDenied) if USER may not assign one of the cases, or may not
    hand work to ENUMERATOR; (WaveClosed) if one of them belongs to a closed wave.
    """
    todo = [c for c in cases]
    for case in todo:
        if not access.can_assign_to(user, case, enumerator):
            raise PermissionDenied(_("无权把样本户 %(code)s 分配给该调查员。") % {"code": case.code})
    waves_open_required(todo)
    moved = [c for c in todo if c.assigned_to_id != enumerator.pk]
    if not moved:
        return 0
    now = timezone.now()
    ids = [c.pk for c in moved]
    Assignment.objects.filter(case_id__in=ids, ended_at__isnull=True).update(ended_at=now)
    Assignment.objects.bulk_create(Assignment(case=c, enumerator=enumerator, assigned_by=user) for c in moved)
    Case.objects.filter(pk__in=ids).update(assigned_to=enumerator)
    for c in moved:
        c.assigned_to = enumerator
    AuditEvent.objects.create(
        actor=user, action="cases.assign", object_type="User", object_id=str(enumerator.pk),
        county_id=county_of_wave(moved[0].wave_id),
        summary=f"{len(moved)} cases to {enumerator}"[:255],
        details={"cases": [c.code for c in moved][:500], "count": len(moved)},
    )
    return len(moved)


@dataclass(frozen=True)
class VisitInput:
    client_id: uuid.UUID
    case_code: str
    visited_at: datetime
    outcome: str
    note: str = ""


def case_disposition_from_visits(case: Case) -> str:
    """Return the case's disposition: an interview (complete, then partial) stands; otherwise the latest visit's outcome."""
    outcomes = list(case.visits.order_by("-visited_at", "-pk").values_list("outcome", flat=True))
    for interview in INTERVIEWS:
        if case.disposition == interview or interview in outcomes:
            return interview
    return outcomes[0] if outcomes else case.disposition


@transaction.atomic
def visit_record(
    *, case: Case, client_id: uuid.UUID, visited_at: datetime, outcome: str, note: str = "", user: AbstractBaseUser
) -> tuple[Visit, bool]:
    """Store one contact attempt once; return (visit, created).

    A retry with the same client id and content returns the stored visit; the same client id
    with other content is refused, as is a new visit to a case of a closed wave (WaveClosed).
    The case's disposition follows (`case_disposition_from_visits`).
    """
    existing = Visit.objects.filter(client_id=client_id).first()
    if existing is not None:
        return _same_visit(existing, case, visited_at, outcome), False
    if not access.can_work_case(user, case):
        raise PermissionDenied(_("无权记录该样本户的访问。"))
    waves_open_required([case])
    if outcome not in Disposition.values or outcome == Disposition.PENDING:
        raise FieldworkError(_("访问结果“%(outcome)s”无效。") % {"outcome": outcome})
    if timezone.is_naive(visited_at):
        raise FieldworkError(_("访问时间须带时区。"))
    if visited_at > timezone.now() + CLOCK_SKEW:
        raise FieldworkError(_("访问时间在将来，请检查设备时钟。"))
    try:
        with transaction.atomic():
            visit = Visit.objects.create(
                client_id=client_id, case=case, enumerator=user, visited_at=visited_at, outcome=outcome, note=note[:255]
            )
    except IntegrityError:  # a concurrent retry stored it first
        existing = Visit.objects.get(client_id=client_id)
        return _same_visit(existing, case, visited_at, outcome), False
    disposition = case_disposition_from_visits(case)
    if disposition != case.disposition:
        AuditEvent.objects.create(
            actor=user, action="case.disposition", object_type="Case", object_id=str(case.pk),
            county_id=county_of_wave(case.wave_id),
            summary=f"{case.code}: {case.disposition} → {disposition}",
            details={"from": case.disposition, "to": disposition, "visit": str(client_id)},
        )
        case.disposition = disposition
        case.disposition_at = visited_at
        case.save(update_fields=["disposition", "disposition_at"])
    return visit, True


def _same_visit(existing: Visit, case: Case, visited_at: datetime, outcome: str) -> Visit:
    if existing.case_id != case.pk or existing.outcome != outcome or existing.visited_at != visited_at:
        raise FieldworkError(_("该记录标识已用于另一条访问记录。"))
    return existing


@dataclass(frozen=True)
class SyncResult:
    client_id: str
    status: str  # stored | already_stored | refused
    error: str = ""


def visits_sync(*, visits: Sequence[VisitInput], user: AbstractBaseUser) -> list[SyncResult]:
    """Store a device's queued visits one by one; each gets its own status, so one bad record loses no other."""
    codes = {v.case_code for v in visits}
    cases = {c.code: c for c in access.visible_cases(user).filter(code__in=codes)}
    results = []
    for v in visits:
        case = cases.get(v.case_code)
        if case is None:
            results.append(SyncResult(str(v.client_id), "refused", _("没有这个样本户，或无权访问。")))
            continue
        try:
            _visit, created = visit_record(
                case=case, client_id=v.client_id, visited_at=v.visited_at, outcome=v.outcome, note=v.note, user=user
            )
        except (FieldworkError, PermissionDenied) as exc:
            results.append(SyncResult(str(v.client_id), "refused", str(exc)))
        else:
            results.append(SyncResult(str(v.client_id), "stored" if created else "already_stored"))
            case.refresh_from_db(fields=["disposition", "disposition_at"])
    return results


@transaction.atomic
def invitations_issue(*, cases: Iterable[Case], user: AbstractBaseUser | None = None) -> dict[int, str]:
    """Return {case id: live invitation token}, creating an invitation for each case without one.

    Raises WaveClosed for a case of a closed wave: its links would open nothing.
    """
    todo = list(cases)
    waves_open_required(todo)
    live = {
        inv.case_id: inv.token
        for inv in Invitation.objects.filter(case__in=todo, revoked=False, expires_at__gt=timezone.now())
    }
    created = 0
    for case in todo:
        if case.pk not in live:
            live[case.pk] = invitation_create(case=case)
            created += 1
    if created:
        actor: Any = user if user is not None and user.is_authenticated else None
        AuditEvent.objects.create(
            actor=actor, action="invitations.issue", object_type="Wave", object_id=str(todo[0].wave_id),
            county_id=county_of_wave(todo[0].wave_id),
            summary=f"{created} invitations issued"[:255], details={"cases": [c.code for c in todo if c.pk in live][:500]},
        )
    return live
