"""Invitation tokens at the API: 192 random bits, bound to one case, expiring and revocable.

The token rules themselves are tested in tests/questionnaires/test_invitations.py; these are
the answers a respondent's device gets.
"""
from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from questionnaires.invitations import invitation_create, token_hash
from questionnaires.models import Invitation, Response
from tests.frontend.survey_setup import Survey, build_survey, sampled_case


@pytest.fixture
def survey(db: None) -> Survey:
    return build_survey()


def test_a_token_carries_at_least_128_random_bits(survey: Survey) -> None:
    assert len(base64.urlsafe_b64decode(survey.token)) * 8 >= 128


@pytest.mark.parametrize(("change", "code"), [
    ({"expires_at": timezone.now() - timedelta(seconds=1)}, "invitation_expired"),
    ({"revoked": True}, "invitation_revoked"),
])
def test_expired_and_revoked_invitations_answer_410_and_store_nothing(survey: Survey, change: dict[str, object], code: str) -> None:
    Invitation.objects.filter(case=survey.case).update(**change)
    client = APIClient()
    plan = client.get(f"/api/v1/invitations/{survey.token}/")
    assert (plan.status_code, plan.json()["code"]) == (410, code)
    submitted = client.post(f"/api/v1/invitations/{survey.token}/responses/", {"client_id": "0b8f7d7e-1111-4a4a-9c9c-123456789abc", "instrument": "demographics", "answers": {"age": 30}}, format="json")
    assert submitted.status_code == 410
    assert not Response.objects.exists()


def test_each_token_opens_only_its_own_case(survey: Survey) -> None:
    other_case = sampled_case(survey.wave, survey.town, code="T2025-yushan-0002")
    other = invitation_create(case=other_case)
    assert other != survey.token
    by_token = {t: Invitation.objects.get(token_hash=token_hash(t)).case_id for t in (survey.token, other)}
    assert by_token == {survey.token: survey.case.pk, other: other_case.pk}
    # A new link for a case revokes its old one: one live token per case.
    newer = invitation_create(case=other_case)
    assert APIClient().get(f"/api/v1/invitations/{other}/").status_code == 410
    assert APIClient().get(f"/api/v1/invitations/{newer}/").status_code == 200


@pytest.mark.parametrize("token", ["short", "A" * 31 + "!", "A" * 33])
def test_malformed_tokens_answer_404(survey: Survey, token: str) -> None:
    response = APIClient().get(f"/api/v1/invitations/{token}/")
    assert (response.status_code, response.json()["code"]) == (404, "invitation_malformed")
