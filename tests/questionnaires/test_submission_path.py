"""The submission's short path: one read (invitation, case, wave, answered sheets), the wave's plan
kept per process under its revision, and one all-or-nothing write (one statement on PostgreSQL)."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assessment.models import Case, Disposition, Wave, WaveInstrument
from questionnaires.invitations import invitation_find
from questionnaires.models import Invitation, Response, ResponseScore
from questionnaires.selectors import fielded_steps, respondent_state
from questionnaires.services import Submission, response_submit
from questionnaires.writes import submission_store
from tests.questionnaires.builders import ADULT_FARMER, FieldedCase, correct_answers


def post(fielded: FieldedCase, instrument: str, answers: dict[str, Any], client_id: uuid.UUID | None = None) -> Any:
    body = {"client_id": str(client_id or uuid.uuid4()), "instrument": instrument, "answers": answers}
    return Client().post(f"/api/v1/invitations/{fielded.token}/responses/", json.dumps(body),
                         content_type="application/json")


def test_one_query_brings_the_invitation_its_case_wave_and_answered_sheets(
    fielded: FieldedCase, django_assert_num_queries: Any
) -> None:
    case = Case.objects.get(pk=fielded.case.pk)
    case.contact_name, case.contact_phone = "王秀兰", "13800138000"
    case.save(update_fields=["contact_name", "contact_phone"])
    assert post(fielded, "demographics", ADULT_FARMER).status_code == 201
    with django_assert_num_queries(1):
        found = invitation_find(fielded.token)
        assert found is not None
        assert (found.case_id, found.case.pk, found.wave.pk) == (fielded.case.pk, fielded.case.pk, fielded.wave.pk)
        assert found.case.wave is found.wave and found.case.disposition == Disposition.PARTIAL
        assert [(a.code, dict(a.answers)) for a in found.answered] == [("demographics", ADULT_FARMER)]
        assert found.first_opened_at is not None  # the submission recorded the opening
    assert found.plan_revision == Wave.objects.get(pk=fielded.wave.pk).plan_revision
    # The encrypted contact details are not read (nor decrypted) for a respondent's request...
    assert {"contact_name", "contact_phone"} <= found.case.get_deferred_fields()
    assert "token" in found.get_deferred_fields()
    # ...and load, decrypted, if staff code asks for them.
    assert found.case.contact_name == "王秀兰"


def test_the_lookup_brings_only_the_demographics_answers(fielded: FieldedCase) -> None:
    assert post(fielded, "demographics", ADULT_FARMER).status_code == 201
    assert post(fielded, "science_literacy", correct_answers(fielded.key("science_literacy"))).status_code == 201
    found = invitation_find(fielded.token)
    assert found is not None
    answered = {a.code: dict(a.answers) for a in found.answered}
    assert answered == {"demographics": ADULT_FARMER, "science_literacy": {}}  # 50 answers not sent
    plan, demographics = respondent_state(found.case, found.answered, found.plan_revision)
    assert demographics == ADULT_FARMER
    assert {s.code: s.status for s in plan}["science_literacy"] == "done"


def test_an_unknown_or_malformed_token_finds_nothing(fielded: FieldedCase, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        assert invitation_find("x" * 32) is None
    with django_assert_num_queries(0):
        assert invitation_find("not a token") is None


def test_a_fresh_submission_reads_once_and_writes_once(fielded: FieldedCase) -> None:
    assert post(fielded, "demographics", ADULT_FARMER).status_code == 201
    answers = correct_answers(fielded.key("science_literacy"))
    post(fielded, "science_literacy", answers)  # warm: compiled form and key kept by the process
    other = uuid.uuid4()
    Response.objects.filter(case=fielded.case, instrument_version=fielded.versions["science_literacy"]).delete()
    with CaptureQueriesContext(connection) as queries:
        answer = post(fielded, "science_literacy", answers, other)
    assert answer.status_code == 201, answer.content
    assert answer.json() == {"client_id": str(other), "status": "stored", "scored": True}
    # (SAVEPOINT/RELEASE: the test's own transaction around it; a request runs without one.)
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    statements = [s for s in statements if s not in ("SAVEPOINT", "RELEASE")]
    if connection.vendor == "postgresql":
        # The lookup, then the response, its score (and any disposition change) in one statement.
        assert statements == ["SELECT", "WITH"], queries.captured_queries
    else:
        assert statements.count("SELECT") == 1 and statements.count("INSERT") == 2, queries.captured_queries
    stored = Response.objects.get(client_id=other)
    score = ResponseScore.objects.get(response=stored)
    assert (score.key, score.total_points) == (fielded.key("science_literacy"), score.max_points)


def test_the_kept_plan_follows_changes_to_what_the_wave_fields(fielded: FieldedCase) -> None:
    before = Wave.objects.get(pk=fielded.wave.pk).plan_revision
    steps = {s.code: s for s in fielded_steps(fielded.wave.pk)}
    assert fielded_steps(fielded.wave.pk) is fielded_steps(fielded.wave.pk, before)  # kept
    row = WaveInstrument.objects.get(wave=fielded.wave, instrument_version=steps["science_literacy"].version)
    row.eligibility = "${age} >= 60"
    row.save()
    after = Wave.objects.get(pk=fielded.wave.pk).plan_revision
    assert after != before
    changed = {s.code: s for s in fielded_steps(fielded.wave.pk, after)}
    assert changed["science_literacy"].eligibility == "${age} >= 60"
    # The farmer of 40 is no longer asked the science questionnaire.
    assert post(fielded, "demographics", ADULT_FARMER).status_code == 201
    plan, _ = respondent_state(Case.objects.get(pk=fielded.case.pk))
    assert {s.code: s.status for s in plan}["science_literacy"] == "not_eligible"


def test_a_saved_key_renews_the_plan_of_the_waves_fielding_its_version_only(fielded: FieldedCase) -> None:
    other = Wave.objects.create(county=fielded.county, code="2026", year=2026, name_zh="2026年调查", name_en="Survey 2026")
    before, other_before = Wave.objects.get(pk=fielded.wave.pk).plan_revision, other.plan_revision
    key = fielded.key("health_literacy")
    key.save()  # publishing, or a draft edited: either may change the steps' keys
    assert Wave.objects.get(pk=fielded.wave.pk).plan_revision != before
    assert Wave.objects.get(pk=other.pk).plan_revision == other_before
    steps = {s.code: s for s in fielded_steps(fielded.wave.pk)}
    assert steps["health_literacy"].key == key


def test_a_rolled_back_change_leaves_no_mark_a_later_change_reuses(fielded: FieldedCase) -> None:
    row = WaveInstrument.objects.get(wave=fielded.wave, instrument_version=fielded.versions["science_literacy"])
    with transaction.atomic():
        row.save()
        seen_inside = Wave.objects.get(pk=fielded.wave.pk).plan_revision
        fielded_steps(fielded.wave.pk, seen_inside)  # a request inside the transaction keeps its plan
        transaction.set_rollback(True)
    row.save()
    assert Wave.objects.get(pk=fielded.wave.pk).plan_revision not in (seen_inside, fielded.wave.plan_revision)


def test_a_refused_store_writes_nothing_and_leaves_the_transaction_usable(fielded: FieldedCase) -> None:
    first = response_submit(
        wave=fielded.wave, version=fielded.versions["demographics"], case=fielded.case,
        submission=Submission(client_id=uuid.uuid4(), answers=ADULT_FARMER),
    ).response
    invitation = Invitation.objects.get(case=fielded.case)
    assert invitation.first_opened_at is None
    case = Case.objects.get(pk=fielded.case.pk)
    twin = Response(
        client_id=first.client_id, wave=fielded.wave, instrument_version=fielded.versions["science_literacy"],
        case=case, answers={}, payload_hash="x",
    )
    score = ResponseScore(key=fielded.key("science_literacy"), total_points=1, max_points=1)
    with transaction.atomic():  # as a caller's transaction (an import, say) would be
        with pytest.raises(IntegrityError):
            submission_store(twin, score=score, case=case, disposition=Disposition.COMPLETE, opened=invitation,
                             now=first.received_at)
        assert Response.objects.filter(case=fielded.case).count() == 1  # the transaction still works
    assert not ResponseScore.objects.filter(key=fielded.key("science_literacy")).exists()
    assert Case.objects.get(pk=fielded.case.pk).disposition == Disposition.PARTIAL
    assert Invitation.objects.get(pk=invitation.pk).first_opened_at is None
