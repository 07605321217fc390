"""The demo county seen through the API: one client per role, objects of town A (own), of town B
and of a second county (other), for the scope matrix and the fuzzing.

Town A is the demo's first town (yushan), which has a town official, a supervisor and an
enumerator; town B is another of its towns.  The second county has a wave (code 2099), a
frame, a design, a draw, a weight set, a report and a batch, and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from api.tokens import api_token_issue
from assessment.models import (
    AuditEvent,
    Case,
    County,
    Frame,
    Role,
    SampleDesign,
    SampleDraw,
    StaffProfile,
    Town,
    Wave,
    WeightSet,
)
from questionnaires.invitations import invitation_create
from questionnaires.models import Instrument, InstrumentVersion, Response, ReviewDecision, ScoringKey
from reports.builders import data_fingerprint
from reports.models import JobStatus, Report, ReportBatch

TOWN_A = "yushan"
ROLES = ("admin", "supervisor_a", "enumerator_a", "official_county", "official_a", "anonymous", "token_client")
USERNAMES = {
    "admin": "admin",
    "supervisor_a": f"supervisor_{TOWN_A}",
    "enumerator_a": f"enumerator_{TOWN_A}",
    "official_county": "official",
    "official_a": f"official_{TOWN_A}",
}
# The token client is a script holding a token of town A's supervisor: it has that user's rights.
TOKEN_USER = "supervisor_a"


@dataclass
class World:
    wave: Wave
    town_a: Town
    town_b: Town
    other_wave: Wave
    own: dict[str, Any] = field(default_factory=dict)
    other: dict[str, Any] = field(default_factory=dict)
    token: str = ""

    def client(self, role: str) -> APIClient:
        client = APIClient()
        if role == "token_client":
            client.credentials(HTTP_AUTHORIZATION=f"Token {self.token}")
        elif role != "anonymous":
            client.force_login(get_user_model().objects.get(username=USERNAMES[role]))
        return client


def _report(wave: Wave, kind: str, town: Town | None = None) -> Report:
    report = Report(wave=wave, kind=kind, town=town, format="csv", status=JobStatus.DONE, provenance={"title": "t"})
    report.file.save(f"matrix-{wave.code}-{kind}-{town.code if town else ''}.csv", ContentFile(b"a,b\n1,2\n"), save=False)
    report.save()
    return report


def _batch(wave: Wave) -> ReportBatch:
    batch = ReportBatch(wave=wave, status=JobStatus.DONE, total=1, done=1, data_hash="matrix")
    batch.archive.save(f"matrix-{wave.code}.zip", ContentFile(b"PK\x05\x06" + b"\0" * 18), save=False)
    batch.save()
    return batch


def _other_county() -> tuple[Wave, dict[str, Any]]:
    county = County.objects.create(code="990199", name_zh="邻县", name_en="Next County")
    Town.objects.create(county=county, code="linzhen", name_zh="邻镇", name_en="Linzhen", kind=Town.Kind.TOWN)
    wave = Wave.objects.create(
        county=county, code="2099", year=2099, name_zh="邻县调查", name_en="Next survey", status=Wave.Status.FIELDWORK,
        fieldwork_start=date(2099, 9, 1),
    )
    frame = Frame.objects.create(county=county, name="邻县抽样框", kind=Frame.Kind.AREA, reference_year=2020)
    design = SampleDesign.objects.create(
        wave=wave, frame=frame, name="邻县设计", allocation=SampleDesign.Allocation.EQUAL, psu_total=1, households_per_psu=1,
    )
    draw = SampleDraw.objects.create(design=design, seed=1)
    weight_set = WeightSet.objects.create(
        wave=wave, instrument=Instrument.objects.get(code="science_literacy"), version=1, method={}, inputs_hash="0" * 64,
    )
    StaffProfile.objects.create(user=get_user_model().objects.create_user("next_admin"), role=Role.ADMIN, county=county)
    return wave, {
        "frame": frame, "design": design, "draw": draw, "weight_set": weight_set,
        "report": _report(wave, "county"), "batch": _batch(wave),
    }


def world_build(county_id: int) -> World:
    """Return the world over the demo county COUNTY_ID (call inside a test: everything rolls back)."""
    wave = Wave.objects.get(county_id=county_id, code="2025")
    town_a = Town.objects.get(county_id=county_id, code=TOWN_A)
    town_b = Town.objects.filter(county_id=county_id).exclude(code=TOWN_A).order_by("order", "code").first()
    assert town_b is not None
    User = get_user_model()
    enumerator = User.objects.get(username=USERNAMES["enumerator_a"])
    other_wave, other = _other_county()
    w = World(wave=wave, town_a=town_a, town_b=town_b, other_wave=other_wave, other=other)
    cases = Case.objects.filter(wave=wave, draw__is_current=True)
    w.own["case"] = cases.filter(town=town_a, assigned_to=enumerator).order_by("code").first()
    w.other["case"] = cases.filter(town=town_b).order_by("code").first()
    assert w.own["case"] is not None and w.other["case"] is not None
    w.own["invitation"] = invitation_create(case=w.own["case"])
    responses = Response.objects.filter(wave=wave, case__isnull=False).order_by("pk")
    w.own["response"] = responses.filter(case__town=town_a).first()
    w.other["response"] = responses.filter(case__town=town_b).first()
    Response.objects.filter(pk__in=[w.own["response"].pk, w.other["response"].pk]).update(review=Response.Review.APPROVED)
    reviewer = User.objects.get(username="admin")
    for scope in ("own", "other"):
        found = getattr(w, scope)
        found["decision"] = ReviewDecision.objects.create(response=found["response"], reviewer=reviewer, decision="approved", reason="matrix")
    w.own["frame"] = Frame.objects.filter(county_id=county_id).order_by("pk").first()
    w.own["design"] = SampleDesign.objects.filter(wave=wave).order_by("pk").first()
    w.own["draw"] = SampleDraw.objects.filter(design__wave=wave, is_current=True).order_by("pk").first()
    w.own["weight_set"] = WeightSet.objects.get(wave=wave, instrument__code="science_literacy", is_current=True)
    w.own["version"] = InstrumentVersion.objects.filter(instrument__code="science_literacy", status="published").order_by("version").first()
    w.own["key"] = ScoringKey.objects.filter(instrument_version=w.own["version"], status="published").order_by("version").first()
    w.own["report"] = _report(wave, "town", town_a)
    w.other["town_report"] = _report(wave, "town", town_b)
    w.own["batch"] = _batch(wave)
    # A batch of the current data still running: starting one returns it instead of building all reports.
    ReportBatch.objects.create(wave=wave, status=JobStatus.RUNNING, total=1, data_hash=data_fingerprint(wave))
    # Something done in the other county, which this county's admin must not read in the audit log.
    AuditEvent.objects.create(action="frame.import", object_type="Frame", object_id="0",
                              summary="the neighbouring county's frame", county_id=other_wave.county_id)
    token_user = User.objects.get(username=USERNAMES[TOKEN_USER])
    _token, w.token = api_token_issue(user=token_user, name="scope matrix")
    return w
