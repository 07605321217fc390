"""Fixtures for the page tests: a minimal fielded wave built from the real banks, and staff
of every role.  Deliberately independent of the (slow) demo county."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from assessment.models import Role, StaffProfile, Wave
from tests.frontend.survey_setup import Survey, build_survey, county_with_town, fielded_wave

PASSWORD = "correct-horse-battery"


@pytest.fixture
def survey(db: None) -> Survey:
    return build_survey()


@dataclass
class Staff:
    admin: AbstractBaseUser
    county_official: AbstractBaseUser
    town_official: AbstractBaseUser
    supervisor: AbstractBaseUser
    enumerator: AbstractBaseUser
    no_profile: AbstractBaseUser
    other_wave: Wave


@pytest.fixture
def staff(survey: Survey) -> Staff:
    """One user per role in the survey's county, a user without a staff profile, and a wave
    that belongs to another county."""
    User = get_user_model()

    def make(username: str, role: str | None, towns: tuple = (), **extra: object) -> AbstractBaseUser:
        user = User.objects.create_user(username=username, password=PASSWORD, **extra)
        if role is not None:
            profile = StaffProfile.objects.create(user=user, role=role, county=survey.county)
            profile.towns.set(towns)
        return user

    other_county, _ = county_with_town(code="990125", name_zh="东阿县", town_code="other")
    other_wave, _ = fielded_wave(other_county, {}, code="2025-other", year=2025)
    return Staff(
        admin=make("t_admin", Role.ADMIN, is_staff=True),
        county_official=make("t_official", Role.OFFICIAL),
        town_official=make("t_official_yushan", Role.OFFICIAL, (survey.town,)),
        supervisor=make("t_supervisor_yushan", Role.SUPERVISOR, (survey.town,)),
        enumerator=make("t_enumerator_yushan", Role.ENUMERATOR, (survey.town,)),
        no_profile=make("t_visitor", None),
        other_wave=other_wave,
    )
