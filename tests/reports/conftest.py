"""The demo county's 2025 reports, built once per module from the session's demo county.

`demo_enterprise` adds the demo's enterprise (occupational health) survey to the session's
demo county when `manage.py demo` did not build it, inside a transaction rolled back after the
module: tests elsewhere expect the demo as the command leaves it.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from assessment.models import Wave
from reports.builders import build_report
from reports.data import AssessmentReport
from reports.estimates import Estimates


@pytest.fixture(scope="module")
def demo_enterprise(demo_county: Any, django_db_blocker: Any) -> Iterator[Any]:
    from assessment.demo.enterprise import enterprise_surveys_build
    from assessment.models import County

    with django_db_blocker.unblock():
        county = County.objects.get(pk=demo_county.county_id)
        if Wave.objects.filter(county=county, kind=Wave.Kind.ENTERPRISE).exists():
            yield demo_county
            return
        block = transaction.atomic()
        block.__enter__()
        try:
            enterprise_surveys_build(county, log=lambda _line: None)
            yield demo_county
        finally:
            transaction.set_rollback(True)
            block.__exit__(None, None, None)


@pytest.fixture(scope="module")
def wave_2025(demo_enterprise: Any, django_db_blocker: Any) -> Wave:
    with django_db_blocker.unblock():
        return Wave.objects.select_related("county").get(county_id=demo_enterprise.county_id, code="2025")


@pytest.fixture(scope="module")
def estimates() -> Estimates:
    """One estimate cache for the module's reports (without stored snapshots: fresh numbers)."""
    return Estimates(snapshots=False)


@pytest.fixture(scope="module")
def report_2025(wave_2025: Wave, estimates: Estimates, django_db_blocker: Any) -> AssessmentReport:
    """The builder's plain data for the county in 2025 (read-only: building writes nothing)."""
    with django_db_blocker.unblock():
        return build_report(wave_2025, estimates=estimates)


@pytest.fixture(scope="module")
def town_2025(wave_2025: Wave, estimates: Estimates, django_db_blocker: Any) -> AssessmentReport:
    with django_db_blocker.unblock():
        return build_report(wave_2025, "town", "yushan", estimates=estimates)


@pytest.fixture(scope="module")
def group_2025(wave_2025: Wave, estimates: Estimates, django_db_blocker: Any) -> AssessmentReport:
    with django_db_blocker.unblock():
        return build_report(wave_2025, "group", "worker", estimates=estimates)
