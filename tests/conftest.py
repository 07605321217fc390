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


@pytest.fixture(autouse=True)
def default_language() -> object:
    """Each test starts in the site's default language (zh-Hans).

    A request in English leaves English active in the thread (LocaleMiddleware activates a
    language and nothing deactivates it), and the next test calling a service directly would
    get English messages.
    """
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


LOW = {"invitation": "5/min", "submission": "3/min", "login": "4/min"}


@pytest.fixture
def low_rates(settings: object) -> object:
    """Throttle rates low enough to reach in a test, with empty counters before and after."""
    from django.core.cache import cache

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": LOW}  # type: ignore[attr-defined]
    cache.clear()
    yield
    cache.clear()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests that use the session's demo county after all the others.

    Once built, the demo county stays in the test database for the rest of the session, and
    tests elsewhere expect an empty one (e.g. "no response exists"), so the county is built
    only once everything else has run (after pytest-django's own ordering, hence trylast).
    """
    uses_demo = ["demo_county" in getattr(item, "fixturenames", ()) for item in items]
    items[:] = [i for i, u in zip(items, uses_demo) if not u] + [i for i, u in zip(items, uses_demo) if u]


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
