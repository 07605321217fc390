"""Build the benchmark's survey: the real banks published, one fielded wave, N sampled
households each with a live invitation.  Writes the tokens and each instrument's answerable
items as JSON for the load generator.

    DJANGO_SETTINGS_MODULE=… DATABASE_URL=… python bench/load/survey.py N OUT.json
"""
from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
django.setup()

from django.db import transaction  # noqa: E402

from assessment.demo.build import ELIGIBILITY, FIELDED  # noqa: E402
from assessment.models import (  # noqa: E402
    Case,
    County,
    Frame,
    FrameUnit,
    SampleDesign,
    SampleDraw,
    SampledUnit,
    Stratum,
    Town,
    Wave,
    WaveInstrument,
)
from questionnaires.invitations import invitation_create  # noqa: E402
from questionnaires.models import InstrumentVersion, Item  # noqa: E402
from questionnaires.services import instrument_import, instrument_publish  # noqa: E402

BANKS = Path(__file__).resolve().parents[2] / "questionnaires" / "banks"
SUBMITTED = ("demographics", "science_literacy")


def items_of(version: InstrumentVersion) -> list[dict[str, object]]:
    """Return the items a respondent answers: name, type and the choice names."""
    found = []
    for item in version.items.select_related("choice_list").order_by("order"):
        if item.type == Item.Type.NOTE or item.relevant:
            continue
        choices = [c.name for c in item.choice_list.choices.order_by("order")] if item.choice_list else []
        found.append({"name": item.name, "type": item.type, "choices": choices, "required": item.required})
    return found


@transaction.atomic
def build(invitations: int) -> dict[str, object]:
    versions = {}
    for code in FIELDED:
        path = BANKS / f"{code}.md"
        versions[code] = instrument_publish(version=instrument_import(data=path.read_bytes(), filename=path.name))
    county = County.objects.create(code="990001", name_zh="压测县", name_en="Load County")
    town = Town.objects.create(county=county, code="yushan", name_zh="榆山街道", name_en="Yushan", kind=Town.Kind.STREET)
    wave = Wave.objects.create(
        county=county, code="2025", year=2025, name_zh="2025年压测", name_en="Load 2025",
        status=Wave.Status.FIELDWORK, fieldwork_start=date(2025, 9, 1),
    )
    for order, (code, version) in enumerate(versions.items()):
        WaveInstrument.objects.create(
            wave=wave, instrument_version=version, scoring_key=version.scoring_keys.order_by("-version").first(),
            order=order, eligibility=ELIGIBILITY.get(code, ""),
        )
    frame = Frame.objects.create(county=county, name="抽样框", kind=Frame.Kind.AREA, reference_year=2020)
    unit = FrameUnit.objects.create(frame=frame, code="load-psu", name="东关社区", town=town, urban_rural="urban",
                                    measure_of_size=2400, households=invitations * 4)
    design = SampleDesign.objects.create(
        wave=wave, frame=frame, name="压测", stratify_by=["town"], allocation=SampleDesign.Allocation.PROPORTIONAL,
        psu_total=1, households_per_psu=invitations,
    )
    stratum = Stratum.objects.create(design=design, code=town.code, town=town, frame_units=1, frame_size=2400, psu_allocated=1)
    draw = SampleDraw.objects.create(design=design, seed=1)
    sampled = SampledUnit.objects.create(draw=draw, stratum=stratum, unit=unit, probability=1.0, selection_order=0)
    cases = Case.objects.bulk_create(
        Case(draw=draw, sampled_unit=sampled, wave=wave, town=town, code=f"L{n:06d}", prob_psu=1.0,
             prob_household=0.25, prob_person=0.5)
        for n in range(invitations)
    )
    tokens = [invitation_create(case=case, label="load") for case in cases]
    return {"tokens": tokens, "town": town.code, "items": {code: items_of(versions[code]) for code in SUBMITTED}}


if __name__ == "__main__":
    count, out = int(sys.argv[1]), Path(sys.argv[2])
    out.write_text(json.dumps(build(count)))
