"""The fieldwork API (assessment/apis.py at /api/v1/): every endpoint for the roles and towns it
allows and those it refuses."""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from assessment.models import Assignment, Case, Frame, FrameUnit, Household, HouseholdMember, SampleDesign, Visit
from assessment.services import cases_assign, sample_design_create
from questionnaires.models import Response, ReviewDecision
from questionnaires.services import payload_hash
from tests.assessment.fieldwork_setup import FieldCounty, drawn_county, field_county
from tests.frontend.survey_setup import DEMOGRAPHICS_ADULT, publish_banks

pytestmark = pytest.mark.django_db
FRAME_CSV = "code,name,town,urban_rural,measure_of_size\nn01,新村,ta,rural,500\nn02,新社区,tb,urban,900\n"


@pytest.fixture
def fc(db: None) -> FieldCounty:
    return drawn_county(seed=77)


def api(fc: FieldCounty, role: str | None) -> APIClient:
    client = APIClient()
    if role is not None:
        client.force_login(fc.users[role])
    return client


def codes_in(town: str) -> set[str]:
    return set(Case.objects.filter(town__code=town).values_list("code", flat=True))


# --- frames -------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("supervisor_a", 200), ("enumerator_a", 403), ("official", 403), ("no_profile", 403), (None, 401)])
def test_frame_list_is_for_admins_and_supervisors(fc: FieldCounty, role: str | None, status: int) -> None:
    response = api(fc, role).get("/api/v1/frames/")
    assert response.status_code == status
    if status == 200:
        assert [(f["name"], f["units"], f["households"]) for f in response.json()["results"]] == [("测试抽样框", 11, 59)]


def upload(name: str = "frame.csv", text: str = FRAME_CSV) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_admin_uploads_a_frame(fc: FieldCounty) -> None:
    response = api(fc, "admin").post("/api/v1/frames/", {"name": "新框", "kind": "area", "reference_year": 2025, "file": upload()}, format="multipart")
    assert response.status_code == 201 and response.json()["units"] == 2
    assert Frame.objects.get(pk=response.json()["id"]).imported_by == fc.users["admin"]


def test_a_bad_frame_upload_answers_every_problem_with_row_and_column(fc: FieldCounty) -> None:
    bad = FRAME_CSV.replace("ta,rural,500", "丙镇,rural,-1")
    response = api(fc, "admin").post("/api/v1/frames/", {"name": "坏框", "kind": "area", "reference_year": 2025, "file": upload(text=bad)}, format="multipart")
    assert response.status_code == 400
    assert [(p["row"], p["column"]) for p in response.json()["problems"]] == [(2, "town"), (2, "measure_of_size")]
    assert not Frame.objects.filter(name="坏框").exists()


@pytest.mark.parametrize("role", ["supervisor_a", "enumerator_a", "official"])
def test_only_admins_upload_frames(fc: FieldCounty, role: str) -> None:
    response = api(fc, role).post("/api/v1/frames/", {"name": "x", "kind": "area", "reference_year": 2025, "file": upload()}, format="multipart")
    assert response.status_code == 403
    assert not Frame.objects.filter(name="x").exists()


def test_listing_upload_is_for_the_countys_admins(fc: FieldCounty) -> None:
    frame = Frame.objects.create(county=fc.county, name="空框", kind="area", reference_year=2025)
    FrameUnit.objects.create(frame=frame, code="n01", name="新村", town=fc.towns["ta"], urban_rural="rural", measure_of_size=10)
    listing = upload("listing.csv", "unit,code\nn01,001\nn01,002\n")
    assert api(fc, "supervisor_a").post(f"/api/v1/frames/{frame.pk}/households/", {"file": listing}, format="multipart").status_code == 403
    response = api(fc, "admin").post(f"/api/v1/frames/{frame.pk}/households/", {"file": upload("listing.csv", "unit,code\nn01,001\nn01,002\n")}, format="multipart")
    assert response.status_code == 201 and response.json() == {"households": 2, "cases": 0}
    other = field_county("370122")
    response = api(other, "admin").post(f"/api/v1/frames/{frame.pk}/households/", {"file": upload("l.csv", "unit,code\nn01,003\n")}, format="multipart")
    assert response.status_code == 404
    assert Household.objects.filter(unit__frame=frame).count() == 2


# --- designs and draws ------------------------------------------------------------------------


DESIGN = {"name": "新设计", "frame": None, "allocation": "proportional", "psu_total": 4, "households_per_psu": 2}


def test_admin_creates_a_design_and_supervisors_read_it(fc: FieldCounty) -> None:
    body = {**DESIGN, "frame": fc.frame.pk}
    response = api(fc, "admin").post(f"/api/v1/waves/{fc.wave.code}/designs/", body, format="json")
    assert response.status_code == 201
    assert {s["code"]: s["psu_allocated"] for s in response.json()["strata"]} == {"ta": 2, "tb": 2}
    listed = api(fc, "supervisor_b").get(f"/api/v1/waves/{fc.wave.code}/designs/")
    assert listed.status_code == 200 and [d["name"] for d in listed.json()["results"]] == ["两阶段 PPS", "新设计"]


@pytest.mark.parametrize("role", ["supervisor_a", "enumerator_a", "official"])
def test_only_admins_create_designs(fc: FieldCounty, role: str) -> None:
    response = api(fc, role).post(f"/api/v1/waves/{fc.wave.code}/designs/", {**DESIGN, "frame": fc.frame.pk}, format="json")
    assert response.status_code == 403
    assert not SampleDesign.objects.filter(name="新设计").exists()


def test_design_errors_and_other_countys_waves(fc: FieldCounty) -> None:
    admin = api(fc, "admin")
    response = admin.post(f"/api/v1/waves/{fc.wave.code}/designs/", {**DESIGN, "frame": fc.frame.pk, "psu_total": 50}, format="json")
    assert response.status_code == 400 and "at most 11" in response.json()["detail"]
    assert admin.get("/api/v1/waves/nope/designs/").status_code == 404
    other = field_county("370123")
    mirrored = api(other, "admin").get(f"/api/v1/waves/{fc.wave.code}/designs/")  # the same code names its own county's wave
    assert mirrored.status_code == 200 and mirrored.json()["results"] == []
    assert api(fc, "enumerator_a").get(f"/api/v1/waves/{fc.wave.code}/designs/").status_code == 403


def test_admin_draws_with_a_seed_and_the_same_seed_gives_the_same_cases(fc: FieldCounty) -> None:
    design = sample_design_create(wave=fc.wave, frame=fc.frame, name="e", allocation="equal", psu_total=4, households_per_psu=2)
    admin = api(fc, "admin")
    first = admin.post(f"/api/v1/designs/{design.pk}/draws/", {"seed": 123}, format="json")
    assert first.status_code == 201 and (first.json()["seed"], first.json()["psus"], first.json()["cases"]) == (123, 4, 8)
    households = sorted(Case.objects.filter(draw_id=first.json()["id"]).values_list("household__code", "sampled_unit__unit__code"))
    second = admin.post(f"/api/v1/designs/{design.pk}/draws/", {"seed": 123}, format="json")
    assert sorted(Case.objects.filter(draw_id=second.json()["id"]).values_list("household__code", "sampled_unit__unit__code")) == households
    assert api(fc, "supervisor_a").get(f"/api/v1/draws/{second.json()['id']}/").json()["is_current"] is True
    assert api(fc, "enumerator_a").get(f"/api/v1/draws/{second.json()['id']}/").status_code == 403
    assert api(fc, "supervisor_a").post(f"/api/v1/designs/{design.pk}/draws/", {"seed": 1}, format="json").status_code == 403


def test_redraw_after_fieldwork_is_refused(fc: FieldCounty) -> None:
    design = SampleDesign.objects.get(name="两阶段 PPS")
    case = Case.objects.filter(town__code="ta").first()
    Visit.objects.create(client_id=uuid.uuid4(), case=case, enumerator=fc.users["enumerator_a"], visited_at=timezone.now(), outcome="refusal")
    response = api(fc, "admin").post(f"/api/v1/designs/{design.pk}/draws/", {"seed": 5}, format="json")
    assert response.status_code == 400


# --- cases --------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "towns"), [("admin", ("ta", "tb")), ("supervisor_a", ("ta",)), ("supervisor_b", ("tb",)), ("enumerator_a", ("ta",))])
def test_case_list_is_filtered_by_scope(fc: FieldCounty, role: str, towns: tuple[str, ...]) -> None:
    response = api(fc, role).get("/api/v1/cases/", {"wave": fc.wave.code})
    assert response.status_code == 200
    expected = set().union(*(codes_in(t) for t in towns))
    assert {c["code"] for c in response.json()["results"]} == expected
    assert response.json()["count"] == len(expected)


def test_enumerator_sees_only_their_own_cases(fc: FieldCounty) -> None:
    mine = list(Case.objects.filter(town__code="ta").order_by("code"))[:2]
    cases_assign(cases=mine, enumerator=fc.users["enumerator_a2"], user=fc.users["admin"])
    response = api(fc, "enumerator_a2").get("/api/v1/cases/")
    assert {c["code"] for c in response.json()["results"]} == {c.code for c in mine}


@pytest.mark.parametrize("role", ["official", "no_profile", None])
def test_case_list_is_refused_to_others(fc: FieldCounty, role: str | None) -> None:
    # Anonymous callers are asked to authenticate (401, WWW-Authenticate: Token); staff without the right get 403.
    assert api(fc, role).get("/api/v1/cases/").status_code == (401 if role is None else 403)


def test_case_list_filters_and_keeps_a_fixed_number_of_queries(fc: FieldCounty) -> None:
    client = api(fc, "admin")
    assert {c["town"] for c in client.get("/api/v1/cases/", {"town": "tb"}).json()["results"]} == {"tb"}
    row = client.get("/api/v1/cases/", {"disposition": "pending"}).json()["results"][0]
    assert row["pi"] is None and row["prob_psu"] > 0 and row["assigned_to"]
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/cases/", {"wave": fc.wave.code})
    Case.objects.filter(town__code="ta").update(disposition="refusal")
    with CaptureQueriesContext(connection) as same:
        client.get("/api/v1/cases/", {"wave": fc.wave.code, "disposition": "refusal"})
    assert len(few.captured_queries) == len(same.captured_queries) <= 12


def test_supervisor_assigns_their_towns_psu_and_no_other(fc: FieldCounty) -> None:
    client = api(fc, "supervisor_a")
    psu_a = Case.objects.filter(town__code="ta").first().sampled_unit_id
    psu_b = Case.objects.filter(town__code="tb").first().sampled_unit_id
    response = client.post("/api/v1/cases/assign/", {"psu": psu_a, "enumerator": fc.users["enumerator_a2"].username}, format="json")
    assert response.status_code == 200 and response.json() == {"assigned": 3, "cases": 3}
    assert Assignment.objects.filter(case__sampled_unit_id=psu_a, ended_at__isnull=True, enumerator=fc.users["enumerator_a2"]).count() == 3
    assert client.post("/api/v1/cases/assign/", {"psu": psu_b, "enumerator": fc.users["enumerator_a"].username}, format="json").status_code == 404
    refused = client.post("/api/v1/cases/assign/", {"psu": psu_a, "enumerator": fc.users["enumerator_b"].username}, format="json")
    assert refused.status_code == 400
    codes = list(codes_in("tb"))[:1]
    assert client.post("/api/v1/cases/assign/", {"cases": codes, "enumerator": fc.users["enumerator_a"].username}, format="json").status_code == 404
    assert api(fc, "enumerator_a").post("/api/v1/cases/assign/", {"psu": psu_a, "enumerator": fc.users["enumerator_a"].username}, format="json").status_code == 403
    assert set(Case.objects.filter(town__code="tb").values_list("assigned_to", flat=True)) == {fc.users["enumerator_b"].pk}


ROSTER = {"members": [{"sex": "male", "age": 45}, {"sex": "female", "age": 43, "name": "母亲"}, {"sex": "male", "age": 9}]}


def test_enumerator_records_the_roster_of_their_own_case_only(fc: FieldCounty) -> None:
    mine = Case.objects.filter(town__code="ta").first()
    theirs = Case.objects.filter(town__code="tb").first()
    response = api(fc, "enumerator_a").post(f"/api/v1/cases/{mine.code}/roster/", ROSTER, format="json")
    assert response.status_code == 200
    assert response.json()["eligible"] == 2 and response.json()["prob_person"] == 0.5 and response.json()["selected_line"] in (1, 2)
    assert api(fc, "enumerator_a").post(f"/api/v1/cases/{theirs.code}/roster/", ROSTER, format="json").status_code == 404
    assert api(fc, "supervisor_a").post(f"/api/v1/cases/{theirs.code}/roster/", ROSTER, format="json").status_code == 404
    assert api(fc, "supervisor_b").post(f"/api/v1/cases/{theirs.code}/roster/", ROSTER, format="json").status_code == 200
    bad = api(fc, "enumerator_a").post(f"/api/v1/cases/{mine.code}/roster/", {"members": [{"sex": "x", "age": 200}]}, format="json")
    assert bad.status_code == 400


def test_roster_errors_name_the_member_and_the_field(fc: FieldCounty) -> None:
    mine = Case.objects.filter(assigned_to=fc.users["enumerator_a"]).order_by("code").first()
    members = [{"sex": "male", "age": 45}, {"sex": "female", "age": 43}, {"sex": "x", "age": 200}]
    bad = api(fc, "enumerator_a").post(f"/api/v1/cases/{mine.code}/roster/", {"members": members}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["members"]) == {"3"} and set(bad.json()["members"]["3"]) == {"sex", "age"}
    assert not HouseholdMember.objects.filter(case=mine).exists()


# --- visits -------------------------------------------------------------------------------


def visit(case: Case, outcome: str = "non_contact", client_id: str | None = None, hours: float = 2) -> dict[str, Any]:
    return {
        "client_id": client_id or str(uuid.uuid4()), "case": case.code, "outcome": outcome,
        "visited_at": (timezone.now() - timedelta(hours=hours)).replace(microsecond=0).isoformat(),
    }


def test_visit_sync_is_idempotent_and_scoped(fc: FieldCounty) -> None:
    mine = Case.objects.filter(town__code="ta").first()
    theirs = Case.objects.filter(town__code="tb").first()
    batch = [visit(mine), visit(theirs), {"client_id": "not-a-uuid", "case": mine.code}]
    client = api(fc, "enumerator_a")
    first = client.post("/api/v1/visits/sync/", {"visits": batch}, format="json")
    assert first.status_code == 200
    assert sorted(r["status"] for r in first.json()["results"]) == ["refused", "refused", "stored"]
    again = client.post("/api/v1/visits/sync/", {"visits": batch[:1]}, format="json")
    assert [r["status"] for r in again.json()["results"]] == ["already_stored"]
    assert Visit.objects.filter(case=mine).count() == 1 and not Visit.objects.filter(case=theirs).exists()
    mine.refresh_from_db()
    assert mine.disposition == "non_contact"


@pytest.mark.parametrize("role", ["official", "no_profile", None])
def test_visit_sync_is_refused_to_others(fc: FieldCounty, role: str | None) -> None:
    case = Case.objects.filter(town__code="ta").first()
    assert api(fc, role).post("/api/v1/visits/sync/", {"visits": [visit(case)]}, format="json").status_code == (401 if role is None else 403)
    assert not Visit.objects.exists()


def test_visit_sync_needs_a_list(fc: FieldCounty) -> None:
    assert api(fc, "enumerator_a").post("/api/v1/visits/sync/", {"visits": []}, format="json").status_code == 400


# --- rates --------------------------------------------------------------------------------


def test_rates_cover_the_cases_each_role_may_see(fc: FieldCounty) -> None:
    Case.objects.filter(town__code="ta").update(disposition="complete")
    Case.objects.filter(town__code="tb").update(disposition="refusal")
    admin = api(fc, "admin").get("/api/v1/rates/", {"wave": fc.wave.code, "by": "town"}).json()
    assert admin["overall"]["counts"]["I"] == 6 and admin["overall"]["RR1"] == 0.5
    assert {g["label"]: g["RR1"] for g in admin["groups"]} == {"甲镇": 1.0, "乙镇": 0.0}
    supervisor = api(fc, "supervisor_b").get("/api/v1/rates/", {"wave": fc.wave.code}).json()
    assert [g["label"] for g in supervisor["groups"]] == ["乙镇"] and supervisor["overall"]["REF1"] == 1.0
    enumerator = api(fc, "enumerator_a").get("/api/v1/rates/", {"wave": fc.wave.code, "by": "enumerator"}).json()
    assert [g["label"] for g in enumerator["groups"]] == [fc.users["enumerator_a"].username]
    assert api(fc, "admin").get("/api/v1/rates/", {"wave": fc.wave.code, "by": "psu"}).json()["groups"].__len__() == 4


def test_rates_refuse_officials_and_bad_requests(fc: FieldCounty) -> None:
    assert api(fc, "official").get("/api/v1/rates/", {"wave": fc.wave.code}).status_code == 403
    assert api(fc, "admin").get("/api/v1/rates/").status_code == 400
    assert api(fc, "admin").get("/api/v1/rates/", {"wave": fc.wave.code, "by": "village"}).status_code == 400
    assert api(fc, "admin").get("/api/v1/rates/", {"wave": "1999"}).status_code == 404


# --- review -------------------------------------------------------------------------------


@pytest.fixture
def answered(fc: FieldCounty) -> dict[str, Response]:
    version = publish_banks(("demographics",))["demographics"]
    out = {}
    for town in ("ta", "tb"):
        case = Case.objects.filter(town__code=town).first()
        out[town] = Response.objects.create(
            client_id=uuid.uuid4(), wave=fc.wave, instrument_version=version, case=case, answers=DEMOGRAPHICS_ADULT,
            payload_hash=payload_hash(version, DEMOGRAPHICS_ADULT), review=Response.Review.FLAGGED,
        )
    return out


def test_the_towns_supervisor_reviews_and_others_cannot(fc: FieldCounty, answered: dict[str, Response]) -> None:
    target = answered["ta"]
    url = f"/api/v1/responses/{target.pk}/review/"
    for role in ("supervisor_b", "enumerator_a", "official"):
        assert api(fc, role).post(url, {"decision": "rejected", "reason": "x"}, format="json").status_code == 404
    assert api(fc, "supervisor_a").post(url, {"decision": "maybe", "reason": "x"}, format="json").status_code == 400
    assert api(fc, "supervisor_a").post(url, {"decision": "rejected"}, format="json").status_code == 400
    response = api(fc, "supervisor_a").post(url, {"decision": "rejected", "reason": "户内无人"}, format="json")
    assert response.status_code == 200 and response.json()["decided"] == [target.pk] and response.json()["weights_stale"] == []
    target.refresh_from_db()
    assert target.review == "rejected"
    assert ReviewDecision.objects.get(response=target).reviewer == fc.users["supervisor_a"]
    assert api(fc, "admin").post(f"/api/v1/responses/{answered['tb'].pk}/review/", {"decision": "approved", "reason": "核实无误"}, format="json").status_code == 200
