"""Quality flags on responses and the supervisors' review of them."""
from __future__ import annotations

import hashlib
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from assessment import access, quality
from assessment.errors import FieldworkError, WaveClosed
from assessment.models import AuditEvent, Case, Wave
from assessment.models.audit import county_of_wave
from questionnaires.models import Item, Response, ResponseScore, ReviewDecision, ScoringKey
from scoring.adapters import DEMOGRAPHICS, DataProblem, wave_key

CHOICE_TYPES = (Item.Type.TRUE_FALSE, Item.Type.SINGLE, Item.Type.LIKERT)
MIN_ITEMS_FOR_DUPLICATES = 10  # short sheets (demographics) legitimately coincide
MIN_SHARED_ERRORS = 5  # identical test sheets must share this many wrong answers to count as copies
THRESHOLDS: dict[str, float] = {
    "speeding_share": 0.5,
    "speeding_min_n": 10,
    "straightlining_share": 0.9,
    "straightlining_min_items": 8,
    "enumerator_z": 3.29,
    "enumerator_min_effect": 0.5,
    "enumerator_min_n": 10,
}


def _batteries(version_id: int, min_items: int) -> list[tuple[list[str], list[str]]]:
    """Return (option names in order, item names) of each set of at least MIN_ITEMS non-randomised
    choice items sharing the same options (e.g. all true/false items): straight-lining is the
    same answer position across such a battery."""
    items = (
        Item.objects.filter(version_id=version_id, type__in=CHOICE_TYPES, choice_list__isnull=False, randomize=False)
        .select_related("choice_list")
        .prefetch_related("choice_list__choices")
        .order_by("order")
    )
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for item in items:
        groups[tuple(c.name for c in item.choice_list.choices.all())].append(item.name)  # type: ignore[union-attr]
    return [(list(options), names) for options, names in groups.items() if len(names) >= min_items]


def _answers_hash(answers: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(answers, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Scored:
    share: float  # total points / maximum
    wrong: int  # answered items that earned no points


def _scores(wave: Wave, code: str, ids: list[int]) -> dict[int, Scored]:
    """Return the official-key scores of the responses IDS ({} for an unscored instrument)."""
    try:
        key: ScoringKey = wave_key(wave, code)
    except DataProblem:
        return {}
    return {
        rid: Scored(total / maximum, sum(1 for v in items.values() if v == 0))
        for rid, total, maximum, items in ResponseScore.objects.filter(key=key, response_id__in=ids).values_list(
            "response_id", "total_points", "max_points", "item_points"
        )
        if maximum
    }


def response_flags(wave: Wave, limits: dict[str, float] = THRESHOLDS) -> dict[int, list[dict[str, Any]]]:
    """Return {response id: flags} for the wave's responses that are not rejected (pure reads)."""
    rows = list(
        Response.objects.filter(wave=wave)
        .exclude(review=Response.Review.REJECTED)
        .select_related("instrument_version__instrument")
        .only("pk", "case_id", "mode", "enumerator_id", "duration_seconds", "answers", "instrument_version__instrument__code")
        .order_by("pk")
    )
    psu_of = dict(
        Response.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", "case__sampled_unit_id")
    )
    flags: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_code: dict[str, list[Response]] = defaultdict(list)
    for r in rows:
        by_code[r.instrument_version.instrument.code].append(r)
    for code, rs in by_code.items():
        durations = [float(r.duration_seconds) if r.duration_seconds else math.nan for r in rs]
        fast, median = quality.speeding(durations, share=limits["speeding_share"], min_n=int(limits["speeding_min_n"]))
        for r, f, d in zip(rs, fast, durations):
            if f:
                flags[r.pk].append({"code": "speeding", "seconds": int(d), "median": round(median)})

        per_case = Counter(r.case_id for r in rs if r.case_id is not None)
        for r in rs:
            if r.case_id is not None and per_case[r.case_id] > 1:
                flags[r.pk].append({"code": "duplicate_case", "count": per_case[r.case_id]})

        # Identical sheets are evidence of copying only through what they share that chance would not:
        # enough items (unscored questionnaires) or the same wrong answers (tests, where the best
        # respondents legitimately give the same all-correct sheet).
        scores = _scores(wave, code, [r.pk for r in rs]) if code != DEMOGRAPHICS else {}
        long_sheets = [
            r for r in rs
            if r.case_id is not None and len(r.answers) >= MIN_ITEMS_FOR_DUPLICATES
            and (not scores or (r.pk in scores and scores[r.pk].wrong >= MIN_SHARED_ERRORS))
        ]
        hashes = [_answers_hash(r.answers) for r in long_sheets]
        same = quality.duplicates(hashes, [r.case_id for r in long_sheets])
        cases_of: dict[str, set[int]] = defaultdict(set)
        for r, h in zip(long_sheets, hashes):
            cases_of[h].add(r.case_id)  # type: ignore[arg-type]
        codes = dict(Case.objects.filter(pk__in={r.case_id for r, d in zip(long_sheets, same) if d}).values_list("pk", "code"))
        for r, h, dup in zip(long_sheets, hashes, same):
            if dup:
                others = sorted(codes[c] for c in cases_of[h] if c != r.case_id)
                flags[r.pk].append({"code": "duplicate_answers", "cases": others[:5]})

        for version_id in {r.instrument_version_id for r in rs}:
            mine = [r for r in rs if r.instrument_version_id == version_id]
            for options, names in _batteries(version_id, int(limits["straightlining_min_items"])):
                positions = np.asarray(
                    [[options.index(r.answers[n]) if r.answers.get(n) in options else -1 for n in names] for r in mine],
                    dtype=np.int64,
                ).reshape(len(mine), len(names))
                lined, modal = quality.straightlining(
                    positions, share=limits["straightlining_share"], min_items=int(limits["straightlining_min_items"])
                )
                for r, f, share in zip(mine, lined, modal):
                    if f:
                        flags[r.pk].append({"code": "straightlining", "share": round(float(share), 3), "items": len(names)})

        if scores:
            scored = [r for r in rs if r.pk in scores and psu_of.get(r.pk) is not None]
            effects = quality.enumerator_effects(
                [scores[r.pk].share for r in scored],
                [r.enumerator_id if r.mode == Response.Mode.INTERVIEWER else None for r in scored],
                [psu_of[r.pk] for r in scored],
                z_limit=limits["enumerator_z"], min_effect=limits["enumerator_min_effect"], min_n=int(limits["enumerator_min_n"]),
            )
            outliers = {e.enumerator: e for e in effects if e.flagged}
            for r in scored:
                e = outliers.get(r.enumerator_id) if r.mode == Response.Mode.INTERVIEWER else None
                if e is not None:
                    flags[r.pk].append({"code": "enumerator_effect", "z": round(e.z, 2), "effect": round(e.effect_size, 2)})
    return dict(flags)


@transaction.atomic
def responses_flag(*, wave: Wave, user: AbstractBaseUser | None = None) -> dict[str, int]:
    """Store the quality flags of WAVE's responses and mark newly flagged ones for review.

    Flags are recomputed from scratch; a response with flags and no decision yet is `flagged`,
    one whose flags are gone returns to `none`; approved and rejected responses keep their
    decision.  Returns the number of responses per flag code.
    """
    found = response_flags(wave)
    changed = []
    for r in Response.objects.filter(wave=wave).exclude(review=Response.Review.REJECTED).only("pk", "flags", "review"):
        new = found.get(r.pk, [])
        review = r.review
        if new and review == Response.Review.NONE:
            review = Response.Review.FLAGGED
        elif not new and review == Response.Review.FLAGGED:
            review = Response.Review.NONE
        if new != r.flags or review != r.review:
            r.flags, r.review = new, review
            changed.append(r)
    Response.objects.bulk_update(changed, ["flags", "review"], batch_size=500)
    counts = Counter(f["code"] for fs in found.values() for f in fs)
    AuditEvent.objects.create(
        actor=user if user is not None and user.is_authenticated else None,
        action="responses.flag", object_type="Wave", object_id=str(wave.pk), county_id=wave.county_id,
        summary=f"{wave.code}: {len(found)} responses flagged, {len(changed)} changed"[:255],
        details={"flags": dict(counts), "changed": len(changed)},
    )
    return dict(counts)


@dataclass(frozen=True)
class ReviewOutcome:
    responses: list[Response]  # the response decided, and any rejected with it


@transaction.atomic
def response_review(*, response: Response, decision: str, reason: str, user: AbstractBaseUser) -> ReviewOutcome:
    """Approve or reject RESPONSE with REASON (ReviewDecision and AuditEvent).

    Rejecting a household's demographics rejects its other questionnaires too: without
    demographics they can be neither classified nor weighted.  Rejected responses are left
    out of estimates; the wave's weight sets then need recomputing.  A closed wave's review is
    final (WaveClosed).
    """
    if decision not in (Response.Review.APPROVED, Response.Review.REJECTED):
        raise FieldworkError(_("审核决定须为“通过”或“剔除”。"))
    reason = reason.strip()
    if not reason:
        raise FieldworkError(_("请填写审核理由。"))
    if not access.can_review_response(user, response):
        raise PermissionDenied(_("无权审核这份答卷。"))
    if not access.wave_open(response.wave):
        raise WaveClosed(response.wave.code)
    decided = [response]
    if decision == Response.Review.REJECTED and response.instrument_version.instrument.code == DEMOGRAPHICS and response.case_id:
        decided += list(
            Response.objects.filter(case_id=response.case_id).exclude(pk=response.pk).exclude(review=Response.Review.REJECTED)
        )
    for r in decided:
        ReviewDecision.objects.create(response=r, reviewer=user, decision=decision, reason=reason[:255])
        r.review = decision
        r.save(update_fields=["review"])
        AuditEvent.objects.create(
            actor=user, action="response.review", object_type="Response", object_id=str(r.pk),
            county_id=county_of_wave(r.wave_id),
            summary=f"{decision}: {reason}"[:255],
            details={"decision": decision, "reason": reason, "flags": r.flags, "with": response.pk if r is not response else None},
        )
    return ReviewOutcome(decided)
