"""Fixtures shared by the whole suite."""
from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.core.management import call_command


@dataclass(frozen=True)
class DemoCounty:
    county_id: int
    output: str


@pytest.fixture(scope="session")
def demo_county(django_db_setup, django_db_blocker) -> DemoCounty:  # type: ignore[no-untyped-def]
    """The Pingyin demo county (waves 2022–2025, scored and weighted), built once per session.

    Tests that use it also need the `db` fixture.  Transactional tests flush the database, so
    they must not rely on this fixture (pytest-django runs them after all others).
    """
    from assessment.demo.county import COUNTY_CODE
    from assessment.models import County

    out = io.StringIO()
    with django_db_blocker.unblock():
        call_command("demo", stdout=out)
        county = County.objects.get(code=COUNTY_CODE)
    return DemoCounty(county_id=county.pk, output=out.getvalue())
