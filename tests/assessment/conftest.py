"""Fixtures for the assessment tests: the demo's synthetic population, the real banks' keys,
the true model's waves, and a small two-town county for the access and encryption rules."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from scoring.keys import KeyArrays

if TYPE_CHECKING:
    from assessment.demo.population import Population
    from assessment.demo.truth import WaveTruth


@pytest.fixture(scope="session")
def population() -> Population:
    """The demo's synthetic Pingyin population (the seed `demo` uses)."""
    from assessment.demo.build import POPULATION_SEED
    from assessment.demo.population import build_population

    return build_population(POPULATION_SEED)


@dataclass(frozen=True)
class BankKey:
    """A bank's scoring key compiled to arrays, with what the true model needs from it."""

    code: str
    arrays: KeyArrays
    headline: str
    cut_points: float
    multiple: tuple[bool, ...]


@pytest.fixture(scope="session")
def bank_keys(django_db_setup: Any, django_db_blocker: Any) -> dict[str, BankKey]:
    """The science- and health-literacy keys as imported from questionnaires/banks/.

    The import runs in a transaction that is rolled back, so no rows outlive the fixture.
    Tests that use it also need the `db` fixture (without a test that needs the database,
    pytest-django does not create it).
    """
    from assessment.demo.build import BANKS, literacy_cut_points
    from assessment.demo.truth import MODELS
    from questionnaires.models import Item
    from questionnaires.services import instrument_import, key_compile

    keys = {}
    with django_db_blocker.unblock(), transaction.atomic():
        for code in MODELS:
            path = BANKS / f"{code}.md"
            version = instrument_import(data=path.read_bytes(), filename=path.name)
            key = version.scoring_keys.order_by("-version").first()
            compiled = key_compile(key)
            types = dict(version.items.values_list("name", "type"))
            assert compiled.headline is not None
            keys[code] = BankKey(
                code=code,
                arrays=compiled.arrays,
                headline=compiled.headline,
                cut_points=literacy_cut_points(key),
                multiple=tuple(types[name] == Item.Type.MULTIPLE for name in compiled.arrays.item_names),
            )
        transaction.set_rollback(True)
    return keys


def wave_truth_of(population: Population, key: BankKey, year: int) -> WaveTruth:
    """Return the true model's wave YEAR for KEY's instrument, as `demo` computes it (about 2 s)."""
    from assessment.demo import truth as true_model

    model = true_model.MODELS[key.code]
    items = true_model.item_parameters(model, key.arrays.points)
    return true_model.wave_truth(model, population, year, items, key.cut_points)


@pytest.fixture(scope="session")
def truth_2025(population: Population, bank_keys: dict[str, BankKey]) -> dict[str, WaveTruth]:
    """The 2025 truth of both instruments for the demo population (computed once per session)."""
    return {code: wave_truth_of(population, key, 2025) for code, key in bank_keys.items()}


# --- a small county for the access and encryption rules ---------------------------------


@dataclass
class SmallCounty:
    county: Any
    town_a: Any
    town_b: Any
    wave: Any
    other_county: Any
    other_town: Any
    other_wave: Any
    cases: dict[str, Any]  # name -> Case
    users: dict[str, Any]  # role name -> User (or AnonymousUser)


def _case(draw: Any, unit: Any, stratum: Any, wave: Any, code: str, assigned_to: Any) -> Any:
    from assessment.models import Case, Household, SampledUnit

    sampled, _ = SampledUnit.objects.get_or_create(
        draw=draw, unit=unit, defaults={"stratum": stratum, "probability": 0.5, "selection_order": 0}
    )
    household = Household.objects.create(unit=unit, code=code, size=3)
    return Case.objects.create(
        draw=draw,
        sampled_unit=sampled,
        household=household,
        wave=wave,
        town=unit.town,
        code=code,
        prob_psu=0.5,
        prob_household=0.1,
        prob_person=0.5,
        assigned_to=assigned_to,
        contact_name="张秀英",
        contact_phone="13912345678",
    )


def _county(code: str, town_codes: tuple[str, ...]) -> tuple[Any, list[Any], Any, Any, dict[str, Any]]:
    """Return (county, towns, wave, draw, {town code: (unit, stratum)}) with one village per town."""
    from assessment.models import (
        County,
        Frame,
        FrameUnit,
        SampleDesign,
        SampleDraw,
        Stratum,
        Town,
        Village,
        Wave,
    )

    county = County.objects.create(code=code, name_zh=f"县{code}", name_en=f"County {code}")
    towns = [
        Town.objects.create(county=county, code=t, name_zh=f"镇{t}", name_en=t, kind=Town.Kind.TOWN, order=i)
        for i, t in enumerate(town_codes)
    ]
    wave = Wave.objects.create(
        county=county, code="2025", year=2025, name_zh="2025年", name_en="2025", fieldwork_start=date(2025, 9, 1)
    )
    frame = Frame.objects.create(county=county, name="frame", kind=Frame.Kind.AREA, reference_year=2020)
    design = SampleDesign.objects.create(
        wave=wave,
        frame=frame,
        name="design",
        allocation=SampleDesign.Allocation.PROPORTIONAL,
        psu_total=len(towns),
        households_per_psu=15,
    )
    draw = SampleDraw.objects.create(design=design, seed=1)
    places = {}
    for town in towns:
        village = Village.objects.create(
            town=town,
            code=f"{code}-{town.code}-v01",
            name_zh="王庄村",
            kind=Village.Kind.VILLAGE,
            urban_rural="rural",
            population=1000,
            households=340,
        )
        unit = FrameUnit.objects.create(
            frame=frame, code=village.code, name=village.name_zh, town=town, village=village,
            urban_rural="rural", measure_of_size=1000.0, households=340,
        )
        stratum = Stratum.objects.create(
            design=design, code=town.code, town=town, frame_units=1, frame_size=1000.0, psu_allocated=1
        )
        places[town.code] = (unit, stratum)
    return county, towns, wave, draw, places


@pytest.fixture
def small_county(db: Any) -> SmallCounty:
    """Two towns (A, B) of one county plus a second county, with staff of every role.

    Cases: a1 and a2 in town A (assigned to enumerator_a and enumerator_a2), b1 in town B
    (assigned to enumerator_a: a case reassigned across towns), and x1 in the other county.
    """
    from django.contrib.auth.models import AnonymousUser

    from assessment.models import Role, StaffProfile

    User = get_user_model()
    county, (town_a, town_b), wave, draw, places = _county("370199", ("town-a", "town-b"))
    other, (other_town,), other_wave, other_draw, other_places = _county("370198", ("town-x",))

    def staff(name: str, role: str, towns: list[Any], home: Any = county) -> Any:
        user = User.objects.create_user(username=f"small_{name}", password="x")
        profile = StaffProfile.objects.create(user=user, role=role, county=home)
        profile.towns.set(towns)
        return user

    users = {
        "admin": staff("admin", Role.ADMIN, []),
        "supervisor_a": staff("supervisor_a", Role.SUPERVISOR, [town_a]),
        "enumerator_a": staff("enumerator_a", Role.ENUMERATOR, [town_a]),
        "enumerator_a2": staff("enumerator_a2", Role.ENUMERATOR, [town_a]),
        "county_official": staff("county_official", Role.OFFICIAL, []),
        "town_official_a": staff("town_official_a", Role.OFFICIAL, [town_a]),
        "other_admin": staff("other_admin", Role.ADMIN, [], home=other),
        "no_profile": User.objects.create_user(username="small_no_profile", password="x"),
        "anonymous": AnonymousUser(),
    }
    cases = {
        "a1": _case(draw, *places["town-a"], wave, "a1", users["enumerator_a"]),
        "a2": _case(draw, *places["town-a"], wave, "a2", users["enumerator_a2"]),
        "b1": _case(draw, *places["town-b"], wave, "b1", users["enumerator_a"]),
        "x1": _case(other_draw, *other_places["town-x"], other_wave, "x1", None),
    }
    return SmallCounty(
        county=county,
        town_a=town_a,
        town_b=town_b,
        wave=wave,
        other_county=other,
        other_town=other_town,
        other_wave=other_wave,
        cases=cases,
        users=users,
    )

