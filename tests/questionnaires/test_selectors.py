"""What a respondent has to answer next, and what they have answered."""
from __future__ import annotations

import uuid
from typing import Any

from questionnaires.selectors import case_answers, next_step, respondent_plan
from questionnaires.services import Submission, response_submit
from tests.questionnaires.builders import ADULT_FARMER, FieldedCase, correct_answers


def answer(fielded: FieldedCase, code: str, answers: dict[str, Any]) -> None:
    context = case_answers(fielded.case, "demographics") if code != "demographics" else None
    response_submit(
        wave=fielded.wave, version=fielded.versions[code], case=fielded.case, context=context,
        submission=Submission(client_id=uuid.uuid4(), answers=answers),
    )


def statuses(fielded: FieldedCase) -> list[tuple[str, str]]:
    return [(step.code, step.status) for step in respondent_plan(fielded.case)]


def test_plan_of_a_new_household(fielded: FieldedCase) -> None:
    assert statuses(fielded) == [
        ("demographics", "todo"), ("science_literacy", "waiting"), ("health_literacy", "waiting"),
    ]
    step = next_step(respondent_plan(fielded.case))
    assert step is not None and step.code == "demographics"


def test_plan_after_demographics_follows_eligibility(fielded: FieldedCase) -> None:
    answer(fielded, "demographics", {**ADULT_FARMER, "age": 16, "occupation": "student"})
    assert statuses(fielded) == [
        ("demographics", "done"), ("science_literacy", "not_eligible"), ("health_literacy", "todo"),
    ]
    step = next_step(respondent_plan(fielded.case))
    assert step is not None and step.code == "health_literacy"


def test_plan_is_finished_when_everything_due_is_done(fielded: FieldedCase) -> None:
    answer(fielded, "demographics", {**ADULT_FARMER, "age": 70})
    answer(fielded, "health_literacy", correct_answers(fielded.key("health_literacy")))
    assert statuses(fielded) == [
        ("demographics", "done"), ("science_literacy", "not_eligible"), ("health_literacy", "done"),
    ]
    assert next_step(respondent_plan(fielded.case)) is None


def test_case_answers(fielded: FieldedCase) -> None:
    assert case_answers(fielded.case, "demographics") == {}
    answer(fielded, "demographics", ADULT_FARMER)
    assert case_answers(fielded.case, "demographics") == ADULT_FARMER
    assert case_answers(fielded.case, "health_literacy") == {}
