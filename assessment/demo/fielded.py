"""A small fielded survey built from the real item banks, for tests and benchmarks: published
banks, a county with a town, a wave in fieldwork fielding them with the demo's eligibility rules,
sampled households, and answer sheets.

The page, browser and questionnaire tests and the load benchmark (bench/load/survey.py) all
build their surveys from these, each with its own county code so they can share a database
with the demo county (the banks' published versions are shared).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from assessment.demo.build import ELIGIBILITY, FIELDED
from assessment.models import (
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
from questionnaires import forms
from questionnaires.models import InstrumentVersion, Item, ScoringKey
from questionnaires.services import instrument_import, instrument_publish

BANKS = Path(__file__).resolve().parents[2] / "questionnaires" / "banks"


def banks_publish(codes: Sequence[str] = FIELDED) -> dict[str, InstrumentVersion]:
    """Import and publish the real banks CODES; return their published versions by code."""
    # Compiled forms are cached per version pk for the whole process; a rolled-back test may
    # have cached another instrument under a pk that is now reused.
    forms._published.cache_clear()
    versions = {}
    for code in codes:
        path = BANKS / f"{code}.md"
        versions[code] = instrument_publish(version=instrument_import(data=path.read_bytes(), filename=path.name))
    return versions


def county_with_town(code: str, name_zh: str, name_en: str, town_code: str = "yushan") -> tuple[County, Town]:
    county = County.objects.create(code=code, name_zh=name_zh, name_en=name_en)
    town = Town.objects.create(
        county=county, code=town_code, name_zh="榆山街道", name_en="Yushan Subdistrict", kind=Town.Kind.STREET
    )
    return county, town


def wave_fielding(
    county: County,
    versions: Mapping[str, InstrumentVersion],
    *,
    code: str = "2025",
    year: int = 2025,
    name_zh: str = "",
    name_en: str = "",
    eligibility: Mapping[str, str] = ELIGIBILITY,
) -> tuple[Wave, dict[str, ScoringKey]]:
    """Return a wave in fieldwork fielding VERSIONS in order, each under its latest key, with
    ELIGIBILITY's rules (the demo's by default); and those keys by instrument code."""
    wave = Wave.objects.create(
        county=county, code=code, year=year,
        name_zh=name_zh or f"{year}年{county.name_zh}公民科学素质与健康素养调查",
        name_en=name_en or f"{county.name_en} science and health literacy survey {year}",
        status=Wave.Status.FIELDWORK, fieldwork_start=date(year, 9, 1),
    )
    keys = {}
    for order, (instrument, version) in enumerate(versions.items()):
        key = version.scoring_keys.order_by("-version").first()
        if key is not None:
            keys[instrument] = key
        WaveInstrument.objects.create(
            wave=wave, instrument_version=version, scoring_key=key, order=order,
            eligibility=eligibility.get(instrument, ""),
        )
    return wave, keys


def households_sampled(wave: Wave, town: Town, codes: Sequence[str]) -> list[Case]:
    """Return sampled households of WAVE in TOWN, one per case code, all in one primary unit
    of a one-stratum design (frame → design → stratum → draw → unit → cases)."""
    first = codes[0]
    frame = Frame.objects.create(county=wave.county, name=f"抽样框 {first}", kind=Frame.Kind.AREA, reference_year=2020)
    households = max(800, 4 * len(codes))
    unit = FrameUnit.objects.create(
        frame=frame, code=f"{first}-psu", name="东关社区", town=town, urban_rural="urban",
        measure_of_size=2400, households=households,
    )
    per_psu = max(10, len(codes))
    design = SampleDesign.objects.create(
        wave=wave, frame=frame, name="测试抽样设计", stratify_by=["town"],
        allocation=SampleDesign.Allocation.PROPORTIONAL, psu_total=1, households_per_psu=per_psu,
    )
    stratum = Stratum.objects.create(
        design=design, code=town.code, town=town, frame_units=1, frame_size=2400, psu_allocated=1
    )
    draw = SampleDraw.objects.create(design=design, seed=1)
    sampled = SampledUnit.objects.create(draw=draw, stratum=stratum, unit=unit, probability=0.25, selection_order=0)
    cases = [
        Case(draw=draw, sampled_unit=sampled, wave=wave, town=town, code=code,
             prob_psu=0.25, prob_household=per_psu / households, prob_person=0.5)
        for code in codes
    ]
    return Case.objects.bulk_create(cases)


def answers_correct(key: ScoringKey) -> dict[str, Any]:
    """Return the all-correct answer sheet of KEY's instrument (first option for unscored choices)."""
    correct = {ik.item.name: list(ik.correct) for ik in key.item_keys.select_related("item")}
    answers: dict[str, Any] = {}
    for item in key.instrument_version.items.select_related("choice_list").order_by("order"):
        if item.type == Item.Type.NOTE:
            continue
        if item.name in correct:
            answers[item.name] = correct[item.name] if item.type == Item.Type.MULTIPLE else correct[item.name][0]
        elif item.required and item.choice_list is not None:
            answers[item.name] = item.choice_list.choices.order_by("order").first().name  # type: ignore[union-attr]
    return answers


def items_answerable(version: InstrumentVersion) -> list[dict[str, object]]:
    """Return the items every respondent answers (no notes, no conditional questions): name,
    type, choice names and whether required."""
    found = []
    for item in version.items.select_related("choice_list").order_by("order"):
        if item.type == Item.Type.NOTE or item.relevant:
            continue
        choices = [c.name for c in item.choice_list.choices.order_by("order")] if item.choice_list else []
        found.append({"name": item.name, "type": item.type, "choices": choices, "required": item.required})
    return found
