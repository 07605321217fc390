"""Schemathesis against our OpenAPI schema, as an admin with an API token, on a small fielded survey.

Every operation gets a bounded number of generated requests (valid and invalid parameters and
bodies); every answer must be something other than a 5xx and, where the schema documents its
status, match the documented response schema and content type.  Generated writes happen inside
each test's transaction and are rolled back.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from api.tokens import api_token_issue
from assessment.models import Role, StaffProfile
from tests.frontend.survey_setup import build_survey

MAX_EXAMPLES = 12
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())

# The fuzzing runs in the PostgreSQL pass of `make test` (the production database; about two
# minutes), not again on SQLite, to keep the whole test command well under CI's 20 minutes.
pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="fuzzed in the PostgreSQL pass (scripts/with-postgres.sh)"
)


@pytest.fixture
def admin_token(db: None) -> Iterator[str]:
    survey = build_survey()
    admin = get_user_model().objects.create_user("fuzz_admin")
    StaffProfile.objects.create(user=admin, role=Role.ADMIN, county=survey.county)
    _token, key = api_token_issue(user=admin, name="fuzzing")
    # The WSGI handler closes the database connection after each request, which would end the
    # test's transaction on PostgreSQL; Django's own test client holds these signals off the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield key
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_answers_within_its_schema(case: Any, admin_token: str) -> None:
    # identity: the werkzeug client that drives the WSGI app does not undo GZipMiddleware
    response = case.call(headers={"Authorization": f"Token {admin_token}", "Accept-Encoding": "identity"})
    case.validate_response(response, checks=CHECKS)
