"""Retention: `manage.py purge_contacts` deletes a closed wave's contact details, audited."""
from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from assessment.models import AuditEvent, Case, Household, HouseholdMember
from assessment.retention import RetentionError, wave_contacts_purge


def purge(*args: str) -> str:
    out = io.StringIO()
    call_command("purge_contacts", *args, stdout=out)
    return out.getvalue()


def contacts(code: str) -> tuple[str, str, str, str, list[str]]:
    case = Case.objects.select_related("household").get(code=code)
    names = list(HouseholdMember.objects.filter(case=case).order_by("line").values_list("name", flat=True))
    return case.contact_name, case.contact_phone, case.household.address, case.household.head_name, names


def test_the_dry_run_counts_and_changes_nothing(contacts_county: Any) -> None:
    before = {code: contacts(code) for code in contacts_county.cases}
    out = purge("--wave", "2024", "--county", "370197")
    assert "contact details of 2 cases, 2 household members and 1 households would be deleted (dry run" in out
    assert {code: contacts(code) for code in contacts_county.cases} == before
    assert not AuditEvent.objects.filter(action="contacts.purge").exists()


def test_apply_deletes_the_closed_waves_contacts_and_keeps_the_open_waves(contacts_county: Any) -> None:
    out = purge("--wave", "2024", "--county", "370197", "--apply")
    assert "contact details of 2 cases, 2 household members and 1 households deleted." in out
    assert contacts("rt-2024-1") == ("", "", "", "", ["", ""])
    # The household listed for both waves keeps its address while the 2025 wave is in the field.
    assert contacts("rt-2024-2") == ("", "", "李庄村8号", "王建国", ["", ""])
    assert contacts("rt-2025-1") == ("联系人20251", "139123420251", "李庄村2025-1号", "户主20251", ["成员20251", ""])
    assert contacts("rt-2025-2") == ("联系人20252", "139123420252", "李庄村8号", "王建国", ["成员20252", ""])
    # What the estimates need stays.
    case = Case.objects.get(code="rt-2024-1")
    assert case.inclusion_probability == pytest.approx(0.025) and case.household is not None
    assert HouseholdMember.objects.filter(case__wave=contacts_county.closed).count() == 4
    event = AuditEvent.objects.get(action="contacts.purge")
    assert event.object_id == str(contacts_county.closed.pk)
    assert event.details == {"cases": 2, "members": 2, "households": 1}
    # Once the open wave closes too, the shared household goes with it; a second run finds nothing.
    assert "of 0 cases, 0 household members and 0 households" in purge("--wave", "2024", "--county", "370197", "--apply")
    type(contacts_county.open).objects.filter(pk=contacts_county.open.pk).update(status="closed")
    purge("--wave", "2025", "--county", "370197", "--apply")
    assert Household.objects.get(pk=contacts_county.shared_household.pk).address == ""
    assert AuditEvent.objects.filter(action="contacts.purge").count() == 2


def test_an_open_wave_is_refused_naming_its_state(contacts_county: Any) -> None:
    with pytest.raises(CommandError, match=r"wave 2025 is .*\(fieldwork\): contact details are kept until it is closed"):
        purge("--wave", "2025", "--county", "370197", "--apply")
    assert contacts("rt-2025-1")[0] == "联系人20251"
    with pytest.raises(RetentionError):
        wave_contacts_purge(wave=contacts_county.open, apply=True)


def test_an_unknown_wave_is_refused(contacts_county: Any) -> None:
    with pytest.raises(CommandError, match="no wave with code '1999'"):
        purge("--wave", "1999")
