"""A small county for the fieldwork tests: towns, a PSU frame with listed households, a wave,
staff of every role.  Plain functions so that transactional (browser) tests can build it too.

Town A has six villages (no certainty unit when two are drawn); town B has a large community
that is a certainty unit when two are drawn (2·900/1250 ≥ 1), so the other draw goes by size
among the remaining 350.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model

from assessment.models import Case, County, Frame, FrameUnit, Household, Role, SampleDesign, StaffProfile, Town, Wave

PASSWORD = "correct-horse-battery"
UNITS: dict[str, list[tuple[str, str, float, int]]] = {
    # town: [(code, urban_rural, measure of size, households listed)]
    "ta": [("ta-01", "urban", 500, 8), ("ta-02", "rural", 300, 6), ("ta-03", "rural", 120, 5),
           ("ta-04", "rural", 80, 4), ("ta-05", "rural", 60, 4), ("ta-06", "rural", 40, 3)],
    "tb": [("tb-01", "urban", 900, 10), ("tb-02", "rural", 150, 6), ("tb-03", "rural", 100, 5),
           ("tb-04", "rural", 60, 4), ("tb-05", "rural", 40, 4)],
}


@dataclass
class FieldCounty:
    county: County
    towns: dict[str, Town]
    wave: Wave
    frame: Frame
    units: dict[str, FrameUnit]
    users: dict[str, Any] = field(default_factory=dict)


def field_county(code: str = "370177", *, listed: bool = True, with_users: bool = True) -> FieldCounty:
    """Return a two-town county with a frame of 11 PSUs (households listed unless LISTED is false)."""
    county = County.objects.create(code=code, name_zh="测试县", name_en="Test County")
    towns = {
        t: Town.objects.create(county=county, code=t, name_zh=name, name_en=t, kind=Town.Kind.TOWN, order=i)
        for i, (t, name) in enumerate((("ta", "甲镇"), ("tb", "乙镇")))
    }
    wave = Wave.objects.create(
        county=county, code="2026", year=2026, name_zh="2026年测试调查", name_en="Test survey 2026",
        status=Wave.Status.FIELDWORK, fieldwork_start=date(2026, 9, 1),
    )
    frame = Frame.objects.create(county=county, name="测试抽样框", kind=Frame.Kind.AREA, reference_year=2020)
    units = {}
    for town, rows in UNITS.items():
        for unit_code, ur, size, n_households in rows:
            units[unit_code] = FrameUnit.objects.create(
                frame=frame, code=f"{code}-{unit_code}", name=f"{unit_code}村", town=towns[town], urban_rural=ur,
                measure_of_size=size, households=n_households,
            )
            if listed:
                Household.objects.bulk_create(
                    Household(unit=units[unit_code], code=f"{h + 1:03d}", size=3, address=f"{unit_code} 第{h + 1}户")
                    for h in range(n_households)
                )
    fc = FieldCounty(county=county, towns=towns, wave=wave, frame=frame, units=units)
    if with_users:
        fc.users = staff_of(fc)
    return fc


def staff_of(fc: FieldCounty) -> dict[str, Any]:
    """Return users of every role: admin, supervisors of A and B, enumerators of A (two) and B, an official."""
    User = get_user_model()
    prefix = fc.county.code

    def make(name: str, role: str | None, towns: tuple[str, ...] = (), **extra: Any) -> Any:
        user = User.objects.create_user(username=f"{prefix}_{name}", password=PASSWORD, **extra)
        if role is not None:
            profile = StaffProfile.objects.create(user=user, role=role, county=fc.county)
            profile.towns.set([fc.towns[t] for t in towns])
        return user

    return {
        "admin": make("admin", Role.ADMIN, is_staff=True),
        "supervisor_a": make("supervisor_a", Role.SUPERVISOR, ("ta",)),
        "supervisor_b": make("supervisor_b", Role.SUPERVISOR, ("tb",)),
        "enumerator_a": make("enumerator_a", Role.ENUMERATOR, ("ta",)),
        "enumerator_a2": make("enumerator_a2", Role.ENUMERATOR, ("ta",)),
        "enumerator_b": make("enumerator_b", Role.ENUMERATOR, ("tb",)),
        "official": make("official", Role.OFFICIAL),
        "no_profile": make("visitor", None),
    }


def drawn_county(code: str = "370177", *, seed: int = 2026, assign: bool = True) -> FieldCounty:
    """Return `field_county` with two PSUs per town drawn (3 households each, 12 cases), assigned
    to enumerator_a (town A) and enumerator_b (town B) unless ASSIGN is false."""
    from assessment.services import cases_assign, sample_design_create, wave_draw_sample

    fc = field_county(code)
    design = sample_design_create(
        wave=fc.wave, frame=fc.frame, name="两阶段 PPS", allocation=SampleDesign.Allocation.FIXED, households_per_psu=3,
        parameters={"fixed": {"ta": 2, "tb": 2}},
    )
    wave_draw_sample(design=design, seed=seed)
    if assign:
        for town, enumerator in (("ta", "enumerator_a"), ("tb", "enumerator_b")):
            cases_assign(cases=Case.objects.filter(town__code=town, wave=fc.wave), enumerator=fc.users[enumerator], user=fc.users["admin"])
    return fc
