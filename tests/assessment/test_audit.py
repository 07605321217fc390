"""The append-only audit log (assessment/models/audit.py)."""
from __future__ import annotations

import pytest

from assessment.models import AuditEvent


@pytest.fixture
def event(db: None) -> AuditEvent:
    return AuditEvent.objects.create(
        action="weights.compute", object_type="WeightSet", object_id="1", summary="2025 v1", details={"n": 1}
    )


def test_audit_event_is_recorded_with_a_time(event: AuditEvent) -> None:
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.at is not None
    assert (stored.action, stored.summary, stored.details) == ("weights.compute", "2025 v1", {"n": 1})
    assert str(stored).endswith("weights.compute WeightSet:1")


def test_audit_event_cannot_be_changed(event: AuditEvent) -> None:
    event.summary = "rewritten"
    with pytest.raises(PermissionError, match="append-only"):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).summary == "2025 v1"


def test_audit_event_cannot_be_deleted(event: AuditEvent) -> None:
    with pytest.raises(PermissionError, match="append-only"):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_events_cannot_be_changed_or_deleted_in_bulk(event: AuditEvent) -> None:
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(summary="rewritten")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
