"""Consequential actions taken through the API leave an AuditEvent naming who did what.

Publishing an instrument or a key, running the weighting, changing a case's disposition,
approving or rejecting a response, and downloading a report or a report archive.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from assessment.models import AuditEvent, Case, Role, StaffProfile
from questionnaires.models import PublishState, Response
from questionnaires.services import key_import
from tests.api.api_world import World, world_build
from tests.assessment.fieldwork_setup import drawn_county
from tests.questionnaires.builders import county_wave, mini_import
from tests.questionnaires.xlsform_tables import to_markdown


def client_of(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def admin_of_new_county() -> Any:
    wave = county_wave()
    user = get_user_model().objects.create_user("audit_admin")
    StaffProfile.objects.create(user=user, role=Role.ADMIN, county=wave.county)
    return user


def only_event(action: str, **fields: Any) -> AuditEvent:
    events = list(AuditEvent.objects.filter(action=action, **fields))
    assert len(events) == 1, [str(e) for e in AuditEvent.objects.all()]
    return events[0]


def test_publishing_an_instrument_is_audited(db: None) -> None:
    admin = admin_of_new_county()
    version = mini_import(publish=False)
    response = client_of(admin).post(f"/api/v1/instrument-versions/{version.pk}/publish/")
    assert response.status_code == 200 and response.json()["status"] == "published"
    event = only_event("instrument.publish", object_id=str(version.pk))
    assert event.actor == admin and "mini_test" in event.summary
    # Publishing again changes nothing and records nothing.
    assert client_of(admin).post(f"/api/v1/instrument-versions/{version.pk}/publish/").status_code == 200
    # (filtered by object: other tests' committed fixtures may have left events of their own)
    assert AuditEvent.objects.filter(action="instrument.publish", object_id=str(version.pk)).count() == 1


def test_publishing_a_key_is_audited(db: None) -> None:
    admin = admin_of_new_county()
    version = mini_import()
    tables = {"settings": [["form_id", "instrument_version", "note"], ["mini_test", "1", "q2 rekeyed"]], "survey": [["name", "correct"], ["q2", "a"]]}
    key, created = key_import(version=version, data=to_markdown(tables), filename="key.md")
    assert created and key.status == PublishState.DRAFT
    response = client_of(admin).post(f"/api/v1/scoring-keys/{key.pk}/publish/")
    assert response.status_code == 200 and response.json()["status"] == "published"
    assert only_event("key.publish", object_id=str(key.pk)).actor == admin


@pytest.fixture
def fc(db: None) -> Any:
    return drawn_county()


def test_a_visit_that_changes_the_disposition_is_audited_once(fc: Any) -> None:
    case = Case.objects.filter(town__code="ta", assigned_to=fc.users["enumerator_a"]).order_by("code").first()
    client = client_of(fc.users["enumerator_a"])

    def visit(outcome: str, at: str) -> dict[str, Any]:
        return {"client_id": str(uuid.uuid4()), "case": case.code, "visited_at": at, "outcome": outcome}

    first = client.post("/api/v1/visits/sync/", {"visits": [visit("non_contact", "2026-09-02T10:00:00+08:00")]}, format="json")
    assert first.status_code == 200 and first.json()["results"][0]["status"] == "stored"
    event = only_event("case.disposition", object_id=str(case.pk))
    assert event.actor == fc.users["enumerator_a"]
    assert event.details["from"] == "pending" and event.details["to"] == "non_contact"
    # A second non-contact leaves the disposition as it is: nothing new to audit.
    client.post("/api/v1/visits/sync/", {"visits": [visit("non_contact", "2026-09-03T10:00:00+08:00")]}, format="json")
    of_case = AuditEvent.objects.filter(action="case.disposition", object_id=str(case.pk))
    assert of_case.count() == 1
    client.post("/api/v1/visits/sync/", {"visits": [visit("refusal", "2026-09-04T10:00:00+08:00")]}, format="json")
    assert [e.details["to"] for e in of_case.order_by("pk")] == ["non_contact", "refusal"]


# --- on the demo county -------------------------------------------------------------------------


@pytest.fixture
def world(demo_county: Any, db: None) -> Iterator[World]:
    yield world_build(demo_county.county_id)


def user(name: str) -> Any:
    return get_user_model().objects.get(username=name)


@pytest.mark.parametrize("decision", ["approved", "rejected"])
def test_approving_or_rejecting_a_response_is_audited(world: World, decision: str) -> None:
    target = Response.objects.filter(wave=world.wave, case__town=world.town_a, instrument_version__instrument__code="science_literacy", review="none").order_by("pk").first()
    supervisor = user("supervisor_yushan")
    response = client_of(supervisor).post(f"/api/v1/responses/{target.pk}/review/", {"decision": decision, "reason": "核对录音"}, format="json")
    assert response.status_code == 200 and response.json()["decided"] == [target.pk]
    event = only_event("response.review", object_id=str(target.pk))
    assert (event.actor, event.details["decision"], event.details["reason"]) == (supervisor, decision, "核对录音")
    listed = client_of(user("admin")).get("/api/v1/audit-events/", {"action": "response.review", "actor": "supervisor_yushan"}).json()
    assert [e["object_id"] for e in listed["results"]] == [str(target.pk)]


def test_running_the_weighting_is_audited_when_it_makes_a_new_set(world: World) -> None:
    admin = user("admin")
    client = client_of(admin)
    body = {"wave": world.wave.code, "instrument": "science_literacy"}
    before = AuditEvent.objects.filter(action="weights.compute").count()  # the demo's own runs
    unchanged = client.post("/api/v1/weight-sets/", body, format="json")
    assert unchanged.status_code == 200 and unchanged.json()["created"] is False
    assert AuditEvent.objects.filter(action="weights.compute").count() == before
    rejected = Response.objects.filter(wave=world.wave, instrument_version__instrument__code="science_literacy").order_by("pk")[3]
    Response.objects.filter(pk=rejected.pk).update(review=Response.Review.REJECTED)
    made = client.post("/api/v1/weight-sets/", body, format="json")
    assert made.status_code == 201 and made.json()["weight_set"]["version"] == world.own["weight_set"].version + 1
    event = only_event("weights.compute", object_id=str(made.json()["weight_set"]["id"]))
    assert event.actor == admin


def test_downloading_a_report_or_an_archive_is_audited(world: World) -> None:
    official = user("official_yushan")
    got = client_of(official).get(f"/api/v1/reports/{world.own['report'].pk}/download/")
    assert got.status_code == 200 and b"".join(got.streaming_content) == b"a,b\n1,2\n"
    event = only_event("report.download", object_id=str(world.own["report"].pk))
    assert event.actor == official and event.details["scope"] == world.town_a.code
    # A refused download is not a download.
    assert client_of(official).get(f"/api/v1/reports/{world.other['town_report'].pk}/download/").status_code == 403
    assert AuditEvent.objects.filter(action="report.download", actor=official).count() == 1
    admin = user("admin")
    assert client_of(admin).get(f"/api/v1/report-batches/{world.own['batch'].pk}/download/").status_code == 200
    assert only_event("report.batch_download", object_id=str(world.own["batch"].pk)).actor == admin


def test_downloading_from_the_officials_page_is_audited(world: World) -> None:
    official = user("official_yushan")
    client = Client()
    client.force_login(official)
    got = client.get(f"/reports/{world.wave.code}/town/{world.town_a.code}.csv")  # built for real
    assert got.status_code == 200 and b"".join(got.streaming_content)
    event = only_event("report.download", actor=official)
    assert event.details == {"wave": world.wave.code, "kind": "town", "scope": world.town_a.code, "format": "csv"}
    admin = Client()
    admin.force_login(user("admin"))
    assert admin.get(f"/reports/batches/{world.own['batch'].pk}/download/").status_code == 200
    assert only_event("report.batch_download", object_id=str(world.own["batch"].pk)).actor == user("admin")


def test_an_admin_reads_their_own_countys_events_and_the_shared_ones(world: World) -> None:
    """The log is kept per county: a neighbouring county's admin sees none of this county's events."""
    supervisor = user("supervisor_yushan")
    target = Response.objects.filter(wave=world.wave, case__town=world.town_a, review="none").order_by("pk").first()
    client_of(supervisor).post(f"/api/v1/responses/{target.pk}/review/", {"decision": "approved", "reason": "核对"}, format="json")
    event = only_event("response.review", object_id=str(target.pk))
    assert event.county_id == world.wave.county_id
    version = mini_import(publish=False)  # the question banks are shared by every county
    assert client_of(user("admin")).post(f"/api/v1/instrument-versions/{version.pk}/publish/").status_code == 200
    assert only_event("instrument.publish", object_id=str(version.pk)).county_id is None

    own = client_of(user("admin")).get("/api/v1/audit-events/", {"action": "response.review"}).json()
    assert [(e["object_id"], e["county"]) for e in own["results"]] == [(str(target.pk), world.wave.county.code)]
    neighbour = get_user_model().objects.create_user("neighbour_admin")
    StaffProfile.objects.create(user=neighbour, role=Role.ADMIN, county=world.other_wave.county)
    theirs = client_of(neighbour)
    assert theirs.get("/api/v1/audit-events/", {"action": "response.review"}).json()["count"] == 0
    assert theirs.get("/api/v1/audit-events/", {"object_type": "Response", "object_id": str(target.pk)}).json()["count"] == 0
    shared = theirs.get("/api/v1/audit-events/", {"action": "instrument.publish", "object_id": str(version.pk)}).json()
    assert [(e["object_id"], e["county"]) for e in shared["results"]] == [(str(version.pk), None)]
    counties = {e["county"] for e in theirs.get("/api/v1/audit-events/", {"page_size": 200}).json()["results"]}
    assert counties <= {world.other_wave.county.code, None}
