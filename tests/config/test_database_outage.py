"""A database outage answers 503 with Retry-After (retry as is), never a 500."""
from __future__ import annotations

import json

import pytest
from django.db import DatabaseError, InterfaceError, OperationalError
from django.test import RequestFactory

from config.middleware import DatabaseUnavailableMiddleware


def middleware() -> DatabaseUnavailableMiddleware:
    return DatabaseUnavailableMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize("error", [OperationalError("server closed the connection"), InterfaceError("connection already closed")])
def test_api_request_during_an_outage_gets_503_json_with_retry_after(error: Exception) -> None:
    request = RequestFactory().post("/api/v1/invitations/abc/responses/")
    response = middleware().process_exception(request, error)
    assert response is not None and response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "detail" in json.loads(response.content)


def test_page_request_during_an_outage_gets_503_text() -> None:
    response = middleware().process_exception(RequestFactory().get("/reports/"), OperationalError("down"))
    assert response is not None and response.status_code == 503 and response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/plain")


def test_other_errors_are_left_alone() -> None:
    assert middleware().process_exception(RequestFactory().get("/"), DatabaseError("constraint")) is None
    assert middleware().process_exception(RequestFactory().get("/"), ValueError("bug")) is None


@pytest.mark.django_db
def test_a_page_whose_session_cannot_be_read_answers_503(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.sessions.backends.db import SessionStore

    def down(self):  # type: ignore[no-untyped-def]
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(SessionStore, "load", down)
    client.cookies["sessionid"] = "x" * 32
    response = client.get("/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
