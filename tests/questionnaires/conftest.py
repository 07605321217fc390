"""Fixtures for the questionnaires tests (builders live in builders.py)."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from assessment.models import Case, County, Town, Wave
from questionnaires import forms
from questionnaires.models import InstrumentVersion
from tests.questionnaires.builders import FieldedCase, fielded_case, fielded_delete, mini_import


@pytest.fixture(autouse=True)
def fresh_compiled_forms() -> Iterator[None]:
    """Forget compiled forms: they are cached per version pk, and a rolled-back test's pk is reused."""
    forms._published.cache_clear()
    yield
    forms._published.cache_clear()


@pytest.fixture
def mini(db: None) -> InstrumentVersion:
    """The published mini test form (tests/fixtures/forms/mini_test.md)."""
    return mini_import()


@pytest.fixture(scope="module")
def fielded_committed(django_db_setup: None, django_db_blocker: Any) -> Iterator[FieldedCase]:
    """Build the fielded wave once per module, committed, and delete it after the module."""
    with django_db_blocker.unblock(), transaction.atomic():  # all or nothing: no half-built leftovers
        existing = set(InstrumentVersion.objects.values_list("pk", flat=True))
        fielded = fielded_case()
        imported = [v.pk for v in fielded.versions.values() if v.pk not in existing]
    try:
        yield fielded
    finally:
        with django_db_blocker.unblock():
            fielded_delete(fielded, imported)


@pytest.fixture
def fielded(fielded_committed: FieldedCase, db: None) -> FieldedCase:
    """A wave in fieldwork fielding the demo's instruments, one household and its live invitation.

    Built once per module (importing the banks is slow); each test's own writes are rolled back,
    and the rows are read afresh so that no test sees another's in-memory changes.
    """
    return dataclasses.replace(
        fielded_committed,
        county=County.objects.get(pk=fielded_committed.county.pk),
        town=Town.objects.get(pk=fielded_committed.town.pk),
        wave=Wave.objects.get(pk=fielded_committed.wave.pk),
        case=Case.objects.get(pk=fielded_committed.case.pk),
        versions={code: InstrumentVersion.objects.get(pk=v.pk) for code, v in fielded_committed.versions.items()},
    )


@pytest.fixture
def api() -> APIClient:
    return APIClient()
