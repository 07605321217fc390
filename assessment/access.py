"""Who may see and do what: the role and scope rules of DESIGN.md §5, in one place.

Roles: admin (whole county, everything), supervisor (their towns' cases and progress),
enumerator (their assigned cases), official (reports of the county, or of their towns plus
the county report).  Respondents have no account; an invitation token opens one case.
"""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from assessment.models import Case, Role, StaffProfile, Town, Wave

UserLike = AbstractBaseUser | AnonymousUser


def profile_of(user: UserLike) -> StaffProfile | None:
    """Return the user's staff profile, or None for anonymous users and non-staff."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.staff  # type: ignore[union-attr]
    except StaffProfile.DoesNotExist:
        return None


def role_of(user: UserLike) -> str | None:
    profile = profile_of(user)
    return profile.role if profile else None


def town_scope(user: UserLike) -> QuerySet[Town] | None:
    """Return the towns USER is limited to, or None when USER sees the whole county."""
    profile = profile_of(user)
    if profile is None:
        return Town.objects.none()
    if profile.role == Role.ADMIN:
        return None
    towns = profile.towns.all()
    if profile.role == Role.OFFICIAL and not towns.exists():
        return None
    return towns


def visible_waves(user: UserLike) -> QuerySet[Wave]:
    """Return the waves whose reports USER may open (any staff role of the wave's county)."""
    profile = profile_of(user)
    if profile is None:
        return Wave.objects.none()
    return Wave.objects.filter(county_id=profile.county_id)


def can_view_county_report(user: UserLike, wave: Wave) -> bool:
    """Admins and officials (county or town) see the county report of their county."""
    profile = profile_of(user)
    return (
        profile is not None
        and profile.role in (Role.ADMIN, Role.OFFICIAL, Role.SUPERVISOR)
        and profile.county_id == wave.county_id
    )


def can_view_town_report(user: UserLike, wave: Wave, town: Town) -> bool:
    """A town's report is open to admins, county officials, and that town's officials and supervisors."""
    if not can_view_county_report(user, wave) or town.county_id != wave.county_id:
        return False
    scope = town_scope(user)
    return scope is None or scope.filter(pk=town.pk).exists()


def visible_cases(user: UserLike) -> QuerySet[Case]:
    """Return the cases USER may see: all (admin), their towns' (supervisor), their own (enumerator)."""
    profile = profile_of(user)
    if profile is None:
        return Case.objects.none()
    cases = Case.objects.filter(wave__county_id=profile.county_id)
    if profile.role == Role.ADMIN:
        return cases
    if profile.role == Role.SUPERVISOR:
        return cases.filter(town__in=profile.towns.all())
    if profile.role == Role.ENUMERATOR:
        return cases.filter(assigned_to=profile.user)
    return Case.objects.none()


def is_admin(user: UserLike) -> bool:
    return role_of(user) == Role.ADMIN
