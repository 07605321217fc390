"""A closed wave is final: nothing of its fieldwork changes; rescoring and weighting stay allowed.

On the demo county, where wave 2025 is in fieldwork and 2022–2024 (and the enterprise waves
before 2025's) are closed.  A closed wave's invitation links answer 410 (invitation_closed);
assigning its cases, recording rosters and visits and reviewing its responses are refused
(409 wave_closed, or a refused visit); the field bundle and the printed invitation sheet issue
no link for it.  Reopening the wave (status back to fieldwork) makes its links work again.

Also here, two scope rules found with it: an admin's rescoring touches only their county's
responses, and a town-scoped reviewer sees only their towns' case codes in a
`duplicate_answers` flag.
"""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client
from rest_framework.test import APIClient

from assessment.models import (
    Assignment,
    AuditEvent,
    Case,
    County,
    Frame,
    FrameUnit,
    Household,
    HouseholdMember,
    Role,
    SampleDesign,
    SampleDraw,
    SampledUnit,
    StaffProfile,
    Stratum,
    Town,
    Visit,
    Wave,
    WaveInstrument,
)
from questionnaires.invitations import invitation_create
from questionnaires.models import Invitation, Response, ResponseScore, ReviewDecision
from tests.frontend.html import main_text, text_of
from tests.frontend.survey_setup import DEMOGRAPHICS_ADULT, as_post

CLOSED_MESSAGE = "已结束"  # in WaveClosed's message: "调查轮次 … 已结束，…"


@pytest.fixture
def county_id(demo_county: Any, db: None) -> int:
    return int(demo_county.county_id)


def user(name: str) -> Any:
    return get_user_model().objects.get(username=name)


def api(name: str) -> APIClient:
    client = APIClient()
    client.force_login(user(name))
    client.raise_request_exception = False  # a 500 shows as a status, as in production
    return client


def pages(name: str) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user(name))
    return client


def wave_of(county_id: int, code: str) -> Wave:
    return Wave.objects.get(county_id=county_id, code=code)


def set_status(wave: Wave, status: str) -> None:
    """What an admin does in the Django admin."""
    wave.status = status
    wave.save()


def unanswered_case(wave: Wave, town: str = "yushan") -> Case:
    """A current case of WAVE in TOWN without any response (so that its roster may still change)."""
    case = (
        Case.objects.filter(wave=wave, town__code=town, draw__is_current=True, responses__isnull=True)
        .select_related("wave").order_by("code").first()
    )
    assert case is not None
    return case


def science_response(wave: Wave, town: str = "yushan") -> Response:
    found = (
        Response.objects.filter(wave=wave, case__town__code=town, instrument_version__instrument__code="science_literacy")
        .select_related("wave").order_by("pk").first()
    )
    assert found is not None
    return found


def closed_wave_invitations(county_id: int) -> int:
    return Invitation.objects.filter(wave__county_id=county_id, wave__status=Wave.Status.CLOSED).count()


def test_the_demo_has_the_closed_and_open_waves_these_tests_rely_on(county_id: int) -> None:
    assert wave_of(county_id, "2025").status == Wave.Status.FIELDWORK
    assert {wave_of(county_id, code).status for code in ("2022", "2023", "2024")} == {Wave.Status.CLOSED}


# --- invitations ----------------------------------------------------------------------------


def test_an_invitation_of_a_closed_wave_answers_410_and_stores_nothing_until_the_wave_is_reopened(county_id: int) -> None:
    wave = wave_of(county_id, "2025")
    case = unanswered_case(wave)
    token = invitation_create(case=case)  # handed out during fieldwork
    set_status(wave, Wave.Status.CLOSED)
    stored = Response.objects.count()
    client = APIClient()
    client.raise_request_exception = False
    sheet = {"client_id": str(uuid.uuid4()), "instrument": "demographics", "answers": DEMOGRAPHICS_ADULT}

    plan = client.get(f"/api/v1/invitations/{token}/")
    assert (plan.status_code, plan.json()["code"]) == (410, "invitation_closed")
    submitted = client.post(f"/api/v1/invitations/{token}/responses/", sheet, format="json")
    assert (submitted.status_code, submitted.json()["code"]) == (410, "invitation_closed")
    page = Client().get(f"/r/{token}/")
    assert page.status_code == 410
    assert "本次调查已经结束" in main_text(page.content.decode())
    form = Client().post(f"/r/{token}/demographics/", as_post(DEMOGRAPHICS_ADULT, str(uuid.uuid4())))
    assert form.status_code == 410
    assert Response.objects.count() == stored

    set_status(wave, Wave.Status.FIELDWORK)  # an admin reopens it to correct the data
    assert client.get(f"/api/v1/invitations/{token}/").status_code == 200
    assert Client().get(f"/r/{token}/").status_code == 200
    again = client.post(f"/api/v1/invitations/{token}/responses/", sheet, format="json")
    assert again.status_code == 201, again.content
    assert Response.objects.filter(case=case).count() == 1


# --- review, rosters, visits, assignment (API) -----------------------------------------------


def test_reviewing_a_response_of_a_closed_wave_is_409_and_records_nothing(county_id: int) -> None:
    closed = science_response(wave_of(county_id, "2024"))
    client = api("supervisor_yushan")
    decision = {"decision": "approved", "reason": "核对录音"}

    refused = client.post(f"/api/v1/responses/{closed.pk}/review/", decision, format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "wave_closed" and "2024" in refused.json()["detail"]
    assert not ReviewDecision.objects.filter(response=closed).exists()
    assert not AuditEvent.objects.filter(action="response.review", object_id=str(closed.pk)).exists()
    closed.refresh_from_db()
    assert closed.review == Response.Review.NONE

    fielded = science_response(wave_of(county_id, "2025"))
    done = client.post(f"/api/v1/responses/{fielded.pk}/review/", decision, format="json")
    assert done.status_code == 200 and done.json()["decided"] == [fielded.pk]
    assert ReviewDecision.objects.filter(response=fielded).count() == 1



def test_reviewing_on_the_staff_page_a_response_of_a_closed_wave_shows_why_and_records_nothing(county_id: int) -> None:
    closed = science_response(wave_of(county_id, "2024"))
    Response.objects.filter(pk=closed.pk).update(review=Response.Review.FLAGGED)
    page = pages("supervisor_yushan").post(
        "/staff/review/?wave=2024", {"response": str(closed.pk), "decision": "approved", "reason": "核对录音"},
    )
    assert page.status_code == 400  # the page again, with the refusal next to the response
    assert CLOSED_MESSAGE in text_of(page.content.decode())
    assert not ReviewDecision.objects.filter(response=closed).exists()
    closed.refresh_from_db()
    assert closed.review == Response.Review.FLAGGED

def test_a_roster_of_a_closed_wave_case_is_409_and_nothing_is_stored(county_id: int) -> None:
    client = api("enumerator_yushan")
    roster = {"members": [{"sex": "female", "age": 40, "name": "张秀英"}, {"sex": "male", "age": 42}]}
    closed = unanswered_case(wave_of(county_id, "2024"))
    before = (list(closed.members.values_list("pk", flat=True)), closed.prob_person, closed.disposition)

    refused = client.post(f"/api/v1/cases/{closed.code}/roster/", roster, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "wave_closed"
    closed.refresh_from_db()
    assert (list(closed.members.values_list("pk", flat=True)), closed.prob_person, closed.disposition) == before

    fielded = unanswered_case(wave_of(county_id, "2025"))
    recorded = client.post(f"/api/v1/cases/{fielded.code}/roster/", roster, format="json")
    assert recorded.status_code == 200, recorded.content
    assert HouseholdMember.objects.filter(case=fielded).count() == 2


def test_a_queued_visit_to_a_closed_wave_case_comes_back_refused_and_the_others_are_stored(county_id: int) -> None:
    closed = unanswered_case(wave_of(county_id, "2024"))
    fielded = unanswered_case(wave_of(county_id, "2025"))
    disposition = closed.disposition
    ids = {c.code: str(uuid.uuid4()) for c in (closed, fielded)}
    visits = [
        {"client_id": ids[c.code], "case": c.code, "visited_at": "2025-10-01T10:00:00+08:00", "outcome": "non_contact"}
        for c in (closed, fielded)
    ]

    answer = api("enumerator_yushan").post("/api/v1/visits/sync/", {"visits": visits}, format="json")
    assert answer.status_code == 200
    results = {r["client_id"]: r for r in answer.json()["results"]}
    assert results[ids[closed.code]]["status"] == "refused"
    assert CLOSED_MESSAGE in results[ids[closed.code]]["error"] and "2024" in results[ids[closed.code]]["error"]
    assert results[ids[fielded.code]]["status"] == "stored"
    assert not Visit.objects.filter(client_id=ids[closed.code]).exists()
    assert Visit.objects.filter(client_id=ids[fielded.code]).exists()
    closed.refresh_from_db()
    assert closed.disposition == disposition


def test_assigning_cases_of_a_closed_wave_is_409_and_no_assignment_is_made(county_id: int) -> None:
    client = api("admin")
    closed = Case.objects.filter(wave=wave_of(county_id, "2024"), town__code="yushan").order_by("code")[:2]
    codes = [c.code for c in closed]
    holders = {c.code: c.assigned_to_id for c in closed}
    assignments = Assignment.objects.filter(case__code__in=codes).count()

    refused = client.post("/api/v1/cases/assign/", {"enumerator": "enumerator_jinshui", "cases": codes}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "wave_closed"
    assert Assignment.objects.filter(case__code__in=codes).count() == assignments
    assert dict(Case.objects.filter(code__in=codes).values_list("code", "assigned_to_id")) == holders

    fielded = Case.objects.filter(wave=wave_of(county_id, "2025"), town__code="yushan").order_by("code").first()
    moved = client.post("/api/v1/cases/assign/", {"enumerator": "enumerator_jinshui", "cases": [fielded.code]}, format="json")
    assert moved.status_code == 200 and moved.json()["assigned"] == 1


# --- staff pages and the field bundle ----------------------------------------------------------


def test_the_assign_page_says_a_closed_wave_is_final_and_assigns_nothing(county_id: int) -> None:
    case = Case.objects.filter(wave=wave_of(county_id, "2024"), town__code="yushan").order_by("code").first()
    holder = case.assigned_to_id
    assignments = Assignment.objects.filter(case=case).count()
    other = user("enumerator_jinshui")

    response = pages("admin").post("/staff/cases/assign/", {"case": [case.code], "enumerator": str(other.pk)})
    assert response.status_code == 302
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(shown) == 1 and CLOSED_MESSAGE in shown[0] and "2024" in shown[0]
    case.refresh_from_db()
    assert case.assigned_to_id == holder
    assert Assignment.objects.filter(case=case).count() == assignments


def test_the_field_bundle_leaves_out_closed_waves_cases_and_issues_them_no_invitation(county_id: int) -> None:
    enumerator = get_user_model().objects.create_user("closed_wave_enumerator")
    profile = StaffProfile.objects.create(user=enumerator, role=Role.ENUMERATOR, county_id=county_id)
    profile.towns.set(Town.objects.filter(county_id=county_id, code="yushan"))
    fielded = list(
        Case.objects.filter(wave=wave_of(county_id, "2025"), town__code="yushan", draw__is_current=True)
        .order_by("code").values_list("pk", flat=True)[:2]
    )
    closed_waves = Wave.objects.filter(county_id=county_id, status=Wave.Status.CLOSED)
    assert closed_waves.count() >= 3
    closed = [
        Case.objects.filter(wave=w, town__code="yushan", draw__is_current=True).order_by("code").values_list("pk", flat=True).first()
        for w in closed_waves
    ]
    Case.objects.filter(pk__in=[*fielded, *closed]).update(assigned_to=enumerator)
    issued = closed_wave_invitations(county_id)
    client = Client(raise_request_exception=False)
    client.force_login(enumerator)

    bundle = client.post("/field/api/bundle/")
    assert bundle.status_code == 200, bundle.content
    codes = [c["code"] for c in bundle.json()["cases"]]
    assert codes == sorted(Case.objects.filter(pk__in=fielded).values_list("code", flat=True))
    assert bundle.json()["more"] == 0
    assert closed_wave_invitations(county_id) == issued
    assert Invitation.objects.filter(case_id__in=fielded, revoked=False).count() == 2


def test_the_invitation_sheet_of_a_closed_wave_psu_redirects_with_a_message_and_issues_nothing(county_id: int) -> None:
    client = pages("supervisor_yushan")
    closed = Case.objects.filter(wave=wave_of(county_id, "2024"), town__code="yushan", draw__is_current=True).order_by("code").first()
    issued = closed_wave_invitations(county_id)

    response = client.get(f"/staff/psus/{closed.sampled_unit_id}/invitations.pdf")
    assert response.status_code == 302
    assert response["Location"] == "/staff/cases/?wave=2024"
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(shown) == 1 and CLOSED_MESSAGE in shown[0]
    assert closed_wave_invitations(county_id) == issued
    assert not Invitation.objects.filter(case__sampled_unit_id=closed.sampled_unit_id).exists()

    fielded = Case.objects.filter(wave=wave_of(county_id, "2025"), town__code="yushan", draw__is_current=True).order_by("code").first()
    sheet = client.get(f"/staff/psus/{fielded.sampled_unit_id}/invitations.pdf")
    assert sheet.status_code == 200 and sheet["Content-Type"] == "application/pdf"


# --- what stays allowed: rescoring and weighting ------------------------------------------------


def official_key(wave: Wave, instrument: str = "science_literacy") -> Any:
    fielded = WaveInstrument.objects.select_related("scoring_key").get(wave=wave, instrument_version__instrument__code=instrument)
    assert fielded.scoring_key is not None
    return fielded.scoring_key


def test_rescoring_and_weighting_a_closed_wave_stay_allowed(county_id: int) -> None:
    wave = wave_of(county_id, "2024")
    key = official_key(wave)
    response = science_response(wave)
    ResponseScore.objects.filter(response=response, key=key).delete()  # e.g. a key's scores recomputed
    client = api("admin")

    rescored = client.post(f"/api/v1/scoring-keys/{key.pk}/rescore/", {"wave": "2024"}, format="json")
    assert rescored.status_code == 200, rescored.content
    assert rescored.json()["scored"] == 1
    assert ResponseScore.objects.filter(response=response, key=key).exists()

    weighted = client.post("/api/v1/weight-sets/", {"wave": "2024", "instrument": "science_literacy"}, format="json")
    assert weighted.status_code in (200, 201), weighted.content


# --- rescoring is limited to the admin's county ---------------------------------------------------


def case_in_another_county() -> Case:
    """A sampled household of a fielded wave of a second county (nothing else)."""
    county = County.objects.create(code="990166", name_zh="邻县", name_en="Next County")
    town = Town.objects.create(county=county, code="linzhen", name_zh="邻镇", name_en="Linzhen", kind=Town.Kind.TOWN)
    wave = Wave.objects.create(
        county=county, code="2025", year=2025, name_zh="邻县调查", name_en="Next survey", status=Wave.Status.FIELDWORK,
        fieldwork_start=date(2025, 9, 1),
    )
    frame = Frame.objects.create(county=county, name="邻县抽样框", kind=Frame.Kind.AREA, reference_year=2020)
    unit = FrameUnit.objects.create(frame=frame, code="990166-v01", name="邻村", town=town, urban_rural="rural", measure_of_size=500.0, households=100)
    design = SampleDesign.objects.create(
        wave=wave, frame=frame, name="邻县设计", allocation=SampleDesign.Allocation.EQUAL, psu_total=1, households_per_psu=1,
    )
    draw = SampleDraw.objects.create(design=design, seed=1)
    stratum = Stratum.objects.create(design=design, code=town.code, town=town, frame_units=1, frame_size=500.0, psu_allocated=1)
    sampled = SampledUnit.objects.create(draw=draw, unit=unit, stratum=stratum, probability=0.5, selection_order=0)
    household = Household.objects.create(unit=unit, code="001", size=2)
    return Case.objects.create(
        draw=draw, sampled_unit=sampled, household=household, wave=wave, town=town, code="next-2025-0001",
        prob_psu=0.5, prob_household=0.01, prob_person=0.5,
    )


def test_rescoring_without_a_wave_scores_only_the_admins_county(county_id: int) -> None:
    own = science_response(wave_of(county_id, "2025"))
    key = official_key(own.wave)
    ResponseScore.objects.filter(response=own, key=key).delete()
    case = case_in_another_county()
    theirs = Response.objects.create(
        client_id=uuid.uuid4(), wave=case.wave, instrument_version=own.instrument_version, case=case,
        answers=own.answers, payload_hash="0" * 64,
    )

    rescored = api("admin").post(f"/api/v1/scoring-keys/{key.pk}/rescore/", {}, format="json")
    assert rescored.status_code == 200, rescored.content
    assert rescored.json()["scored"] == 1
    assert ResponseScore.objects.filter(response=own, key=key).exists()
    assert not ResponseScore.objects.filter(response=theirs).exists()
    event = AuditEvent.objects.filter(action="responses.rescore", object_id=str(key.pk)).latest("pk")
    assert event.county_id == county_id


# --- duplicate_answers flags name only the reviewer's towns' cases ----------------------------------


def flagged_with_a_duplicate_elsewhere(county_id: int) -> tuple[Response, str, str]:
    """A 2025 response of yushan flagged as identical to a yushan case and a case of another town."""
    wave = wave_of(county_id, "2025")
    response = science_response(wave)
    own = Case.objects.filter(wave=wave, town__code="yushan").exclude(pk=response.case_id).order_by("code").first()
    other = Case.objects.filter(wave=wave).exclude(town__code="yushan").order_by("code").first()
    Response.objects.filter(pk=response.pk).update(
        review=Response.Review.FLAGGED, flags=[{"code": "duplicate_answers", "cases": [own.code, other.code]}],
    )
    return response, own.code, other.code


def flags_listed(client: APIClient, response: Response) -> list[dict[str, Any]]:
    listed = client.get("/api/v1/responses/", {"review": "flagged", "wave": "2025", "page_size": 500})
    assert listed.status_code == 200
    return next(r["flags"] for r in listed.json()["results"] if r["id"] == response.pk)


def test_a_town_supervisor_sees_only_their_towns_case_codes_in_a_duplicate_answers_flag(county_id: int) -> None:
    response, own, other = flagged_with_a_duplicate_elsewhere(county_id)
    assert flags_listed(api("supervisor_yushan"), response) == [{"code": "duplicate_answers", "cases": [own], "elsewhere": 1}]
    admin_flags = flags_listed(api("admin"), response)
    assert admin_flags[0]["cases"] == [own, other]


def test_the_review_page_of_a_town_supervisor_does_not_name_another_towns_case(county_id: int) -> None:
    response, own, other = flagged_with_a_duplicate_elsewhere(county_id)
    page = pages("supervisor_yushan").get("/staff/review/", {"wave": "2025"})
    assert page.status_code == 200
    html = page.content.decode()
    assert own in html and "其他乡镇 1 户" in text_of(html)
    assert other not in html
    admin_page = pages("admin").get("/staff/review/", {"wave": "2025"})
    assert admin_page.status_code == 200 and other in admin_page.content.decode()
