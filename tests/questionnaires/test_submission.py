"""Storing submissions once: idempotent by client id, one per case and instrument, all or nothing."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessment.models import Case, Disposition
from questionnaires import services
from questionnaires.forms import SubmissionError, compiled_form
from questionnaires.models import Response, ResponseScore
from questionnaires.selectors import key_compile, respondent_state
from questionnaires.services import Submission, payload_hash, response_submit
from tests.questionnaires.builders import ADULT_FARMER, FieldedCase, correct_answers, sampled_case

CLIENT_ID = uuid.UUID("6f1c2a4e-0b7d-4c55-9a57-3f2d8e9b1c01")
CLIENT_ID_2 = uuid.UUID("0b9e4d1c-7a2f-4e8b-8c3d-5f6a7b8c9d02")


def stored_in(fielded: FieldedCase) -> Any:
    """Return the responses of the test's wave (a demo county may share the database)."""
    return Response.objects.filter(wave=fielded.wave)


def submit(fielded: FieldedCase, answers: dict[str, Any], client_id: uuid.UUID = CLIENT_ID, **kwargs: Any) -> Any:
    submission_fields = {k: kwargs.pop(k) for k in ("language", "started_at", "submitted_at") if k in kwargs}
    kwargs.setdefault("case", fielded.case)
    stored = response_submit(
        wave=fielded.wave,
        version=fielded.versions["demographics"],
        submission=Submission(client_id=client_id, answers=answers, **submission_fields),
        **kwargs,
    )
    return stored.response, stored.created


def test_first_submission_is_stored_cleaned(fielded: FieldedCase) -> None:
    response, created = submit(fielded, {**ADULT_FARMER, "age": "40"})
    assert created
    stored = stored_in(fielded).get()
    assert stored.pk == response.pk
    assert stored.client_id == CLIENT_ID
    assert stored.answers == ADULT_FARMER  # age stored as the number 40
    assert stored.payload_hash == payload_hash(fielded.versions["demographics"], ADULT_FARMER)
    assert (stored.case_id, stored.wave_id, stored.mode) == (fielded.case.pk, fielded.wave.pk, Response.Mode.SELF)
    assert stored.submitted_at is not None


def test_the_case_is_partial_until_every_eligible_questionnaire_is_in(fielded: FieldedCase) -> None:
    assert fielded.case.disposition == Disposition.PENDING
    submit(fielded, ADULT_FARMER)
    case = Case.objects.get(pk=fielded.case.pk)
    assert case.disposition == Disposition.PARTIAL
    assert case.disposition_at is not None
    for code in ("science_literacy", "health_literacy"):
        assert Case.objects.get(pk=fielded.case.pk).disposition == Disposition.PARTIAL
        response_submit(
            wave=fielded.wave,
            version=fielded.versions[code],
            submission=Submission(client_id=uuid.uuid4(), answers=correct_answers(fielded.key(code))),
            case=case,
            context=ADULT_FARMER,
        )
    assert Case.objects.get(pk=fielded.case.pk).disposition == Disposition.COMPLETE


def test_retry_with_the_same_answers_returns_the_stored_response(fielded: FieldedCase) -> None:
    first, created = submit(fielded, ADULT_FARMER)
    # The same answers spelled differently (age as text) are the same submission.
    again, created_again = submit(fielded, {**ADULT_FARMER, "age": "40"})
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert stored_in(fielded).count() == 1


def test_same_client_id_with_different_answers_is_refused(fielded: FieldedCase) -> None:
    submit(fielded, ADULT_FARMER)
    with pytest.raises(SubmissionError) as caught:
        submit(fielded, {**ADULT_FARMER, "age": 41})
    assert caught.value.errors == {"client_id": "already used for a different submission"}
    assert stored_in(fielded).get().answers["age"] == 40


def test_same_client_id_from_another_household_is_refused(fielded: FieldedCase) -> None:
    submit(fielded, ADULT_FARMER)
    neighbour = sampled_case(fielded.wave, fielded.town, "test-2025-0002")
    with pytest.raises(SubmissionError) as caught:
        submit(fielded, ADULT_FARMER, case=neighbour)
    assert set(caught.value.errors) == {"client_id"}
    assert stored_in(fielded).count() == 1
    assert Case.objects.get(pk=neighbour.pk).disposition == Disposition.PENDING


def test_second_submission_for_the_same_household_and_questionnaire_is_refused(fielded: FieldedCase) -> None:
    submit(fielded, ADULT_FARMER)
    with pytest.raises(SubmissionError) as caught:
        submit(fielded, ADULT_FARMER, client_id=uuid.uuid4())
    assert caught.value.errors == {"case": "this questionnaire has already been submitted for this household"}
    assert stored_in(fielded).count() == 1


def test_invalid_answers_store_nothing(fielded: FieldedCase) -> None:
    with pytest.raises(SubmissionError) as caught:
        submit(fielded, {**ADULT_FARMER, "age": 8, "occupation": "astronaut"})
    assert set(caught.value.errors) == {"answers.age", "answers.occupation"}
    assert not stored_in(fielded).exists()
    assert Case.objects.get(pk=fielded.case.pk).disposition == Disposition.PENDING
    # A corrected submission with the same client id is then accepted.
    _, created = submit(fielded, ADULT_FARMER)
    assert created


def test_submission_without_a_case(fielded: FieldedCase) -> None:
    response, created = submit(fielded, ADULT_FARMER, case=None)
    assert created and response.case is None
    assert Case.objects.get(pk=fielded.case.pk).disposition == Disposition.PENDING
    assert submit(fielded, ADULT_FARMER, case=None) == (response, False)


def test_duration_is_taken_from_the_device_times(fielded: FieldedCase) -> None:
    started = datetime(2025, 9, 10, 8, 0, tzinfo=UTC)
    response, _ = submit(fielded, ADULT_FARMER, started_at=started, submitted_at=started + timedelta(minutes=12))
    assert Response.objects.get(pk=response.pk).duration_seconds == 720


@pytest.mark.parametrize(
    "started",
    [
        datetime(2025, 9, 10, 9, 0, tzinfo=UTC),  # after the submission: a wrong device clock
        datetime(1900, 1, 1, tzinfo=UTC),  # longer than the column holds
    ],
)
def test_implausible_duration_is_not_stored(fielded: FieldedCase, started: datetime) -> None:
    response, _ = submit(
        fielded, ADULT_FARMER, started_at=started, submitted_at=datetime(2025, 9, 10, 8, 30, tzinfo=UTC)
    )
    assert Response.objects.get(pk=response.pk).duration_seconds is None


def test_language_is_cut_to_the_column(fielded: FieldedCase) -> None:
    response, _ = submit(fielded, ADULT_FARMER, language="zh-hans-cn-x-private")
    assert Response.objects.get(pk=response.pk).language == "zh-hans-"


def store_meanwhile(
    monkeypatch: pytest.MonkeyPatch, fielded: FieldedCase, client_id: uuid.UUID, case: Case | None
) -> list[Response]:
    """Make another request store a response while this one validates its answers (a race)."""
    version = fielded.versions["demographics"]
    validate = services.validate_answers
    stored: list[Response] = []

    def validate_while_another_request_stores(*args: Any, **kwargs: Any) -> dict[str, Any]:
        cleaned = validate(*args, **kwargs)
        if not stored:
            stored.append(Response.objects.create(
                client_id=client_id, wave=fielded.wave, instrument_version=version, case=case,
                answers=cleaned, payload_hash=payload_hash(version, cleaned),
            ))
        return cleaned

    monkeypatch.setattr(services, "validate_answers", validate_while_another_request_stores)
    return stored


@pytest.mark.parametrize("with_case", [True, False])
def test_concurrent_retry_that_won_the_race_is_returned(
    fielded: FieldedCase, monkeypatch: pytest.MonkeyPatch, with_case: bool
) -> None:
    case = fielded.case if with_case else None
    stored = store_meanwhile(monkeypatch, fielded, CLIENT_ID, case)
    response, created = submit(fielded, ADULT_FARMER, case=case)
    assert (response.pk, created) == (stored[0].pk, False)
    assert stored_in(fielded).count() == 1


def test_concurrent_submission_from_another_device_is_refused(
    fielded: FieldedCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_meanwhile(monkeypatch, fielded, uuid.uuid4(), fielded.case)
    with pytest.raises(SubmissionError) as caught:
        submit(fielded, ADULT_FARMER)
    assert set(caught.value.errors) == {"case"}
    assert stored_in(fielded).count() == 1


# --- with the case's plan and key, as the submission API and the respondent pages call it ----


def science(fielded: FieldedCase, client_id: uuid.UUID, plan: Any = None) -> services.Stored:
    """Submit the science sheet with PLAN (default: the plan read now), as the API does."""
    current, demographics = respondent_state(fielded.case)
    plan = current if plan is None else plan
    step = next(s for s in plan if s.code == "science_literacy")
    answers = correct_answers(fielded.key("science_literacy"))
    return response_submit(
        wave=fielded.wave, version=step.version, case=fielded.case, context=demographics, key=step.key,
        submission=Submission(client_id=client_id, answers=answers), plan=plan,
    )


def test_with_the_plan_and_key_the_sheet_is_stored_and_scored_in_one_commit(fielded: FieldedCase) -> None:
    submit(fielded, ADULT_FARMER)
    plan, _ = respondent_state(fielded.case)
    step = next(s for s in plan if s.code == "science_literacy")
    assert step.key is not None
    # A serving process has the published form and key compiled already.
    compiled_form(step.version)
    services.groups_classify(step.key, [{}])
    key_compile(step.key)
    answers = correct_answers(fielded.key("science_literacy"))
    with CaptureQueriesContext(connection) as queries:
        stored = response_submit(
            wave=fielded.wave, version=step.version, case=fielded.case, context=ADULT_FARMER, key=step.key,
            submission=Submission(client_id=CLIENT_ID_2, answers=answers), plan=plan,
        )
    # No lookups before the insert: the response and its score are written together (on
    # PostgreSQL in one statement); the case stays partial (health literacy is still due), so no update.
    # (SAVEPOINT/RELEASE: the test's own transaction around it; a request runs without one.)
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    statements = [s for s in statements if s not in ("SAVEPOINT", "RELEASE")]
    if connection.vendor == "postgresql":
        assert statements == ["WITH"] and "UPDATE" not in queries.captured_queries[1]["sql"], queries.captured_queries
    else:
        assert statements.count("SELECT") == 0, queries.captured_queries
        assert statements.count("INSERT") == 2 and statements.count("UPDATE") == 0, queries.captured_queries
    assert (stored.created, stored.scored) == (True, True)
    score = ResponseScore.objects.get(response=stored.response)
    assert score.key == fielded.key("science_literacy")
    assert score.total_points == score.max_points
    assert Case.objects.get(pk=fielded.case.pk).disposition == Disposition.PARTIAL  # health literacy still due


def test_a_retry_read_with_a_stale_plan_returns_the_stored_sheet(fielded: FieldedCase) -> None:
    submit(fielded, ADULT_FARMER)
    stale, _ = respondent_state(fielded.case)  # read before the first attempt was stored
    first = science(fielded, CLIENT_ID_2)
    again = science(fielded, CLIENT_ID_2, plan=stale)
    assert (again.response.pk, again.created, again.scored) == (first.response.pk, False, True)
    with pytest.raises(SubmissionError) as caught:
        science(fielded, uuid.uuid4(), plan=stale)  # another device, same household
    assert set(caught.value.errors) == {"case"}
    assert stored_in(fielded).count() == 2
    assert ResponseScore.objects.filter(response__wave=fielded.wave).count() == 1


def test_a_scoring_failure_keeps_the_response_and_a_retry_scores_it(
    fielded: FieldedCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit(fielded, ADULT_FARMER)
    real = services._scores_build

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the scoring code has a bug")

    monkeypatch.setattr(services, "_scores_build", broken)
    first = science(fielded, CLIENT_ID_2)
    assert (first.created, first.scored) == (True, False)
    assert Response.objects.filter(pk=first.response.pk).exists()
    assert Case.objects.get(pk=fielded.case.pk).disposition == Disposition.PARTIAL
    monkeypatch.setattr(services, "_scores_build", real)
    again = science(fielded, CLIENT_ID_2)
    assert (again.response.pk, again.created, again.scored) == (first.response.pk, False, True)
    assert ResponseScore.objects.filter(response=first.response).count() == 1
