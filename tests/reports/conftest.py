"""The demo county's 2025 report, built once per module from the session's demo county."""
from __future__ import annotations

import pytest

from assessment.models import Wave
from reports.builders import county_report
from reports.data import CountyReport


@pytest.fixture(scope="module")
def wave_2025(demo_county, django_db_blocker) -> Wave:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        return Wave.objects.select_related("county").get(county_id=demo_county.county_id, code="2025")


@pytest.fixture(scope="module")
def report_2025(wave_2025: Wave, django_db_blocker) -> CountyReport:  # type: ignore[no-untyped-def]
    """The builder's plain data for 2025 (read-only: building writes nothing)."""
    with django_db_blocker.unblock():
        return county_report(wave_2025)
