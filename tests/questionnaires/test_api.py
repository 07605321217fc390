"""The respondent API at /api/v1/invitations/<token>/: the token is the credential; bad input of
any kind gets a 4xx naming the field, never a 500."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from assessment.models import Case, Disposition
from questionnaires.apis import _flatten
from questionnaires.models import Invitation, Response, ResponseScore
from tests.questionnaires.builders import ADULT_FARMER, FieldedCase, correct_answers

CLIENT_ID = "0d9f6c1e-3b7a-4f2e-9c41-5a8b7e6d2f10"


def stored_in(fielded: FieldedCase) -> Any:
    """Return the responses of the test's wave (a demo county may share the database)."""
    return Response.objects.filter(wave=fielded.wave)


def plan_url(token: str) -> str:
    return f"/api/v1/invitations/{token}/"


def submit_url(token: str) -> str:
    return f"/api/v1/invitations/{token}/responses/"


def body(instrument: str = "demographics", answers: Any = None, client_id: str = CLIENT_ID, **extra: Any) -> Any:
    return {"client_id": client_id, "instrument": instrument, "answers": ADULT_FARMER if answers is None else answers,
            **extra}


def post(api: APIClient, token: str, data: Any) -> Any:
    return api.post(submit_url(token), data, format="json")


def answered_demographics(api: APIClient, fielded: FieldedCase, **answers: Any) -> None:
    response = post(api, fielded.token, body(answers={**ADULT_FARMER, **answers}, client_id=str(uuid.uuid4())))
    assert response.status_code == 201, response.json()


# --------------------------------------------------------------------------- the plan


def test_plan_asks_for_demographics_first(api: APIClient, fielded: FieldedCase) -> None:
    response = api.get(plan_url(fielded.token))
    assert response.status_code == 200
    assert response.json() == [
        {"instrument": "demographics", "version": 1, "title": "基本情况", "status": "todo"},
        {"instrument": "science_literacy", "version": 1, "title": "公民科学素质测评", "status": "waiting"},
        {"instrument": "health_literacy", "version": 1, "title": "居民健康素养测评", "status": "waiting"},
    ]


def test_plan_follows_eligibility_once_demographics_are_in(api: APIClient, fielded: FieldedCase) -> None:
    answered_demographics(api, fielded, age=16, occupation="student")
    statuses = {s["instrument"]: s["status"] for s in api.get(plan_url(fielded.token)).json()}
    # Science literacy is for 18–69, health literacy for 15–69.
    assert statuses == {"demographics": "done", "science_literacy": "not_eligible", "health_literacy": "todo"}


# --------------------------------------------------------------------------- tokens


@pytest.mark.parametrize("token", ["short", "A" * 31, "A" * 33, "A" * 31 + "!", "A" * 31 + "%20", "%0A" + "A" * 31])
def test_malformed_token_is_not_found(api: APIClient, fielded: FieldedCase, token: str) -> None:
    for response in (api.get(plan_url(token)), post(api, token, body())):
        assert response.status_code == 404
        assert response.json() == {"detail": "invitation malformed", "code": "invitation_malformed"}


def test_unknown_token_is_not_found(api: APIClient, fielded: FieldedCase) -> None:
    response = api.get(plan_url("A" * 32))
    assert (response.status_code, response.json()["code"]) == (404, "invitation_unknown")


@pytest.mark.parametrize(
    ("change", "code"),
    [({"revoked": True}, "invitation_revoked"), ({"expires_at": timezone.now() - timedelta(days=1)}, "invitation_expired")],
)
def test_dead_invitation_is_gone(api: APIClient, fielded: FieldedCase, change: dict[str, Any], code: str) -> None:
    Invitation.objects.filter(case=fielded.case).update(**change)
    for response in (api.get(plan_url(fielded.token)), post(api, fielded.token, body())):
        assert (response.status_code, response.json()["code"]) == (410, code)
    assert not stored_in(fielded).exists()


# --------------------------------------------------------------------------- bad bodies


def test_body_that_is_not_json_is_refused(api: APIClient, fielded: FieldedCase) -> None:
    response = api.post(submit_url(fielded.token), data='{"client_id": ', content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_json_list_is_refused(api: APIClient, fielded: FieldedCase) -> None:
    api.credentials(HTTP_ACCEPT_LANGUAGE="en")
    response = post(api, fielded.token, [body()])
    assert response.status_code == 400
    assert response.json() == {"errors": {"non_field_errors": "Invalid data. Expected a dictionary, but got list."}}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"instrument": "demographics", "answers": ADULT_FARMER}, "client_id", "This field is required."),
        (body(client_id="not-a-uuid"), "client_id", "Must be a valid UUID."),
        (body(client_id=""), "client_id", "Must be a valid UUID."),
        ({"client_id": CLIENT_ID, "answers": ADULT_FARMER}, "instrument", "This field is required."),
        (body(instrument="health literacy!"), "instrument", "Enter a valid \"slug\""),
        (body(answers={}), "answers", "This dictionary may not be empty."),
        (body(answers=["age", 40]), "answers", "Expected a dictionary of items but got type \"list\"."),
        (body(started_at="yesterday"), "started_at", "Datetime has wrong format."),
    ],
)
def test_missing_or_malformed_field_is_named(
    api: APIClient, fielded: FieldedCase, data: dict[str, Any], field: str, message: str
) -> None:
    api.credentials(HTTP_ACCEPT_LANGUAGE="en")
    response = post(api, fielded.token, data)
    assert response.status_code == 400
    assert message in response.json()["errors"][field]
    assert not stored_in(fielded).exists()


def test_field_errors_follow_the_respondents_language(api: APIClient, fielded: FieldedCase) -> None:
    response = post(api, fielded.token, body(client_id="not-a-uuid"))
    assert response.json() == {"errors": {"client_id": "必须是有效的 UUID。"}}


def test_unknown_instrument_is_refused(api: APIClient, fielded: FieldedCase) -> None:
    response = post(api, fielded.token, body(instrument="occupational_health"))
    assert response.status_code == 400
    assert response.json() == {"errors": {"instrument": "not a questionnaire of this invitation"}}


def test_test_instrument_before_demographics_is_a_conflict(api: APIClient, fielded: FieldedCase) -> None:
    answers = correct_answers(fielded.key("health_literacy"))
    response = post(api, fielded.token, body(instrument="health_literacy", answers=answers))
    assert response.status_code == 409
    assert response.json() == {"errors": {"instrument": "answer demographics first"}}
    assert not stored_in(fielded).exists()


def test_instrument_the_respondent_is_not_eligible_for_is_refused(api: APIClient, fielded: FieldedCase) -> None:
    answered_demographics(api, fielded, age=75, occupation="retired")
    answers = correct_answers(fielded.key("science_literacy"))
    response = post(api, fielded.token, body(instrument="science_literacy", answers=answers, client_id=str(uuid.uuid4())))
    assert response.status_code == 400
    assert response.json()["errors"] == {"instrument": "the respondent is not eligible for this questionnaire"}


def test_malformed_answers_are_named(api: APIClient, fielded: FieldedCase) -> None:
    answers = {**ADULT_FARMER, "age": "forty", "occupation": "astronaut", "shoe_size": 42}
    del answers["sex"]
    response = post(api, fielded.token, body(answers=answers))
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "answers.shoe_size": "not a question of this questionnaire",
            "answers.age": "expected a whole number",
            "answers.sex": "this question is required",
            "answers.occupation": "'astronaut' is not an option of this question",
        }
    }
    assert not stored_in(fielded).exists()
    assert Case.objects.get(pk=fielded.case.pk).disposition == Disposition.PENDING


# --------------------------------------------------------------------------- storing


def test_valid_submission_is_stored_and_scored(api: APIClient, fielded: FieldedCase) -> None:
    response = post(api, fielded.token, body(answers={**ADULT_FARMER, "age": "62"}))
    assert response.status_code == 201
    assert response.json() == {"client_id": CLIENT_ID, "status": "stored", "scored": True}
    stored = stored_in(fielded).get()
    assert str(stored.client_id) == CLIENT_ID
    assert stored.answers["age"] == 62
    assert (stored.case_id, stored.invitation.case_id) == (fielded.case.pk, fielded.case.pk)  # type: ignore[union-attr]
    assert ResponseScore.objects.get(response=stored).groups == ["farmer", "elder"]
    # Demographics alone: the tests it unlocks are still due, so the household is partly done.
    assert Case.objects.get(pk=fielded.case.pk).disposition == Disposition.PARTIAL


def test_retry_is_acknowledged_without_a_second_copy(api: APIClient, fielded: FieldedCase) -> None:
    assert post(api, fielded.token, body()).status_code == 201
    retry = post(api, fielded.token, body())
    assert retry.status_code == 200
    assert retry.json() == {"client_id": CLIENT_ID, "status": "already_stored", "scored": True}
    assert stored_in(fielded).count() == 1
    assert ResponseScore.objects.filter(response__wave=fielded.wave).count() == 1


def test_retry_scores_a_sheet_stored_but_left_unscored(api: APIClient, fielded: FieldedCase) -> None:
    # The first attempt was committed, then the process died before scoring (or the client timed out).
    assert post(api, fielded.token, body()).status_code == 201
    ResponseScore.objects.filter(response__wave=fielded.wave).delete()
    retry = post(api, fielded.token, body())
    assert retry.json() == {"client_id": CLIENT_ID, "status": "already_stored", "scored": True}
    assert ResponseScore.objects.get(response=stored_in(fielded).get()).groups == ["farmer"]


def test_same_client_id_with_different_answers_is_a_conflict(api: APIClient, fielded: FieldedCase) -> None:
    post(api, fielded.token, body())
    response = post(api, fielded.token, body(answers={**ADULT_FARMER, "age": 41}))
    assert response.status_code == 409
    assert response.json() == {"errors": {"client_id": "already used for a different submission"}}
    assert stored_in(fielded).get().answers["age"] == 40


def test_second_submission_of_a_questionnaire_is_a_conflict(api: APIClient, fielded: FieldedCase) -> None:
    post(api, fielded.token, body())
    response = post(api, fielded.token, body(client_id=str(uuid.uuid4())))
    assert response.status_code == 409
    assert set(response.json()["errors"]) == {"case"}
    assert stored_in(fielded).count() == 1


def test_health_test_after_demographics_is_scored_under_the_wave_key(api: APIClient, fielded: FieldedCase) -> None:
    answered_demographics(api, fielded)
    key = fielded.key("health_literacy")
    response = post(api, fielded.token, body(instrument="health_literacy", answers=correct_answers(key),
                                             client_id=str(uuid.uuid4())))
    assert response.status_code == 201
    assert response.json()["scored"] is True
    score = ResponseScore.objects.get(
        response__wave=fielded.wave, response__instrument_version=fielded.versions["health_literacy"]
    )
    assert (score.key_id, score.total_points, score.benchmarks["health_literacy"]) == (key.pk, 66.0, True)


def test_device_times_decades_off_are_accepted(api: APIClient, fielded: FieldedCase) -> None:
    response = post(api, fielded.token, body(started_at="1900-01-01T00:00:00Z", submitted_at="2025-09-10T08:00:00Z"))
    assert response.status_code == 201
    assert stored_in(fielded).get().duration_seconds is None


def test_form_encoded_body_is_refused_not_crashed(api: APIClient, fielded: FieldedCase) -> None:
    response = api.post(submit_url(fielded.token), {"client_id": CLIENT_ID, "instrument": "demographics", "answers": "x"})
    assert response.status_code == 400
    assert "answers" in response.json()["errors"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "client_id": st.one_of(st.just(CLIENT_ID), st.uuids().map(str), json_values),
            "instrument": st.one_of(st.sampled_from(["demographics", "health_literacy", "elders"]), json_values),
            "answers": st.one_of(
                st.fixed_dictionaries({}, optional={k: st.one_of(st.just(v), json_values) for k, v in ADULT_FARMER.items()}),
                json_values,
            ),
            "language": json_values,
            "started_at": st.one_of(st.just("2025-09-10T08:00:00Z"), json_values),
        },
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=bodies)
def test_no_body_makes_a_server_error(api: APIClient, fielded: FieldedCase, data: Any) -> None:
    response = api.post(submit_url(fielded.token), json.dumps(data), content_type="application/json")
    assert response.status_code in (200, 201, 400, 409), response.content


def test_nested_serializer_errors_are_flattened_to_dotted_fields() -> None:
    errors = {"answers": {"age": ["Not valid.", "Too big."]}, "items": [{"name": ["Required."]}], "detail": "x"}
    assert _flatten(errors) == {"answers.age": "Not valid. Too big.", "items.0.name": "Required.", "detail": "x"}


# --------------------------------------------------------------------------- interviews


def _staff(fielded: FieldedCase, role: str, username: str) -> Any:
    from django.contrib.auth import get_user_model

    from assessment.models import StaffProfile

    user = get_user_model().objects.create_user(username=username, password="pw-interview-2025")
    profile = StaffProfile.objects.create(user=user, role=role, county=fielded.county)
    if role == "supervisor":
        profile.towns.add(fielded.town)
    return user


def test_an_interview_is_recorded_with_its_enumerator(fielded: FieldedCase) -> None:
    enumerator = _staff(fielded, "enumerator", "interviewer_a")
    Case.objects.filter(pk=fielded.case.pk).update(assigned_to=enumerator)
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(enumerator)
    api.get("/")  # the CSRF cookie, as the field page sets it
    token = api.cookies["csrftoken"].value if "csrftoken" in api.cookies else None
    if token is None:
        from django.middleware.csrf import _get_new_csrf_string

        token = _get_new_csrf_string()
        api.cookies["csrftoken"] = token
    response = api.post(submit_url(fielded.token), body(mode="interviewer"), format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.json()
    stored = stored_in(fielded).get()
    assert (stored.mode, stored.enumerator) == ("interviewer", enumerator)


def test_an_interview_without_the_csrf_token_is_refused(fielded: FieldedCase) -> None:
    enumerator = _staff(fielded, "enumerator", "interviewer_b")
    Case.objects.filter(pk=fielded.case.pk).update(assigned_to=enumerator)
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(enumerator)
    assert post(api, fielded.token, body(mode="interviewer")).status_code == 403
    assert not stored_in(fielded).exists()


@pytest.mark.parametrize("who", ["anonymous", "enumerator of another case", "official"])
def test_an_interview_by_anyone_but_the_cases_staff_is_refused(fielded: FieldedCase, who: str) -> None:
    api = APIClient()
    if who != "anonymous":
        api.force_login(_staff(fielded, "enumerator" if who.startswith("enumerator") else "official", f"u_{who[:4]}"))
    response = post(api, fielded.token, body(mode="interviewer"))
    assert response.status_code == 403
    assert response.json() == {"errors": {"mode": "an interview is recorded by the case's enumerator, logged in"}}
    assert not stored_in(fielded).exists()


def test_a_self_completed_sheet_is_recorded_as_such(api: APIClient, fielded: FieldedCase) -> None:
    assert post(api, fielded.token, body()).status_code == 201
    assert (stored_in(fielded).get().mode, stored_in(fielded).get().enumerator) == ("self", None)
