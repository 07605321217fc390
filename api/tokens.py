"""Issue, check and revoke API tokens (192 random bits; the database keeps only their SHA-256)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from api.models import ApiToken
from assessment import access
from assessment.models import AuditEvent


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _county_of(user: AbstractBaseUser) -> int | None:
    """The county of a token's holder (their staff profile's), for the audit log."""
    profile = access.profile_of(user)
    return profile.county_id if profile is not None else None


@transaction.atomic
def api_token_issue(
    *, user: AbstractBaseUser, name: str, days: int | None = None, actor: AbstractBaseUser | None = None
) -> tuple[ApiToken, str]:
    """Create a token for USER and return it with its plain key (shown once, never stored)."""
    key = secrets.token_urlsafe(24)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=key[:8], key_hash=token_digest(key),
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    AuditEvent.objects.create(
        actor=actor, action="api_token.issue", object_type="ApiToken", object_id=str(token.pk),
        summary=f"{user} · {name} ({token.prefix}…)", county_id=_county_of(user),
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: AbstractBaseUser | None = None) -> ApiToken:
    """Revoke TOKEN at once (idempotent)."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        AuditEvent.objects.create(
            actor=actor, action="api_token.revoke", object_type="ApiToken", object_id=str(token.pk),
            summary=f"{token.user} · {token.name} ({token.prefix}…)", county_id=_county_of(token.user),
        )
    return token


def api_token_find(key: str) -> ApiToken | None:
    """Return the live token whose plain key is KEY, or None."""
    token = ApiToken.objects.select_related("user").filter(key_hash=token_digest(key)).first()
    return token if token is not None and token.is_live and token.user.is_active else None
