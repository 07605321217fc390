"""Database builders for the questionnaires tests: the real banks imported, and a minimal
fielded wave (one county, one town, one sampled household with a live invitation)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from assessment.demo.fielded import answers_correct as correct_answers  # noqa: F401  (the tests' name)
from assessment.demo.fielded import county_with_town, households_sampled
from assessment.models import (
    Case,
    County,
    Frame,
    SampleDesign,
    SampledUnit,
    Town,
    Wave,
    WaveInstrument,
)
from questionnaires.invitations import invitation_create
from questionnaires.models import Instrument, InstrumentVersion, Item, ScoringKey
from questionnaires.services import instrument_import, instrument_publish
from tests.questionnaires.xlsform_tables import BANKS_DIR, MINI_FORM


def bank_import(code: str, *, publish: bool = True) -> InstrumentVersion:
    """Import (and publish) the real item bank CODE."""
    path = BANKS_DIR / f"{code}.md"
    version = instrument_import(data=path.read_bytes(), filename=path.name)
    return instrument_publish(version=version) if publish else version


def key_of(version: InstrumentVersion) -> ScoringKey:
    return version.scoring_keys.get(version=1)


def mini_import(*, publish: bool = True) -> InstrumentVersion:
    """Import the mini test form (tests/fixtures/forms/mini_test.md)."""
    version = instrument_import(data=MINI_FORM.read_bytes(), filename=MINI_FORM.name)
    return instrument_publish(version=version) if publish else version


@dataclass
class FieldedCase:
    county: County
    town: Town
    wave: Wave
    case: Case
    token: str
    versions: dict[str, InstrumentVersion]

    def key(self, code: str) -> ScoringKey:
        return key_of(self.versions[code])


def sampled_case(wave: Wave, town: Town, code: str) -> Case:
    """Return one sampled household of WAVE."""
    return households_sampled(wave, town, [code])[0]


TEST_COUNTY = "379901"  # not the demo county's code, so both can live in one test database


def county_wave() -> Wave:
    """Return a wave in fieldwork of a new county with one town (yushan)."""
    county, _ = county_with_town(TEST_COUNTY, "测试县", "Test County")
    return Wave.objects.create(
        county=county, code="2025", year=2025, name_zh="2025年调查", name_en="Survey 2025",
        status=Wave.Status.FIELDWORK, fieldwork_start=date(2025, 9, 1),
    )


def fielded_case() -> FieldedCase:
    """A wave in fieldwork fielding the demo's instruments, one household and its live invitation."""
    # Imported here: the demo builder pulls in much of the project, which other tests need not load.
    from assessment.demo.build import ELIGIBILITY, FIELDED

    versions = {code: bank_import(code) for code in FIELDED}
    wave = county_wave()
    county, town = wave.county, wave.county.towns.get()
    for order, code in enumerate(FIELDED):
        WaveInstrument.objects.create(
            wave=wave, instrument_version=versions[code], scoring_key=key_of(versions[code]),
            order=order, eligibility=ELIGIBILITY[code],
        )
    case = sampled_case(wave, town, "test-2025-0001")
    token = invitation_create(case=case, label="test")
    return FieldedCase(county=county, town=town, wave=wave, case=case, token=token, versions=versions)


def fielded_delete(fielded: FieldedCase, versions: list[int]) -> None:
    """Delete what fielded_case() committed, and the instrument VERSIONS it imported."""
    wave = fielded.wave
    Case.objects.filter(wave=wave).delete()  # with its invitations
    SampledUnit.objects.filter(draw__design__wave=wave).delete()
    SampleDesign.objects.filter(wave=wave).delete()  # with its strata and draws
    Wave.objects.filter(pk=wave.pk).delete()
    Frame.objects.filter(county=fielded.county).delete()
    Town.objects.filter(county=fielded.county).delete()
    County.objects.filter(pk=fielded.county.pk).delete()
    ScoringKey.objects.filter(instrument_version__in=versions).delete()
    # Items first: Item.choice_list is PROTECT, so the version's cascade alone stops at them.
    Item.objects.filter(version__in=versions).delete()
    InstrumentVersion.objects.filter(pk__in=versions).delete()
    Instrument.objects.filter(versions__isnull=True).delete()


ADULT_FARMER = {
    "age": 40,
    "sex": "female",
    "education": "senior_secondary",
    "occupation": "farmer",
    "residence": "rural",
    "town": "yushan",
}


ALL_BANKS = ("demographics", "science_literacy", "health_literacy", "occupational_health", "elders", "youth_science")


def every_bank_fielded() -> FieldedCase:
    """A wave in fieldwork fielding every shipped bank (all eligible), one household and its invitation."""
    versions = {code: bank_import(code) for code in ALL_BANKS}
    wave = county_wave()
    for order, code in enumerate(ALL_BANKS):
        WaveInstrument.objects.create(
            wave=wave, instrument_version=versions[code], scoring_key=key_of(versions[code]), order=order,
        )
    case = sampled_case(wave, wave.county.towns.get(), "test-2025-0009")
    token = invitation_create(case=case, label="test")
    return FieldedCase(county=wave.county, town=wave.county.towns.get(), wave=wave, case=case, token=token, versions=versions)
