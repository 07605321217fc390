"""Reads for questionnaires: what a respondent has to answer, and what they have answered."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assessment.models import Case, WaveInstrument
from questionnaires import expressions
from questionnaires.models import InstrumentVersion, Response

DEMOGRAPHICS = "demographics"


@dataclass(frozen=True)
class PlanStep:
    version: InstrumentVersion
    status: str  # done | todo | not_eligible | waiting (needs demographics first)

    @property
    def code(self) -> str:
        return self.version.instrument.code


def case_answers(case: Case, instrument_code: str) -> dict[str, Any]:
    """Return the case's stored answers to one instrument ({} when not answered)."""
    answers = (
        Response.objects.filter(case=case, instrument_version__instrument__code=instrument_code)
        .order_by("-received_at")
        .values_list("answers", flat=True)
        .first()
    )
    return dict(answers or {})


def respondent_plan(case: Case) -> list[PlanStep]:
    """Return the wave's questionnaires for CASE in order, with what is done and still due."""
    fielded = list(
        WaveInstrument.objects.filter(wave_id=case.wave_id)
        .select_related("instrument_version__instrument")
        .order_by("order")
    )
    answered = set(Response.objects.filter(case=case).values_list("instrument_version_id", flat=True))
    demographics = case_answers(case, DEMOGRAPHICS)
    steps = []
    for wi in fielded:
        version = wi.instrument_version
        if version.pk in answered:
            status = "done"
        elif version.instrument.code != DEMOGRAPHICS and not demographics:
            status = "waiting"
        elif wi.eligibility and not expressions.holds(wi.eligibility, demographics):
            status = "not_eligible"
        else:
            status = "todo"
        steps.append(PlanStep(version=version, status=status))
    return steps


def next_step(plan: list[PlanStep]) -> PlanStep | None:
    """Return the first questionnaire still to answer (demographics unlock the rest)."""
    return next((s for s in plan if s.status in ("todo", "waiting")), None)
