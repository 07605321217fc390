"""Reads for the offline pages: what the respondent and enumerator apps need on the device."""
from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import get_language

from assessment.models import WaveInstrument
from questionnaires import expressions
from questionnaires.models import Invitation
from questionnaires.selectors import PlanStep

# The service worker's cache of pages (questionnaires, case lists); its shell cache is versioned.
PAGE_CACHE = "suyang-pages"


def eligibility_trees(wave_id: int) -> dict[int, Any]:
    """Return {instrument version id: parsed eligibility rule or None} for the wave's questionnaires."""
    rules = WaveInstrument.objects.filter(wave_id=wave_id).values_list("instrument_version_id", "eligibility")
    return {version_id: expressions.parse(rule) if rule and rule.strip() else None for version_id, rule in rules}


def plan_steps(token: str, plan: list[PlanStep], rules: dict[int, Any]) -> list[dict[str, Any]]:
    """Return the plan as the page scripts read it: code, title, server status, URL and eligibility rule."""
    lang_en = (get_language() or "").startswith("en")
    return [
        {
            "code": s.code,
            "title": (s.version.title_en or s.version.title_zh) if lang_en else s.version.title_zh,
            "status": s.status,
            "url": reverse("questionnaire", args=[token, s.code]),
            "eligible": rules.get(s.version.pk),
        }
        for s in plan
    ]


def plan_pages(token: str, plan: list[PlanStep]) -> list[str]:
    """Return the pages a device keeps to answer the case's questionnaires offline."""
    return [reverse("invitation", args=[token])] + [
        reverse("questionnaire", args=[token, s.code]) for s in plan if s.status in ("todo", "waiting")
    ]


def respondent_boot(invitation: Invitation, plan: list[PlanStep], *, code: str) -> dict[str, Any]:
    """Return what the respondent page script needs to work offline from this page on."""
    token = invitation.token
    return {
        "token": token,
        "code": code,
        "home": reverse("invitation", args=[token]),
        "submit": reverse("api-submission", args=[token]),
        "plan": plan_steps(token, plan, eligibility_trees(invitation.wave_id)),
        "sw": reverse("service_worker"),
        "field": reverse("field"),
        "pages": PAGE_CACHE,
    }
