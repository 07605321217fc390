"""A minimal fielded wave built from the real item banks: one county, one town, one sampled
household with a live invitation.  Shared by the page tests and the browser tests.

Plain functions (not fixtures) so that transactional browser tests can build it themselves.
Codes and names differ from the demo county's, so the survey can sit next to it in the same
database (the session's demo county is committed, and the banks' published versions are shared).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assessment.demo.fielded import answers_correct as correct_answers  # noqa: F401  (the tests' name)
from assessment.demo.fielded import banks_publish as publish_banks
from assessment.demo.fielded import county_with_town as county_and_town
from assessment.demo.fielded import households_sampled, wave_fielding
from assessment.models import Case, County, Town, Wave
from questionnaires.invitations import invitation_create
from questionnaires.models import InstrumentVersion, ScoringKey


@dataclass
class Survey:
    county: County
    town: Town
    wave: Wave
    case: Case
    token: str
    versions: dict[str, InstrumentVersion]
    keys: dict[str, ScoringKey]


def county_with_town(code: str = "990124", name_zh: str = "平阴县", town_code: str = "yushan") -> tuple[County, Town]:
    return county_and_town(code, name_zh, "Pingyin County", town_code)


def fielded_wave(county: County, versions: dict[str, InstrumentVersion], *, code: str = "2025", year: int = 2025) -> tuple[Wave, dict[str, ScoringKey]]:
    """Return a wave in fieldwork that fields VERSIONS in order with the demo's eligibility rules."""
    return wave_fielding(county, versions, code=code, year=year)


def sampled_case(wave: Wave, town: Town, *, code: str = "T2025-yushan-0001") -> Case:
    """Return one sampled household of WAVE in TOWN."""
    return households_sampled(wave, town, [code])[0]


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


def as_post(answers: dict[str, Any], client_id: str, started_at: str = "") -> dict[str, Any]:
    """Return ANSWERS as the questionnaire form posts them (q_<name>, lists for checkboxes)."""
    data: dict[str, Any] = {"client_id": client_id, "started_at": started_at}
    for name, value in answers.items():
        data[f"q_{name}"] = value
    return data
