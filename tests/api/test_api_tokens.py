"""API tokens: issued and revoked by command, stored only as a hash, giving exactly their user's rights."""
from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken
from api.tokens import api_token_issue
from assessment.models import AuditEvent
from tests.assessment.fieldwork_setup import drawn_county


@pytest.fixture
def fc(db: None) -> Any:
    return drawn_county()


def token_client(key: str, keyword: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")
    return client


def issue(username: str, *args: str) -> str:
    out = io.StringIO()
    call_command("api_token", "issue", username, "nightly export", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def test_the_command_issues_a_token_that_is_stored_only_as_its_hash(fc: Any) -> None:
    key = issue("370177_supervisor_a")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", key)  # 24 random bytes: 192 bits
    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest() and token.prefix == key[:8]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        assert not any(key in str(value) for value in cursor.fetchone())
    assert AuditEvent.objects.filter(action="api_token.issue", object_id=str(token.pk)).exists()


@pytest.mark.parametrize("keyword", ["Token", "Bearer"])
def test_a_token_gives_its_users_rights_and_scope(fc: Any, keyword: str) -> None:
    client = token_client(issue("370177_supervisor_a"), keyword)
    cases = client.get("/api/v1/cases/", {"page_size": 100})
    assert cases.status_code == 200
    assert {c["town"] for c in cases.json()["results"]} == {"ta"}  # the supervisor's town only
    assert client.get("/api/v1/audit-events/").status_code == 403  # not an admin
    assert ApiToken.objects.get().last_used_at is not None


def test_revoked_expired_unknown_and_malformed_tokens_are_refused(fc: Any) -> None:
    key = issue("370177_admin")
    assert token_client(key).get("/api/v1/waves/").status_code == 200
    out = io.StringIO()
    call_command("api_token", "revoke", str(ApiToken.objects.get().pk), stdout=out)
    assert "revoked" in out.getvalue()
    refused = token_client(key).get("/api/v1/waves/")
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Token"
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 1

    token, old = api_token_issue(user=fc.users["admin"], name="short", days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert token_client(old).get("/api/v1/waves/").status_code == 401
    assert token_client("x" * 32).get("/api/v1/waves/").status_code == 401
    assert APIClient().get("/api/v1/waves/", HTTP_AUTHORIZATION="Token a b").status_code == 401
    assert APIClient().get("/api/v1/waves/", HTTP_AUTHORIZATION="Token é".encode().decode("latin-1")).status_code == 401


def test_a_deactivated_users_tokens_stop_working(fc: Any) -> None:
    key = issue("370177_admin")
    fc.users["admin"].is_active = False
    fc.users["admin"].save()
    assert token_client(key).get("/api/v1/waves/").status_code == 401


def test_the_command_refuses_unknown_users_users_without_a_role_and_bad_ids(fc: Any) -> None:
    with pytest.raises(CommandError, match="no active user"):
        issue("nobody")
    with pytest.raises(CommandError, match="no staff role"):
        issue("370177_visitor")
    with pytest.raises(CommandError, match="at least 1"):
        issue("370177_admin", "--days", "0")
    with pytest.raises(CommandError, match="no token 99"):
        call_command("api_token", "revoke", "99")
    assert not ApiToken.objects.exists()


def test_the_command_lists_tokens_without_their_keys(fc: Any) -> None:
    key = issue("370177_admin")
    out = io.StringIO()
    call_command("api_token", "list", stdout=out)
    assert "370177_admin" in out.getvalue() and "live" in out.getvalue() and key not in out.getvalue()


def test_pages_keep_session_login(fc: Any) -> None:
    client = APIClient()
    client.force_login(fc.users["admin"])
    assert client.get("/api/v1/waves/").status_code == 200
