"""Migration 0006 gives events recorded before audit events had a county the county they concern."""
from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps

from assessment.models import AuditEvent, Frame, Wave
from tests.questionnaires.builders import county_wave

backfill = importlib.import_module("assessment.migrations.0006_audit_county_backfill").backfill


def test_events_of_county_objects_get_their_county_and_shared_ones_stay_shared(db: Any) -> None:
    wave = county_wave()
    frame = Frame.objects.create(county=wave.county, name="抽样框", kind=Frame.Kind.AREA, reference_year=2020)
    old = {
        "wave": AuditEvent.objects.create(action="contacts.purge", object_type="Wave", object_id=str(wave.pk), summary="-"),
        "frame": AuditEvent.objects.create(action="frame.import", object_type="Frame", object_id=str(frame.pk), summary="-"),
        "shared": AuditEvent.objects.create(action="instrument.publish", object_type="InstrumentVersion", object_id="1", summary="-"),
        "gone": AuditEvent.objects.create(action="frame.import", object_type="Frame", object_id="999999", summary="-"),
    }
    backfill(apps, None)
    county = {name: AuditEvent.objects.get(pk=e.pk).county_id for name, e in old.items()}
    assert county == {"wave": wave.county_id, "frame": wave.county_id, "shared": None, "gone": None}
    assert Wave.objects.get(pk=wave.pk).county_id == wave.county_id
