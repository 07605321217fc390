"""A minimal fielded wave built from the real item banks: one county, one town, one sampled
household with a live invitation.  Shared by the page tests and the browser tests.

Plain functions (not fixtures) so that transactional browser tests can build it themselves.
Codes and names differ from the demo county's, so the survey can sit next to it in the same
database (the session's demo county is committed, and the banks' published versions are shared).
"""
from __future__ import annotations

from dataclasses import dataclass
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
from questionnaires.invitations import invitation_create
from questionnaires.models import InstrumentVersion, Item, ScoringKey
from questionnaires.services import instrument_import, instrument_publish

BANKS = Path(__file__).resolve().parents[2] / "questionnaires" / "banks"


@dataclass
class Survey:
    county: County
    town: Town
    wave: Wave
    case: Case
    token: str
    versions: dict[str, InstrumentVersion]
    keys: dict[str, ScoringKey]


def publish_banks(codes: tuple[str, ...] = FIELDED) -> dict[str, InstrumentVersion]:
    """Import and publish the real banks CODES; return their published versions."""
    # Compiled forms are cached per version pk for the whole process; a rolled-back test may
    # have cached another instrument under a pk that is now reused.
    forms._published.cache_clear()
    versions = {}
    for code in codes:
        path = BANKS / f"{code}.md"
        versions[code] = instrument_publish(version=instrument_import(data=path.read_bytes(), filename=path.name))
    return versions


def county_with_town(code: str = "990124", name_zh: str = "平阴县", town_code: str = "yushan") -> tuple[County, Town]:
    county = County.objects.create(code=code, name_zh=name_zh, name_en="Pingyin County")
    town = Town.objects.create(county=county, code=town_code, name_zh="榆山街道", name_en="Yushan Subdistrict", kind=Town.Kind.STREET)
    return county, town


def fielded_wave(county: County, versions: dict[str, InstrumentVersion], *, code: str = "2025", year: int = 2025) -> tuple[Wave, dict[str, ScoringKey]]:
    """Return a wave in fieldwork that fields VERSIONS in order with the demo's eligibility rules."""
    wave = Wave.objects.create(
        county=county,
        code=code,
        year=year,
        name_zh=f"{year}年平阴县公民科学素质与健康素养调查",
        name_en=f"Pingyin County science and health literacy survey {year}",
        status=Wave.Status.FIELDWORK,
        fieldwork_start=date(year, 9, 1),
    )
    keys = {}
    for order, (instrument, version) in enumerate(versions.items()):
        key = version.scoring_keys.order_by("-version").first()
        keys[instrument] = key
        WaveInstrument.objects.create(
            wave=wave, instrument_version=version, scoring_key=key, order=order, eligibility=ELIGIBILITY.get(instrument, "")
        )
    return wave, keys


def sampled_case(wave: Wave, town: Town, *, code: str = "T2025-yushan-0001") -> Case:
    """Return one sampled household of WAVE in TOWN (frame → design → stratum → draw → unit → case)."""
    frame = Frame.objects.create(county=wave.county, name="抽样框", kind=Frame.Kind.AREA, reference_year=2020)
    unit = FrameUnit.objects.create(
        frame=frame, code=f"{code}-psu", name="东关社区", town=town, urban_rural="urban", measure_of_size=2400, households=800
    )
    design = SampleDesign.objects.create(
        wave=wave, frame=frame, name="测试抽样设计", stratify_by=["town"],
        allocation=SampleDesign.Allocation.PROPORTIONAL, psu_total=1, households_per_psu=10,
    )
    stratum = Stratum.objects.create(design=design, code=town.code, town=town, frame_units=1, frame_size=2400, psu_allocated=1)
    draw = SampleDraw.objects.create(design=design, seed=1)
    sampled = SampledUnit.objects.create(draw=draw, stratum=stratum, unit=unit, probability=0.25, selection_order=0)
    return Case.objects.create(
        draw=draw, sampled_unit=sampled, wave=wave, town=town, code=code,
        prob_psu=0.25, prob_household=10 / 800, prob_person=0.5,
    )


def build_survey() -> Survey:
    """Return a fielded wave with one sampled household and its live invitation token."""
    versions = publish_banks()
    county, town = county_with_town()
    wave, keys = fielded_wave(county, versions)
    case = sampled_case(wave, town)
    token = invitation_create(case=case, label="test")
    return Survey(county=county, town=town, wave=wave, case=case, token=token, versions=versions, keys=keys)


DEMOGRAPHICS_ADULT = {
    "age": "40",
    "sex": "female",
    "education": "senior_secondary",
    "occupation": "farmer",
    "residence": "rural",
    "town": "yushan",
}


def correct_answers(key: ScoringKey) -> dict[str, Any]:
    """Return an all-correct answer sheet for KEY's instrument (first option where nothing is scored)."""
    correct = {ik.item.name: list(ik.correct) for ik in key.item_keys.select_related("item")}
    answers: dict[str, Any] = {}
    for item in key.instrument_version.items.select_related("choice_list").order_by("order"):
        if item.type == Item.Type.NOTE:
            continue
        if item.name in correct:
            answers[item.name] = correct[item.name] if item.type == Item.Type.MULTIPLE else correct[item.name][0]
        elif item.required and item.choice_list is not None:
            answers[item.name] = item.choice_list.choices.order_by("order").first().name
    return answers


def as_post(answers: dict[str, Any], client_id: str, started_at: str = "") -> dict[str, Any]:
    """Return ANSWERS as the questionnaire form posts them (q_<name>, lists for checkboxes)."""
    data: dict[str, Any] = {"client_id": client_id, "started_at": started_at}
    for name, value in answers.items():
        data[f"q_{name}"] = value
    return data
