"""Throttles on the anonymous doors: tokens that open nothing (per IP), submissions (per invitation), login (per IP)."""
from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from questionnaires.models import Response
from tests.frontend.survey_setup import Survey, build_survey


@pytest.fixture
def survey(db: None) -> Survey:
    return build_survey()


def assert_throttled(response: Any) -> None:
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60


def test_tokens_that_open_nothing_are_throttled_per_client_ip(survey: Survey, low_rates: None) -> None:
    client = APIClient()
    guesses = [client.get(f"/api/v1/invitations/{'A' * 31}{c}/").status_code for c in "BCDEF"]
    assert guesses == [404] * 5
    assert_throttled(client.get(f"/api/v1/invitations/{'A' * 31}G/"))
    assert_throttled(client.post(f"/api/v1/invitations/{'A' * 31}H/responses/", {}, format="json"))
    assert_throttled(client.get("/api/v1/invitations/malformed/"))
    # Another address has its own budget.
    assert client.get(f"/api/v1/invitations/{'A' * 32}/", REMOTE_ADDR="10.0.0.9").status_code == 404


def test_live_links_are_not_counted_against_a_shared_address(survey: Survey, low_rates: None) -> None:
    """Many respondents behind one school router or carrier NAT: their live links keep working."""
    client = APIClient()
    assert [client.get(f"/api/v1/invitations/{survey.token}/").status_code for _ in range(12)] == [200] * 12
    for c in "BCDEF":  # someone on the same address guesses
        client.get(f"/api/v1/invitations/{'A' * 31}{c}/")
    assert_throttled(client.get(f"/api/v1/invitations/{'A' * 32}/"))
    assert client.get(f"/api/v1/invitations/{survey.token}/").status_code == 200


def test_submissions_are_throttled_per_invitation_and_nothing_is_stored_when_refused(survey: Survey, low_rates: None) -> None:
    client = APIClient()
    url = f"/api/v1/invitations/{survey.token}/responses/"
    for i in range(3):  # e.g. a device retrying a bad answer sheet in a loop
        assert client.post(url, {}, format="json", REMOTE_ADDR=f"10.0.1.{i}").status_code == 400
    assert_throttled(client.post(url, {}, format="json", REMOTE_ADDR="10.0.1.99"))
    assert not Response.objects.exists()
    # The plan of the same invitation is a read, counted only per address.
    assert client.get(f"/api/v1/invitations/{survey.token}/", REMOTE_ADDR="10.0.2.1").status_code == 200


def test_login_attempts_are_throttled_per_client_ip(survey: Survey, low_rates: None) -> None:
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    for _ in range(4):
        assert client.post("/accounts/login/", {"username": "x", "password": "wrong"}).status_code == 200
    refused = client.post("/accounts/login/", {"username": "x", "password": "wrong"})
    assert_throttled(refused)
    assert "登录尝试过于频繁" in refused.content.decode()
    assert client.get("/accounts/login/").status_code == 200  # the page itself still shows
    assert Client(REMOTE_ADDR="10.0.3.1").post("/accounts/login/", {"username": "x", "password": "wrong"}).status_code == 200
