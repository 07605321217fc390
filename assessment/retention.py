"""Retention: once a wave is closed, its respondents' contact details are deleted (PIPL).

What goes: the cases' contact names and phone numbers, the household rosters' names, and the
listed households' addresses and heads' names (unless a case of a wave still open uses the same
household).  What stays: everything the estimates need (probabilities, dispositions, answers,
scores, weights), none of which names a person.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Q, QuerySet

from assessment.models import AuditEvent, Case, Household, HouseholdMember, Wave


class RetentionError(ValueError):
    """A purge that is not allowed (the wave is still open)."""


@dataclass(frozen=True)
class ContactsPurge:
    """How many records carry (or carried) contact details."""

    cases: int
    members: int
    households: int

    @property
    def total(self) -> int:
        return self.cases + self.members + self.households


def _holding_contacts(wave: Wave) -> tuple[QuerySet[Case], QuerySet[HouseholdMember], QuerySet[Household]]:
    cases = Case.objects.filter(wave=wave).exclude(contact_name="", contact_phone="")
    members = HouseholdMember.objects.filter(case__wave=wave).exclude(name="")
    still_needed = Case.objects.exclude(wave__status=Wave.Status.CLOSED).values("household_id")
    households = (
        Household.objects.filter(pk__in=Case.objects.filter(wave=wave).values("household_id"))
        .exclude(Q(address="") & Q(head_name=""))
        .exclude(pk__in=still_needed)
    )
    return cases, members, households


def wave_contacts_purge(
    *, wave: Wave, apply: bool = False, user: AbstractBaseUser | AnonymousUser | None = None
) -> ContactsPurge:
    """Count (and with APPLY delete) the contact details of a closed wave's respondents.

    Raises RetentionError when the wave is not closed.  Applying is one transaction and leaves
    an audit event with the counts.
    """
    if wave.status != Wave.Status.CLOSED:
        raise RetentionError(
            f"wave {wave.code} is {wave.get_status_display()} ({wave.status}): contact details are kept until it is closed"
        )
    with transaction.atomic():
        cases, members, households = _holding_contacts(wave)
        found = ContactsPurge(cases=cases.count(), members=members.count(), households=households.count())
        if not apply or found.total == 0:
            return found
        cases.update(contact_name="", contact_phone="")
        members.update(name="")
        households.update(address="", head_name="")
        actor = user if user is not None and user.is_authenticated else None
        AuditEvent.objects.create(
            actor=actor, action="contacts.purge", object_type="Wave", object_id=str(wave.pk), county_id=wave.county_id,
            summary=f"contact details of closed wave {wave.code} deleted", details=asdict(found),
        )
    return found
