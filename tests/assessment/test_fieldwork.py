"""Cases in the field (assessment/services/fieldwork.py, access.py): assignment and reassignment,
scope of supervisors and enumerators, visit attempts idempotent for offline sync, dispositions,
invitations and the printable QR sheet."""
from __future__ import annotations

import shutil
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from assessment import access
from assessment.errors import FieldworkError
from assessment.models import Assignment, AuditEvent, Case, Visit
from assessment.services import (
    VisitInput,
    cases_assign,
    invitations_issue,
    visit_record,
    visits_sync,
)
from assessment.sheets import SheetText, Slip, invitation_sheet_pdf
from questionnaires.models import Invitation
from tests.assessment.fieldwork_setup import FieldCounty, drawn_county, field_county

pytestmark = pytest.mark.django_db


@pytest.fixture
def fc(db: None) -> FieldCounty:
    return drawn_county(seed=2026, assign=False)


def town_cases(fc: FieldCounty, town: str) -> list[Case]:
    return list(Case.objects.filter(wave=fc.wave, town__code=town).order_by("code"))


def psu_cases(fc: FieldCounty, town: str) -> list[Case]:
    first = town_cases(fc, town)[0]
    return list(Case.objects.filter(sampled_unit=first.sampled_unit).order_by("code"))


# --- assignment ---------------------------------------------------------------------------


def test_bulk_assignment_by_psu_opens_one_assignment_per_case(fc: FieldCounty) -> None:
    cases = psu_cases(fc, "ta")
    assert cases_assign(cases=cases, enumerator=fc.users["enumerator_a"], user=fc.users["supervisor_a"]) == 3
    for case in cases:
        case.refresh_from_db()
        assert case.assigned_to == fc.users["enumerator_a"]
        open_rows = Assignment.objects.filter(case=case, ended_at__isnull=True)
        assert [(a.enumerator, a.assigned_by) for a in open_rows] == [(fc.users["enumerator_a"], fc.users["supervisor_a"])]
    assert AuditEvent.objects.get(action="cases.assign").details["count"] == 3


def test_reassignment_closes_the_open_assignment(fc: FieldCounty) -> None:
    cases = psu_cases(fc, "ta")
    cases_assign(cases=cases, enumerator=fc.users["enumerator_a"], user=fc.users["admin"])
    assert cases_assign(cases=cases[:1], enumerator=fc.users["enumerator_a2"], user=fc.users["supervisor_a"]) == 1
    history = list(Assignment.objects.filter(case=cases[0]).order_by("assigned_at", "pk"))
    assert [a.enumerator for a in history] == [fc.users["enumerator_a"], fc.users["enumerator_a2"]]
    assert history[0].ended_at is not None and history[1].ended_at is None
    # Assigning again to the same enumerator changes nothing.
    assert cases_assign(cases=cases[:1], enumerator=fc.users["enumerator_a2"], user=fc.users["admin"]) == 0
    assert Assignment.objects.filter(case=cases[0]).count() == 2


def test_supervisor_cannot_assign_another_towns_cases(fc: FieldCounty) -> None:
    cases = psu_cases(fc, "tb")
    with pytest.raises(PermissionDenied):
        cases_assign(cases=cases, enumerator=fc.users["enumerator_a"], user=fc.users["supervisor_a"])
    assert not Assignment.objects.filter(case__in=cases).exists()


def test_supervisor_cannot_hand_work_to_another_towns_enumerator(fc: FieldCounty) -> None:
    with pytest.raises(PermissionDenied):
        cases_assign(cases=psu_cases(fc, "ta"), enumerator=fc.users["enumerator_b"], user=fc.users["supervisor_a"])


@pytest.mark.parametrize("role", ["enumerator_a", "official", "no_profile"])
def test_only_admins_and_supervisors_assign(fc: FieldCounty, role: str) -> None:
    with pytest.raises(PermissionDenied):
        cases_assign(cases=psu_cases(fc, "ta"), enumerator=fc.users["enumerator_a"], user=fc.users[role])


def test_a_mixed_batch_is_refused_as_a_whole(fc: FieldCounty) -> None:
    mixed = psu_cases(fc, "ta") + psu_cases(fc, "tb")
    with pytest.raises(PermissionDenied):
        cases_assign(cases=mixed, enumerator=fc.users["enumerator_a"], user=fc.users["supervisor_a"])
    assert not Assignment.objects.exists()


# --- scope ---------------------------------------------------------------------------------


def test_supervisor_sees_and_works_only_their_towns_cases(fc: FieldCounty) -> None:
    a, b = town_cases(fc, "ta")[0], town_cases(fc, "tb")[0]
    sup = fc.users["supervisor_a"]
    assert set(access.visible_cases(sup)) == set(town_cases(fc, "ta"))
    assert access.can_work_case(sup, a) and not access.can_work_case(sup, b)
    assert access.can_assign_case(sup, a) and not access.can_assign_case(sup, b)
    assert set(access.monitored_towns(sup, fc.wave).values_list("code", flat=True)) == {"ta"}
    assert set(access.assignable_enumerators(sup)) == {fc.users["enumerator_a"], fc.users["enumerator_a2"]}


def test_enumerator_sees_and_works_only_their_own_cases(fc: FieldCounty) -> None:
    mine = psu_cases(fc, "ta")
    cases_assign(cases=mine, enumerator=fc.users["enumerator_a"], user=fc.users["admin"])
    enumerator = fc.users["enumerator_a"]
    assert set(access.visible_cases(enumerator)) == set(mine)
    other = next(c for c in town_cases(fc, "ta") if c not in mine)
    assert access.can_work_case(enumerator, mine[0]) and not access.can_work_case(enumerator, other)
    assert not access.can_assign_case(enumerator, mine[0])
    assert not access.can_monitor(enumerator, fc.wave)
    assert access.assignable_enumerators(enumerator).count() == 0


def test_admin_scope_is_the_county(fc: FieldCounty) -> None:
    admin = fc.users["admin"]
    assert access.visible_cases(admin).count() == 12
    assert access.monitored_towns(admin, fc.wave).count() == 2
    assert access.can_design(admin, fc.wave) and access.can_manage_frames(admin, fc.county)
    other = field_county("370133")
    assert not access.can_design(other.users["admin"], fc.wave)
    assert not access.can_monitor(other.users["admin"], fc.wave)
    assert access.visible_cases(other.users["admin"]).filter(wave=fc.wave).count() == 0


@pytest.mark.parametrize("role", ["official", "no_profile"])
def test_officials_and_visitors_see_no_cases(fc: FieldCounty, role: str) -> None:
    user = fc.users[role]
    assert access.visible_cases(user).count() == 0
    assert not access.can_monitor(user, fc.wave)
    assert not access.can_work_case(user, town_cases(fc, "ta")[0])


# --- visits --------------------------------------------------------------------------------


def at(hours_ago: float) -> Any:
    return timezone.now() - timedelta(hours=hours_ago)


@pytest.fixture
def assigned(fc: FieldCounty) -> Case:
    case = psu_cases(fc, "ta")[0]
    cases_assign(cases=[case], enumerator=fc.users["enumerator_a"], user=fc.users["admin"])
    case.refresh_from_db()
    return case


def test_visit_is_stored_once_per_client_id(fc: FieldCounty, assigned: Case) -> None:
    client_id, when = uuid.uuid4(), at(2)
    first, created = visit_record(case=assigned, client_id=client_id, visited_at=when, outcome="non_contact", user=fc.users["enumerator_a"])
    again, created_again = visit_record(case=assigned, client_id=client_id, visited_at=when, outcome="non_contact", user=fc.users["enumerator_a"])
    assert created and not created_again and first.pk == again.pk
    assert Visit.objects.filter(case=assigned).count() == 1
    with pytest.raises(FieldworkError):
        visit_record(case=assigned, client_id=client_id, visited_at=when, outcome="refusal", user=fc.users["enumerator_a"])


def test_disposition_follows_the_latest_visit_even_when_synced_late(fc: FieldCounty, assigned: Case) -> None:
    user = fc.users["enumerator_a"]
    visit_record(case=assigned, client_id=uuid.uuid4(), visited_at=at(1), outcome="refusal", user=user)
    visit_record(case=assigned, client_id=uuid.uuid4(), visited_at=at(30), outcome="non_contact", user=user)  # older, synced later
    assigned.refresh_from_db()
    assert assigned.disposition == "refusal"
    visit_record(case=assigned, client_id=uuid.uuid4(), visited_at=at(0.5), outcome="complete", user=user)
    visit_record(case=assigned, client_id=uuid.uuid4(), visited_at=at(0.1), outcome="non_contact", user=user)
    assigned.refresh_from_db()
    assert assigned.disposition == "complete"  # an interview stands
    assert list(assigned.visits.order_by("visited_at").values_list("outcome", flat=True)) == [
        "non_contact", "refusal", "complete", "non_contact"
    ]


def test_visits_are_refused_outside_scope_and_with_bad_values(fc: FieldCounty, assigned: Case) -> None:
    with pytest.raises(PermissionDenied):
        visit_record(case=assigned, client_id=uuid.uuid4(), visited_at=at(1), outcome="refusal", user=fc.users["enumerator_a2"])
    with pytest.raises(PermissionDenied):
        visit_record(case=assigned, client_id=uuid.uuid4(), visited_at=at(1), outcome="refusal", user=fc.users["supervisor_b"])
    for outcome in ("pending", "interviewed"):
        with pytest.raises(FieldworkError):
            visit_record(case=assigned, client_id=uuid.uuid4(), visited_at=at(1), outcome=outcome, user=fc.users["enumerator_a"])
    with pytest.raises(FieldworkError, match="将来"):
        visit_record(case=assigned, client_id=uuid.uuid4(), visited_at=at(-48), outcome="refusal", user=fc.users["enumerator_a"])
    # The town's supervisor may record a visit too.
    _, created = visit_record(case=assigned, client_id=uuid.uuid4(), visited_at=at(1), outcome="other", user=fc.users["supervisor_a"])
    assert created


def test_sync_stores_each_visit_with_its_own_status(fc: FieldCounty, assigned: Case) -> None:
    user = fc.users["enumerator_a"]
    done, when = uuid.uuid4(), at(3)
    visit_record(case=assigned, client_id=done, visited_at=when, outcome="non_contact", user=user)
    other_case = town_cases(fc, "tb")[0]
    batch = [
        VisitInput(uuid.uuid4(), assigned.code, at(2), "refusal"),
        VisitInput(done, assigned.code, when, "non_contact"),
        VisitInput(uuid.uuid4(), other_case.code, at(2), "refusal"),
        VisitInput(uuid.uuid4(), assigned.code, at(2), "bogus"),
        VisitInput(uuid.uuid4(), "no-such-case", at(2), "refusal"),
    ]
    statuses = [r.status for r in visits_sync(visits=batch, user=user)]
    assert statuses == ["stored", "already_stored", "refused", "refused", "refused"]
    assert Visit.objects.filter(case=assigned).count() == 2
    assert not Visit.objects.filter(case=other_case).exists()
    # Sending the whole batch again stores nothing new.
    assert [r.status for r in visits_sync(visits=batch[:2], user=user)] == ["already_stored", "already_stored"]


# --- invitations and the QR sheet ---------------------------------------------------------------


def test_invitations_are_issued_once_per_case(fc: FieldCounty) -> None:
    cases = psu_cases(fc, "ta")
    first = invitations_issue(cases=cases, user=fc.users["admin"])
    again = invitations_issue(cases=cases, user=fc.users["admin"])
    assert first == again and len(set(first.values())) == 3
    assert Invitation.objects.filter(case__in=cases, revoked=False).count() == 3
    assert AuditEvent.objects.filter(action="invitations.issue").count() == 1


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_invitation_sheet_pdf_has_a_slip_per_household_and_an_embedded_cjk_font(tmp_path: Path) -> None:
    slips = [Slip(url=f"https://suyang.example/r/{'x' * 31}{i % 10}/", case_code=f"2026-1-v01-{i:02d}", household=f"{i:03d}") for i in range(11)]
    text = SheetText(title="2026年平阴县公民科学素质调查", place="甲镇 · 王庄村", scan="请用手机扫描二维码，填写本户的问卷。",
                     note="回答仅用于统计，个人信息严格保密。", page="第 %(page)d 页，共 %(pages)d 页")
    path = tmp_path / "sheet.pdf"
    path.write_bytes(invitation_sheet_pdf(slips, text))
    words = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "2026年平阴县公民科学素质调查" in words and "第 2 页，共 2 页" in words
    assert all(s.case_code in words for s in slips)
    assert "请用手机扫描二维码" in words
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    cjk = [line for line in fonts.splitlines() if "SuyangCJK" in line or "WenQuanYi" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts  # embedded
    if shutil.which("pdfimages"):
        images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
        assert len(images.strip().splitlines()) - 2 == len(slips)  # one QR image per slip
