"""Throttles of the anonymous doors: invitation links, submissions and the login page.

Rates are settings (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]); a refused request gets 429 with
Retry-After.  Invitation links are counted per client IP, but only the requests whose token
opens nothing (guessing, scraping, a stale link): many respondents share one address behind a
school router or a carrier's NAT, and their live links must keep working.  Submissions are
counted per invitation token, so one device retrying in a loop is slowed down and no one else.
"""
from __future__ import annotations

from typing import Any

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from questionnaires.invitations import invitation_find, invitation_is_live, is_token_shaped, token_hash


class SettingsRateThrottle(SimpleRateThrottle):
    """Read the rate when a request comes (DRF reads it once, at import), so settings can change it."""

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


def _live(request: Any, token: str) -> bool:
    # Kept on the request: the view opening the same token then needs no second lookup.
    return invitation_is_live(invitation_find(token, memo=request))


class InvitationThrottle(SettingsRateThrottle):
    """Requests for invitation tokens that open nothing, per client IP."""

    scope = "invitation"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if _live(request, str(view.kwargs.get("token", ""))):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SubmissionThrottle(SettingsRateThrottle):
    """Submissions per invitation token."""

    scope = "submission"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        token = str(view.kwargs.get("token", ""))
        if request.method != "POST" or not is_token_shaped(token):
            return None  # a malformed token is the invitation throttle's
        return self.cache_format % {"scope": self.scope, "ident": token_hash(token)}


class LoginThrottle(SettingsRateThrottle):
    """Login attempts (POSTs) per client IP."""

    scope = "login"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if request.method != "POST":
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
