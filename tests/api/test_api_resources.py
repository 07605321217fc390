"""Waves, weight sets, estimates, responses, review decisions and the audit log through the API;
pagination and filters on the lists, with bad parameters refused by name."""
from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from assessment.estimation import estimate_by, estimate_overall, wave_design
from assessment.models import AuditEvent, WeightSet
from questionnaires.models import Response
from tests.api.api_world import World, world_build


@pytest.fixture
def world(demo_county: Any, db: None) -> Iterator[World]:
    yield world_build(demo_county.county_id)


def client_of(username: str) -> APIClient:
    client = APIClient()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def close(a: float | None, b: float) -> bool:
    return (a is None and not math.isfinite(b)) or (a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12))


def test_estimates_are_the_engines_numbers_overall_and_by_town(world: World) -> None:
    body = client_of("admin").get("/api/v1/estimates/", {"wave": "2025", "indicator": "science_literacy", "by": "town"}).json()
    wd = wave_design(world.wave, "science_literacy")
    overall = estimate_overall(wd, body["benchmark"])
    got = body["overall"]
    for name in ("estimate", "se", "ci_low", "ci_high", "deff", "cv"):
        assert close(got[name], getattr(overall, name)), name
    assert (got["n"], got["reliable"]) == (overall.n, overall.reliable)
    assert body["weights"] == wd.weight_set.label and body["scope"] is None
    engine = {c.domain[0]: c for c in estimate_by(wd, body["benchmark"], "town")}
    assert {c["domain"]["town"] for c in body["cells"]} == set(engine)
    for cell in body["cells"]:
        expected = engine[cell["domain"]["town"]]
        assert close(cell["estimate"], expected.estimate) and close(cell["se"], expected.se)
        assert cell["reliable"] == expected.reliable and cell["n"] == expected.n


def test_estimates_by_group_give_one_cell_per_population_group(world: World) -> None:
    body = client_of("official").get("/api/v1/estimates/", {"wave": "2025", "indicator": "health_literacy", "by": "group"}).json()
    groups = {c["domain"]["group"] for c in body["cells"]}
    assert {"farmer", "worker", "elder"} <= groups
    assert all(0 <= c["estimate"] <= 1 and c["ci_low"] <= c["estimate"] <= c["ci_high"] for c in body["cells"])


@pytest.mark.parametrize(("params", "field"), [
    ({"indicator": "science_literacy"}, "wave"),
    ({"wave": "2025"}, "indicator"),
    ({"wave": "2025", "indicator": "science_literacy", "by": "shoe_size"}, "by"),
    ({"wave": "2025", "indicator": "science_literacy", "level": "2"}, "level"),
    ({"wave": "2025", "indicator": "demographics"}, "indicator"),
    ({"wave": "2025", "indicator": "no_such"}, "indicator"),
])
def test_bad_estimate_queries_are_refused_naming_the_parameter(world: World, params: dict[str, str], field: str) -> None:
    response = client_of("admin").get("/api/v1/estimates/", params)
    assert response.status_code == 400 and field in response.json()


def test_estimates_without_current_weights_answer_409(world: World) -> None:
    WeightSet.objects.filter(wave=world.wave, instrument__code="science_literacy").update(is_current=False)
    response = client_of("admin").get("/api/v1/estimates/", {"wave": "2025", "indicator": "science_literacy"})
    assert response.status_code == 409 and "请先计算权重" in response.json()["detail"]
    english = client_of("admin").get("/api/v1/estimates/", {"wave": "2025", "indicator": "science_literacy"}, headers={"Accept-Language": "en"})
    assert english.status_code == 409 and english.json()["detail"].endswith("yet: run the weighting first")


def test_waves_carry_targets_and_instruments(world: World) -> None:
    body = client_of("enumerator_yushan").get("/api/v1/waves/", {"year": 2025, "kind": "household"}).json()
    assert [w["code"] for w in body["results"]] == ["2025"] and body["count"] == 1
    wave = body["results"][0]
    assert {t["indicator"] for t in wave["targets"]} >= {"science_literacy"}
    assert [i["instrument"] for i in wave["instruments"]][0] == "demographics"
    assert client_of("admin").get("/api/v1/waves/", {"kind": "nonsense"}).status_code == 400


def test_weight_sets_list_and_detail(world: World) -> None:
    client = client_of("official")
    listed = client.get("/api/v1/weight-sets/", {"wave": "2025", "instrument": "science_literacy", "current": "true"}).json()
    assert [w["id"] for w in listed["results"]] == [world.own["weight_set"].pk]
    detail = client.get(f"/api/v1/weight-sets/{world.own['weight_set'].pk}/").json()
    assert detail["method"]["calibration"]["method"] == "raking" and detail["diagnostics"]["converged"] is True
    refused = client_of("admin").post("/api/v1/weight-sets/", {"wave": "2025", "instrument": "no_such"}, format="json")
    assert refused.status_code == 400 and "instrument" in refused.json()


def test_responses_list_filters_and_pages_without_personal_data(world: World) -> None:
    client = client_of("admin")
    first = client.get("/api/v1/responses/", {"wave": "2025", "instrument": "science_literacy", "town": world.town_b.code, "page_size": 5}).json()
    n = Response.objects.filter(wave=world.wave, instrument_version__instrument__code="science_literacy", case__town=world.town_b).count()
    assert first["count"] == n > 5 and len(first["results"]) == 5 and first["next"]
    assert {r["town"] for r in first["results"]} == {world.town_b.code}
    assert not {"answers", "name", "phone", "address"} & set(first["results"][0])
    second = client.get(first["next"]).json()
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    assert client.get("/api/v1/responses/", {"page": 10_000}).status_code == 404
    assert client.get("/api/v1/responses/", {"review": "maybe"}).status_code == 400
    assert client.get("/api/v1/responses/", {"received_after": "yesterday"}).status_code == 400


def test_review_decisions_filter_by_decision_and_reviewer(world: World) -> None:
    client = client_of("admin")
    body = client.get("/api/v1/review-decisions/", {"decision": "approved", "reviewer": "admin"}).json()
    assert {world.own["decision"].pk, world.other["decision"].pk} <= {d["id"] for d in body["results"]}
    assert client.get("/api/v1/review-decisions/", {"decision": "rejected", "reviewer": "admin"}).json()["count"] == 0


def test_audit_log_filters_by_action_prefix_actor_and_date(world: World) -> None:
    client = client_of("admin")
    assert client.get("/api/v1/audit-events/", {"action": "api_token.issue"}).json()["count"] == 1
    everything = client.get("/api/v1/audit-events/", {"action": "api_token."}).json()["count"]
    assert everything == AuditEvent.objects.filter(action__startswith="api_token.").count()
    assert client.get("/api/v1/audit-events/", {"actor": "nobody"}).json()["count"] == 0
    assert client.get("/api/v1/audit-events/", {"since": "2999-01-01T00:00:00Z"}).json()["count"] == 0
    assert client.get("/api/v1/audit-events/", {"since": "not a date"}).status_code == 400
    assert client.post("/api/v1/audit-events/", {}).status_code == 405  # read-only


@pytest.mark.parametrize("url", [
    "/api/v1/frames/", "/api/v1/waves/2025/designs/", "/api/v1/cases/", "/api/v1/reports/", "/api/v1/waves/",
    "/api/v1/weight-sets/", "/api/v1/responses/", "/api/v1/review-decisions/", "/api/v1/audit-events/",
    "/api/v1/instruments/", "/api/v1/instrument-versions/", "/api/v1/scoring-keys/",
])
def test_every_list_is_paginated_the_same_way(world: World, url: str) -> None:
    body = client_of("admin").get(url, {"page_size": 1}).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert len(body["results"]) <= 1 and (body["next"] is not None) == (body["count"] > 1)


@pytest.mark.parametrize(("url", "params"), [
    ("/api/v1/frames/", {"kind": "moon"}),
    ("/api/v1/waves/2025/designs/", {"allocation": "random"}),
    ("/api/v1/cases/", {"disposition": "lost"}),
    ("/api/v1/cases/", {"psu": "abc"}),
    ("/api/v1/instruments/", {"kind": "quiz"}),
    ("/api/v1/instrument-versions/", {"status": "gone"}),
    ("/api/v1/scoring-keys/", {"version": "one"}),
    ("/api/v1/waves/", {"year": "soon"}),
    ("/api/v1/weight-sets/", {"current": "maybe"}),
    ("/api/v1/review-decisions/", {"response": "-1"}),
])
def test_bad_filters_are_refused_naming_the_parameter(world: World, url: str, params: dict[str, str]) -> None:
    response = client_of("admin").get(url, params)
    assert response.status_code == 400 and set(params) <= set(response.json())
