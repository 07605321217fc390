"""Who may see and do what: the role and scope rules of DESIGN.md §5, in one place.

Roles: admin (whole county, everything), supervisor (their towns' cases and progress),
enumerator (their assigned cases), official (reports of the county, or of their towns plus
the county report).  Respondents have no account; an invitation token opens one case.

Fieldwork: admins import frames, design and draw samples; supervisors assign, reassign and
review the cases of their towns and watch their progress; enumerators record visits and
rosters of the cases assigned to them.  A case outside a user's scope is treated as absent.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from assessment.models import AuditEvent, Case, County, Role, StaffProfile, Town, Wave
from questionnaires.models import Response

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


def is_supervisor(user: UserLike) -> bool:
    return role_of(user) == Role.SUPERVISOR


def can_manage_frames(user: UserLike, county: County | int) -> bool:
    """Frames, designs and draws are the county survey office's (admins of that county)."""
    profile = profile_of(user)
    county_id = county if isinstance(county, int) else county.pk
    return profile is not None and profile.role == Role.ADMIN and profile.county_id == county_id


def can_design(user: UserLike, wave: Wave) -> bool:
    return can_manage_frames(user, wave.county_id)


def can_monitor(user: UserLike, wave: Wave) -> bool:
    """Fieldwork progress is open to the wave's admins and supervisors (their towns only)."""
    profile = profile_of(user)
    return (
        profile is not None
        and profile.role in (Role.ADMIN, Role.SUPERVISOR)
        and profile.county_id == wave.county_id
    )


def monitored_towns(user: UserLike, wave: Wave) -> QuerySet[Town]:
    """Return the towns of WAVE's county whose progress USER may watch (none if not allowed)."""
    if not can_monitor(user, wave):
        return Town.objects.none()
    towns = Town.objects.filter(county_id=wave.county_id)
    scope = town_scope(user)
    return towns if scope is None else towns.filter(pk__in=scope)


def wave_open(wave: Wave) -> bool:
    """Whether a wave's fieldwork data may still change: cases, assignments, visits, rosters,
    invitations, responses and review decisions.  Once a wave is closed they are final (its
    reports stand on them); an admin reopens it to correct them.  Scores and weights are
    recomputed from those data and stay allowed."""
    return wave.status != Wave.Status.CLOSED


def closed_wave_code(wave_ids: set[int]) -> str | None:
    """Return the code of one closed wave among WAVE_IDS (None if all are open), in one query."""
    return Wave.objects.filter(pk__in=wave_ids, status=Wave.Status.CLOSED).values_list("code", flat=True).first()


def can_see_case(user: UserLike, case: Case) -> bool:
    return visible_cases(user).filter(pk=case.pk).exists()


def can_assign_case(user: UserLike, case: Case) -> bool:
    """Admins assign any case of their county, supervisors the cases of their towns."""
    profile = profile_of(user)
    if profile is None or profile.role not in (Role.ADMIN, Role.SUPERVISOR):
        return False
    return visible_cases(user).filter(pk=case.pk).exists()


def can_work_case(user: UserLike, case: Case) -> bool:
    """Visits and rosters: the assigned enumerator, the town's supervisors, the county's admins."""
    profile = profile_of(user)
    if profile is None or profile.role not in (Role.ADMIN, Role.SUPERVISOR, Role.ENUMERATOR):
        return False
    return visible_cases(user).filter(pk=case.pk).exists()


def assignable_enumerators(user: UserLike) -> QuerySet[AbstractBaseUser]:
    """Return the enumerators USER may hand cases to: the county's (admin), their towns' (supervisor)."""
    User = get_user_model()
    profile = profile_of(user)
    if profile is None or profile.role not in (Role.ADMIN, Role.SUPERVISOR):
        return User.objects.none()
    enumerators = User.objects.filter(staff__role=Role.ENUMERATOR, staff__county_id=profile.county_id, is_active=True)
    if profile.role == Role.SUPERVISOR:
        enumerators = enumerators.filter(staff__towns__in=profile.towns.all())
    return enumerators.distinct().order_by("username")


def can_assign_to(user: UserLike, case: Case, enumerator: AbstractBaseUser) -> bool:
    return can_assign_case(user, case) and assignable_enumerators(user).filter(pk=enumerator.pk).exists()


def visible_responses(user: UserLike) -> QuerySet[Response]:
    """Return the responses USER may review: of the county's cases (admin), of their towns' (supervisor)."""
    profile = profile_of(user)
    if profile is None or profile.role not in (Role.ADMIN, Role.SUPERVISOR):
        return Response.objects.none()
    return Response.objects.filter(case__in=visible_cases(user))


def can_review_response(user: UserLike, response: Response) -> bool:
    return visible_responses(user).filter(pk=response.pk).exists()


def flags_for(user: UserLike, flags: list[dict[str, Any]], memo: dict[str, Any]) -> list[dict[str, Any]]:
    """Return a response's quality FLAGS as USER may see them.

    A `duplicate_answers` flag lists the cases whose sheets are identical, wave-wide; a user
    limited to some towns sees the codes of their cases only, and how many others there are
    (`elsewhere`).  MEMO keeps the codes USER may see for the rest of the request.
    """
    if not any(f.get("code") == "duplicate_answers" for f in flags) or profile_of(user) is None or town_scope(user) is None:
        return flags
    if "codes" not in memo:
        memo["codes"] = set(visible_cases(user).values_list("code", flat=True))
    seen: set[str] = memo["codes"]
    shown = []
    for flag in flags:
        if flag.get("code") == "duplicate_answers":
            cases = flag.get("cases", [])
            flag = {**flag, "cases": [c for c in cases if c in seen], "elsewhere": sum(1 for c in cases if c not in seen)}
        shown.append(flag)
    return shown


# --- API resources (issue 8) ----------------------------------------------------------------


def can_read_waves(user: UserLike) -> bool:
    """Every staff role sees its county's waves, their instruments and targets."""
    return profile_of(user) is not None


def can_read_weights(user: UserLike) -> bool:
    """Weight sets (method, diagnostics) are open to admins, supervisors and officials."""
    return role_of(user) in (Role.ADMIN, Role.SUPERVISOR, Role.OFFICIAL)


def can_run_weighting(user: UserLike, wave: Wave) -> bool:
    return can_manage_frames(user, wave.county_id)


def can_read_estimates(user: UserLike, wave: Wave) -> bool:
    """Estimates are open to whoever may see the wave's county report (admins, officials, supervisors)."""
    return can_view_county_report(user, wave)


def estimate_towns(user: UserLike, wave: Wave) -> QuerySet[Town] | None:
    """Return the towns whose domain cells USER may see, or None for every cell of the county.

    A town official or supervisor sees the county overall and their own towns' cells only
    (cells by another variable are split by town first, so no county-wide breakdown leaks).
    """
    scope = town_scope(user)
    return None if scope is None else scope.filter(county_id=wave.county_id)


def can_read_audit(user: UserLike) -> bool:
    """The audit log is the admins' (read-only; see `audit_in_scope`)."""
    return is_admin(user)


def audit_in_scope(user: UserLike, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """EVENTS an admin may read: their county's and those of what all counties share."""
    profile = profile_of(user)
    if profile is None or profile.role != Role.ADMIN:
        return events.none()
    return events.filter(Q(county_id=profile.county_id) | Q(county__isnull=True))
