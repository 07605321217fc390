"""Invitation links: unguessable (192-bit) tokens bound to one case, expiring, revocable."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assessment.models import Case
from questionnaires.models import Invitation

_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{32}$")


class InvitationInvalid(LookupError):
    """A token that opens nothing; `reason` says why in words a respondent can act on."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def is_token_shaped(token: object) -> bool:
    """Return whether TOKEN could be a token (32 url-safe characters) before any lookup."""
    return isinstance(token, str) and _TOKEN.fullmatch(token) is not None  # match() lets "$" pass a final "\n"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@transaction.atomic
def invitation_create(*, case: Case, days: int | None = None, label: str = "") -> str:
    """Create the live invitation of CASE (revoking an older one) and return its token."""
    Invitation.objects.filter(case=case, revoked=False).update(revoked=True)
    token = secrets.token_urlsafe(24)  # 24 random bytes -> 32 url-safe characters
    Invitation.objects.create(
        wave_id=case.wave_id,
        case=case,
        token_hash=token_hash(token),
        token=token,
        expires_at=timezone.now() + timedelta(days=settings.SUYANG_INVITATION_DAYS if days is None else days),
        label=label,
    )
    return token


def invitation_find(token: str, memo: Any = None) -> Invitation | None:
    """Return the invitation TOKEN belongs to, live or not (None if none or malformed).

    MEMO (the request, say) keeps the answer, so the throttle that checks a token and the view
    that opens it read the database once.
    """
    found: dict[str, Invitation | None] = getattr(memo, "_suyang_invitations", None) or {}
    if token in found:
        return found[token]
    invitation = None
    if is_token_shaped(token):
        invitation = (
            Invitation.objects.select_related("case", "wave").filter(token_hash=token_hash(token)).first()
        )
    if memo is not None:
        found[token] = invitation
        memo._suyang_invitations = found
    return invitation


def invitation_is_live(invitation: Invitation | None) -> bool:
    return invitation is not None and not invitation.revoked and invitation.expires_at > timezone.now()


def invitation_open(token: str, memo: Any = None) -> Invitation:
    """Return the live invitation for TOKEN; raise InvitationInvalid otherwise."""
    if not is_token_shaped(token):
        raise InvitationInvalid("malformed")
    invitation = invitation_find(token, memo)
    if invitation is None:
        raise InvitationInvalid("unknown")
    if invitation.revoked:
        raise InvitationInvalid("revoked")
    if invitation.expires_at <= timezone.now():
        raise InvitationInvalid("expired")
    if invitation.first_opened_at is None:
        now = timezone.now()
        Invitation.objects.filter(pk=invitation.pk, first_opened_at__isnull=True).update(first_opened_at=now)
        invitation.first_opened_at = now
    return invitation
