"""Fixtures of the production tests: a real redis-server on a free port; a small county with a
closed and an open wave, each with cases carrying contact details."""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import redis
from production_helpers import free_port, wait_for


@dataclass(frozen=True)
class ContactsCounty:
    closed: Any  # Wave
    open: Any  # Wave
    cases: dict[str, Any]  # code -> Case
    shared_household: Any  # listed once, sampled by a case of each wave


def _wave(county: Any, town: Any, frame: Any, unit: Any, code: str, status: str) -> tuple[Any, Any, Any, Any]:
    from assessment.models import SampleDesign, SampleDraw, SampledUnit, Stratum, Wave

    wave = Wave.objects.create(
        county=county, code=code, year=int(code), name_zh=f"{code}年", name_en=code,
        fieldwork_start=date(int(code), 9, 1), status=status,
    )
    design = SampleDesign.objects.create(
        wave=wave, frame=frame, name="design", allocation=SampleDesign.Allocation.PROPORTIONAL,
        psu_total=1, households_per_psu=10,
    )
    draw = SampleDraw.objects.create(design=design, seed=1)
    stratum = Stratum.objects.create(design=design, code=town.code, town=town, frame_units=1, frame_size=800.0, psu_allocated=1)
    sampled = SampledUnit.objects.create(draw=draw, unit=unit, stratum=stratum, probability=0.5, selection_order=0)
    return wave, draw, sampled, stratum


@pytest.fixture
def contacts_county(db: Any) -> ContactsCounty:
    from assessment.models import Case, County, Frame, FrameUnit, Household, HouseholdMember, Town, Village, Wave
    from assessment.services.fieldwork import invitations_issue

    county = County.objects.create(code="370197", name_zh="保留县", name_en="Retention County")
    town = Town.objects.create(county=county, code="rt-town", name_zh="保留镇", name_en="rt", kind=Town.Kind.TOWN, order=0)
    village = Village.objects.create(
        town=town, code="370197-rt-v01", name_zh="李庄村", kind=Village.Kind.VILLAGE, urban_rural="rural",
        population=800, households=250,
    )
    frame = Frame.objects.create(county=county, name="frame", kind=Frame.Kind.AREA, reference_year=2020)
    unit = FrameUnit.objects.create(
        frame=frame, code=village.code, name=village.name_zh, town=town, village=village, urban_rural="rural",
        measure_of_size=800.0, households=250,
    )
    shared = Household.objects.create(unit=unit, code="h-shared", size=2, address="李庄村8号", head_name="王建国")
    cases = {}
    for code in ("2024", "2025"):
        wave, draw, sampled, _ = _wave(county, town, frame, unit, code, Wave.Status.FIELDWORK)
        for n in (1, 2):
            household = shared if n == 2 else Household.objects.create(
                unit=unit, code=f"h{code}-{n}", size=3, address=f"李庄村{code}-{n}号", head_name=f"户主{code}{n}"
            )
            case = Case.objects.create(
                draw=draw, sampled_unit=sampled, household=household, wave=wave, town=town, code=f"rt-{code}-{n}",
                prob_psu=0.5, prob_household=0.1, prob_person=0.5, contact_name=f"联系人{code}{n}",
                contact_phone=f"1391234{code}{n}",
            )
            HouseholdMember.objects.create(case=case, line=1, name=f"成员{code}{n}", sex="female", age=40, selected=True)
            HouseholdMember.objects.create(case=case, line=2, name="", sex="male", age=12, eligible=False)
            cases[case.code] = case
        invitations_issue(cases=[cases[f"rt-{code}-1"]])
    Wave.objects.filter(county=county, code="2024").update(status=Wave.Status.CLOSED)  # its fieldwork over
    return ContactsCounty(
        closed=Wave.objects.get(county=county, code="2024"), open=Wave.objects.get(county=county, code="2025"),
        cases=cases, shared_household=shared,
    )


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        wait_for(answers, "redis-server", 20)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        server.terminate()
        server.wait(10)
