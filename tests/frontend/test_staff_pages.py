"""Staff pages (frontend/views/staff.py): who may open them, and that a supervisor of one town can
neither see nor change another town's cases while an enumerator sees only their own."""
from __future__ import annotations

import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from assessment.models import (
    Assignment,
    Case,
    Frame,
    HouseholdMember,
    SampleDesign,
    SampleDraw,
    Visit,
    WaveInstrument,
    Weight,
    WeightSet,
)
from assessment.services import cases_assign
from questionnaires.models import Instrument, Response, ReviewDecision
from questionnaires.services import payload_hash
from tests.assessment.fieldwork_setup import FieldCounty, drawn_county
from tests.frontend.html import main_text
from tests.frontend.survey_setup import DEMOGRAPHICS_ADULT, publish_banks

pytestmark = pytest.mark.django_db
PAGES = ("/staff/", "/staff/cases/", "/staff/review/", "/staff/frames/", "/staff/designs/")


@pytest.fixture
def fc(db: None) -> FieldCounty:
    return drawn_county(seed=8)


def client_for(fc: FieldCounty, role: str) -> Client:
    client = Client()
    client.force_login(fc.users[role])
    return client


def case_in(town: str) -> Case:
    return Case.objects.filter(town__code=town).order_by("code").first()


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_users_are_sent_to_login(client: Client, fc: FieldCounty, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", ["official", "no_profile"])
@pytest.mark.parametrize("path", PAGES)
def test_officials_and_visitors_are_refused(fc: FieldCounty, role: str, path: str) -> None:
    response = client_for(fc, role).get(path)
    assert response.status_code == 403 and "无权访问" in response.content.decode()


def test_supervisor_monitors_only_their_town(fc: FieldCounty) -> None:
    response = client_for(fc, "supervisor_a").get("/staff/")
    text = main_text(response.content.decode())
    assert response.status_code == 200
    assert "甲镇" in text and "乙镇" not in text
    assert "AAPOR" in text and "e = " in text


def test_admin_monitors_every_town_with_rates_by_psu_and_enumerator(fc: FieldCounty) -> None:
    admin = client_for(fc, "admin")
    text = main_text(admin.get("/staff/").content.decode())
    assert "甲镇" in text and "乙镇" in text
    by_enumerator = main_text(admin.get("/staff/", {"by": "enumerator"}).content.decode())
    assert fc.users["enumerator_a"].username in by_enumerator
    assert "ta-01村" in main_text(admin.get("/staff/", {"by": "psu"}).content.decode())


def test_enumerator_is_sent_to_their_own_cases(fc: FieldCounty) -> None:
    enumerator = client_for(fc, "enumerator_a")
    response = enumerator.get("/staff/")
    assert response.status_code == 302 and response["Location"] == "/staff/cases/"
    html = enumerator.get("/staff/cases/").content.decode()
    shown = set(re.findall(r'href="/staff/cases/([^/"]+)/"', html))
    assert shown == set(Case.objects.filter(assigned_to=fc.users["enumerator_a"]).values_list("code", flat=True))
    for path in ("/staff/review/", "/staff/frames/", "/staff/designs/"):
        assert enumerator.get(path).status_code == 403


def test_enumerator_cannot_open_a_case_assigned_to_someone_else(fc: FieldCounty) -> None:
    mine = case_in("ta")
    cases_assign(cases=[mine], enumerator=fc.users["enumerator_a2"], user=fc.users["admin"])
    other = client_for(fc, "enumerator_a")
    assert other.get(f"/staff/cases/{mine.code}/").status_code == 404
    assert other.post(f"/staff/cases/{mine.code}/", {"action": "visit", "client_id": str(uuid.uuid4()), "visited_at": "2026-09-05T10:00", "outcome": "refusal"}).status_code == 404
    assert client_for(fc, "enumerator_a2").get(f"/staff/cases/{mine.code}/").status_code == 200


def test_supervisor_cannot_see_or_change_another_towns_cases(fc: FieldCounty) -> None:
    supervisor = client_for(fc, "supervisor_a")
    theirs = case_in("tb")
    html = supervisor.get("/staff/cases/").content.decode()
    assert theirs.code not in html and case_in("ta").code in html
    assert supervisor.get(f"/staff/cases/{theirs.code}/").status_code == 404
    visit = {"action": "visit", "client_id": str(uuid.uuid4()), "visited_at": "2026-09-05T10:00", "outcome": "refusal"}
    assert supervisor.post(f"/staff/cases/{theirs.code}/", visit).status_code == 404
    roster = {"action": "roster", "sex": ["male"], "age": ["40"], "name": [""]}
    assert supervisor.post(f"/staff/cases/{theirs.code}/", roster).status_code == 404
    before = list(Assignment.objects.filter(case__town__code="tb").values_list("pk", "ended_at"))
    response = supervisor.post("/staff/cases/assign/", {"psu": theirs.sampled_unit_id, "enumerator": fc.users["enumerator_a"].pk})
    assert response.status_code == 404
    response = supervisor.post("/staff/cases/assign/", {"case": theirs.code, "enumerator": fc.users["enumerator_a"].pk})
    assert response.status_code == 404
    assert list(Assignment.objects.filter(case__town__code="tb").values_list("pk", "ended_at")) == before
    assert not Visit.objects.filter(case=theirs).exists() and not HouseholdMember.objects.filter(case=theirs).exists()
    assert supervisor.get(f"/staff/psus/{theirs.sampled_unit_id}/invitations.pdf").status_code == 404


def test_supervisor_reassigns_a_psu_of_their_town(fc: FieldCounty) -> None:
    mine = case_in("ta")
    response = client_for(fc, "supervisor_a").post(
        "/staff/cases/assign/", {"psu": mine.sampled_unit_id, "enumerator": fc.users["enumerator_a2"].pk, "next": "/staff/cases/"}
    )
    assert response.status_code == 302
    assert set(Case.objects.filter(sampled_unit_id=mine.sampled_unit_id).values_list("assigned_to", flat=True)) == {fc.users["enumerator_a2"].pk}
    assert Assignment.objects.filter(case=mine, ended_at__isnull=False).count() == 1


def test_assignment_never_redirects_off_the_site(fc: FieldCounty) -> None:
    mine = case_in("ta")
    response = client_for(fc, "supervisor_a").post(
        "/staff/cases/assign/", {"psu": mine.sampled_unit_id, "enumerator": fc.users["enumerator_a2"].pk, "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/staff/cases/"


def test_enumerator_records_a_visit_and_a_roster_on_their_case(fc: FieldCounty) -> None:
    mine = case_in("ta")
    enumerator = client_for(fc, "enumerator_a")
    page = enumerator.get(f"/staff/cases/{mine.code}/").content.decode()
    client_id = re.search(r'name="client_id" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    visit = {"action": "visit", "client_id": client_id, "visited_at": "2026-09-05T10:30", "outcome": "non_contact", "note": "家中无人"}
    assert enumerator.post(f"/staff/cases/{mine.code}/", visit).status_code == 302
    assert enumerator.post(f"/staff/cases/{mine.code}/", visit).status_code == 302  # a double submit stores it once
    assert Visit.objects.filter(case=mine).count() == 1
    roster = {"action": "roster", "sex": ["male", "female", "", "male"], "age": ["45", "43", "", "8"], "name": ["", "", "", ""]}
    assert enumerator.post(f"/staff/cases/{mine.code}/", roster).status_code == 302
    mine.refresh_from_db()
    assert mine.prob_person == 0.5 and HouseholdMember.objects.filter(case=mine).count() == 3
    text = main_text(enumerator.get(f"/staff/cases/{mine.code}/").content.decode())
    assert "选中" in text and "未接触" in text and "家中无人" in text
    bad = enumerator.post(f"/staff/cases/{mine.code}/", {"action": "roster", "sex": ["male"], "age": ["old"], "name": [""]})
    assert bad.status_code == 400 and "年龄" in bad.content.decode()


def test_household_address_is_shown_only_to_the_assigned_enumerator(fc: FieldCounty) -> None:
    mine = case_in("ta")
    address = mine.household.address
    assert address in client_for(fc, "enumerator_a").get(f"/staff/cases/{mine.code}/").content.decode()
    assert address not in client_for(fc, "supervisor_a").get(f"/staff/cases/{mine.code}/").content.decode()


def test_invitation_sheet_is_a_pdf_for_the_towns_staff(fc: FieldCounty) -> None:
    mine = case_in("ta")
    for role in ("supervisor_a", "enumerator_a", "admin"):
        response = client_for(fc, role).get(f"/staff/psus/{mine.sampled_unit_id}/invitations.pdf")
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
    assert client_for(fc, "enumerator_b").get(f"/staff/psus/{mine.sampled_unit_id}/invitations.pdf").status_code == 404


def test_invitation_sheet_leaves_out_completed_households_and_says_when_none_is_left(fc: FieldCounty) -> None:
    from questionnaires.models import Invitation

    mine = case_in("ta")
    psu_cases = Case.objects.filter(sampled_unit_id=mine.sampled_unit_id)
    psu_cases.exclude(pk=mine.pk).update(disposition="complete")
    client = client_for(fc, "supervisor_a")
    assert client.get(f"/staff/psus/{mine.sampled_unit_id}/invitations.pdf").status_code == 200
    assert set(Invitation.objects.filter(case__in=psu_cases).values_list("case_id", flat=True)) == {mine.pk}
    psu_cases.update(disposition="complete")
    done = client.get(f"/staff/psus/{mine.sampled_unit_id}/invitations.pdf", follow=True)
    assert done.redirect_chain and "都已完成访问" in main_text(done.content.decode())


# --- frames and designs (admins) ---------------------------------------------------------------


def test_admin_uploads_a_frame_and_sees_every_problem_of_a_bad_one(fc: FieldCounty) -> None:
    admin = client_for(fc, "admin")
    good = SimpleUploadedFile("new.csv", "代码,名称,乡镇,城乡,人口\nn1,新村,甲镇,农村,300\n".encode())
    response = admin.post("/staff/frames/", {"action": "frame", "name": "新框", "kind": "area", "reference_year": "2025", "file": good})
    assert response.status_code == 302 and Frame.objects.filter(name="新框").exists()
    bad = SimpleUploadedFile("bad.csv", "代码,名称,乡镇,城乡,人口\nn1,新村,丙镇,郊区,0\n".encode())
    response = admin.post("/staff/frames/", {"action": "frame", "name": "坏框", "kind": "area", "reference_year": "2025", "file": bad})
    text = main_text(response.content.decode())
    assert response.status_code == 400 and not Frame.objects.filter(name="坏框").exists()
    assert "第 2 行“乡镇”列" in text and "第 2 行“城乡”列" in text and "第 2 行“人口”列" in text
    assert client_for(fc, "supervisor_a").post("/staff/frames/", {"action": "frame", "name": "x"}).status_code == 403


def test_admin_creates_a_design_and_draws_it_supervisors_only_read(fc: FieldCounty) -> None:
    admin = client_for(fc, "admin")
    form = {"action": "design", "wave": fc.wave.code, "name": "按比例", "frame": fc.frame.pk, "allocation": "proportional",
            "psu_total": "4", "households_per_psu": "2", "household_method": "srs"}
    assert admin.post("/staff/designs/", form).status_code == 302
    design = SampleDesign.objects.get(name="按比例")
    assert admin.post("/staff/designs/", {"action": "draw", "wave": fc.wave.code, "design": design.pk, "seed": "99"}).status_code == 302
    assert SampleDraw.objects.get(design=design).seed == 99
    text = main_text(client_for(fc, "supervisor_a").get("/staff/designs/").content.decode())
    assert "按比例" in text and "99" in text and "新建抽样设计" not in text
    assert client_for(fc, "supervisor_a").post("/staff/designs/", {**form, "name": "x"}).status_code == 403
    too_many = admin.post("/staff/designs/", {**form, "name": "太多", "psu_total": "40"})
    assert too_many.status_code == 400 and not SampleDesign.objects.filter(name="太多").exists()


# --- review ------------------------------------------------------------------------------------


@pytest.fixture
def flagged(fc: FieldCounty) -> dict[str, Response]:
    """A flagged demographics response per town, and a weight set that still counts them."""
    version = publish_banks(("demographics",))["demographics"]
    WaveInstrument.objects.create(wave=fc.wave, instrument_version=version, order=0)
    out = {}
    for town in ("ta", "tb"):
        out[town] = Response.objects.create(
            client_id=uuid.uuid4(), wave=fc.wave, instrument_version=version, case=case_in(town), answers=DEMOGRAPHICS_ADULT,
            payload_hash=payload_hash(version, DEMOGRAPHICS_ADULT), review=Response.Review.FLAGGED, duration_seconds=30,
            flags=[{"code": "speeding", "seconds": 30, "median": 300}],
        )
    weight_set = WeightSet.objects.create(
        wave=fc.wave, instrument=Instrument.objects.get(code="demographics"), version=1, method={}, inputs_hash="x"
    )
    for r in out.values():
        Weight.objects.create(weight_set=weight_set, response=r, stratum="s", psu="p", base=1, adjusted=1, final=1)
    return out


def test_supervisor_reviews_only_their_towns_flagged_responses(fc: FieldCounty, flagged: dict[str, Response]) -> None:
    supervisor = client_for(fc, "supervisor_a")
    text = main_text(supervisor.get("/staff/review/").content.decode())
    assert flagged["ta"].case.code in text and flagged["tb"].case.code not in text
    assert "作答过快：30 秒，中位数 300 秒" in text
    response = supervisor.post("/staff/review/", {"response": flagged["tb"].pk, "decision": "rejected", "reason": "越权"})
    assert response.status_code == 404
    assert Response.objects.get(pk=flagged["tb"].pk).review == "flagged"


def test_a_rejection_needs_a_reason_and_the_page_then_says_the_weights_are_stale(fc: FieldCounty, flagged: dict[str, Response]) -> None:
    supervisor = client_for(fc, "supervisor_a")
    assert "权重已过期" not in main_text(supervisor.get("/staff/review/").content.decode())
    no_reason = supervisor.post("/staff/review/", {"response": flagged["ta"].pk, "decision": "rejected", "reason": " "})
    assert no_reason.status_code == 400 and "请填写审核理由" in no_reason.content.decode()
    done = supervisor.post("/staff/review/", {"response": flagged["ta"].pk, "decision": "rejected", "reason": "90 秒答完"})
    assert done.status_code == 302
    assert ReviewDecision.objects.get(response=flagged["ta"]).reason == "90 秒答完"
    text = main_text(supervisor.get("/staff/review/").content.decode())
    assert "权重已过期" in text and "基本情况 v1" in text
    assert flagged["ta"].case.code in main_text(supervisor.get("/staff/review/", {"status": "rejected"}).content.decode())


def test_only_admins_run_the_quality_checks(fc: FieldCounty, flagged: dict[str, Response]) -> None:
    assert client_for(fc, "supervisor_a").post("/staff/review/", {"action": "flag"}).status_code == 403
    assert client_for(fc, "admin").post("/staff/review/", {"action": "flag"}).status_code == 302


