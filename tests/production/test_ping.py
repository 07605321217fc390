"""GET /api/v1/ping/: public liveness answer that says nothing else and touches no database."""
from __future__ import annotations

from django.test import Client


def test_ping_answers_anyone_without_a_query_or_a_cookie(client: Client) -> None:
    # No `db` fixture: pytest-django makes any database query here an error.
    response = client.get("/api/v1/ping/")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert not response.cookies


def test_ping_only_reads(client: Client) -> None:
    assert client.post("/api/v1/ping/", {}).status_code == 405
    assert client.delete("/api/v1/ping/").status_code == 405
