"""The audit log page in the Django admin reads in words, in the user's language."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from assessment.models import AuditEvent
from assessment.models.audit import ACTION_LABELS
from tests.frontend.html import text_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("language", "words"), [
    ("zh-hans", ["时间", "操作人", "对象类型", "摘要", "审核答卷"]),
    ("en", ["Time", "Actor", "Object type", "Summary", "Review a response"]),
])
def test_the_audit_log_names_its_columns_and_actions(language: str, words: list[str]) -> None:
    superuser = get_user_model().objects.create_superuser("auditor", password="x-audit-9")
    AuditEvent.objects.create(actor=superuser, action="response.review", object_type="Response", object_id="1", summary="approved: ok")
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(superuser)
    text = text_of(client.get("/admin/assessment/auditevent/").content.decode())
    for word in words:
        assert word in text, word


def test_every_action_the_code_records_has_a_label() -> None:
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    recorded = set()
    for path in root.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts or "migrations" in path.parts:
            continue
        recorded |= set(re.findall(r'action="([a-z_]+\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    assert recorded and recorded <= set(ACTION_LABELS), sorted(recorded - set(ACTION_LABELS))
