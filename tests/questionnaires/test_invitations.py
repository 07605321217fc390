"""Invitation tokens: unguessable, stored only as a hash (the token itself encrypted), revocable."""
from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from assessment.crypto import decrypt_text
from assessment.models import Case
from questionnaires.invitations import InvitationInvalid, invitation_create, invitation_open, token_hash
from questionnaires.models import Invitation
from tests.questionnaires.builders import county_wave, sampled_case

pytestmark = pytest.mark.django_db

URL_SAFE_32 = re.compile(r"[A-Za-z0-9_-]{32}")


@pytest.fixture
def case(db: None) -> Case:
    wave = county_wave()
    return sampled_case(wave, wave.county.towns.get(), "test-2025-0001")


def reason_for(token: object) -> str:
    with pytest.raises(InvitationInvalid) as caught:
        invitation_open(token)  # type: ignore[arg-type]
    return caught.value.reason


def test_token_is_32_url_safe_characters_from_24_random_bytes(case: Case) -> None:
    tokens = [invitation_create(case=case) for _ in range(20)]
    assert all(URL_SAFE_32.fullmatch(t) for t in tokens)
    assert all(len(base64.urlsafe_b64decode(t)) == 24 for t in tokens)  # 192 bits ≥ 128
    assert len(set(tokens)) == len(tokens)


def test_only_the_hash_is_stored_in_the_clear(case: Case) -> None:
    token = invitation_create(case=case)
    invitation = Invitation.objects.get(case=case)
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest() == token_hash(token)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT token, token_hash FROM {Invitation._meta.db_table} WHERE id = %s",
            [invitation.pk],
        )
        raw_token, raw_hash = cursor.fetchone()
    assert token not in raw_token
    assert raw_hash == token_hash(token)
    # The column holds ciphertext of the token, which the model reads back (to reprint a QR code).
    assert decrypt_text(raw_token) == token
    assert invitation.token == token


def test_invitation_belongs_to_its_case_and_wave_and_expires(case: Case) -> None:
    before = timezone.now()
    invitation_create(case=case, label="QR sheet")
    invitation = Invitation.objects.get(case=case)
    assert (invitation.case_id, invitation.wave_id, invitation.label) == (case.pk, case.wave_id, "QR sheet")
    days = timedelta(days=settings.SUYANG_INVITATION_DAYS)
    assert before + days <= invitation.expires_at <= timezone.now() + days
    invitation_create(case=case, days=7)
    assert Invitation.objects.get(case=case, revoked=False).expires_at <= timezone.now() + timedelta(days=7)


def test_new_invitation_revokes_the_old_one(case: Case) -> None:
    old = invitation_create(case=case)
    new = invitation_create(case=case)
    assert Invitation.objects.filter(case=case, revoked=False).count() == 1
    assert Invitation.objects.get(token_hash=token_hash(old)).revoked
    assert reason_for(old) == "revoked"
    assert invitation_open(new).case_id == case.pk


def test_live_token_opens_its_invitation_and_stamps_first_opening(case: Case) -> None:
    token = invitation_create(case=case)
    assert Invitation.objects.get(case=case).first_opened_at is None
    invitation = invitation_open(token)
    assert invitation.case == case
    first = Invitation.objects.get(case=case).first_opened_at
    assert first is not None
    invitation_open(token)
    assert Invitation.objects.get(case=case).first_opened_at == first


@pytest.mark.parametrize(
    "token",
    [
        "",
        "short",
        "A" * 31,
        "A" * 33,
        "A" * 31 + "!",
        "A" * 31 + "/",
        "A" * 31 + "=",
        "A" * 31 + "é",
        "A" * 32 + "\n",
        " " + "A" * 31,
        None,
        12345678901234567890123456789012,
    ],
)
def test_malformed_token_is_refused(case: Case, token: object) -> None:
    assert reason_for(token) == "malformed"


def test_unknown_token_is_refused(case: Case) -> None:
    invitation_create(case=case)
    assert reason_for("A" * 32) == "unknown"


def test_expired_token_is_refused(case: Case) -> None:
    token = invitation_create(case=case)
    Invitation.objects.filter(case=case).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert reason_for(token) == "expired"


def test_revoked_token_is_refused_even_before_it_expires(case: Case) -> None:
    token = invitation_create(case=case)
    Invitation.objects.filter(case=case).update(revoked=True)
    assert reason_for(token) == "revoked"


def test_invitation_invalid_carries_its_reason() -> None:
    error = InvitationInvalid("expired")
    assert (error.reason, str(error)) == ("expired", "expired")
    assert isinstance(error, LookupError)
