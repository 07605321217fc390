"""Quality flags (assessment/quality.py, services/review.py) and the supervisors' review: rejected
responses leave the estimates and make the weight sets stale."""
from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied

from assessment import quality
from assessment.errors import FieldworkError
from assessment.models import AuditEvent, Case, SampleDesign, WaveInstrument
from assessment.services import response_review, responses_flag, sample_design_create, wave_draw_sample
from assessment.services.review import response_flags
from questionnaires.models import Item, Response, ReviewDecision
from questionnaires.services import payload_hash, responses_score
from tests.assessment.fieldwork_setup import FieldCounty, field_county
from tests.frontend.survey_setup import DEMOGRAPHICS_ADULT, correct_answers, publish_banks

# --- pure checks ------------------------------------------------------------------------------


def test_speeding_flags_durations_below_half_the_median() -> None:
    durations = [600.0] * 11 + [290.0, 310.0, np.nan]
    flags, median = quality.speeding(durations)
    assert median == 600.0
    assert flags.tolist() == [False] * 11 + [True, False, False]


def test_speeding_needs_enough_durations_for_a_median() -> None:
    flags, median = quality.speeding([600.0] * 5 + [10.0])
    assert not flags.any() and np.isnan(median)


def test_straightlining_flags_a_modal_share_of_ninety_percent() -> None:
    same = [0] * 12
    nine_of_ten = [1] * 9 + [0]
    mixed = [0, 1] * 6
    few = [0] * 5 + [-1] * 7
    flags, share = quality.straightlining([same, nine_of_ten + [-1, -1], mixed, few])
    assert flags.tolist() == [True, True, False, False]
    assert share.tolist() == pytest.approx([1.0, 0.9, 0.5, 1.0])


def test_all_correct_sheets_that_coincide_are_not_copies(survey: Any) -> None:
    fc, versions = survey["fc"], survey["versions"]
    perfect = correct_answers(versions["science_literacy"].scoring_keys.first())
    for response in list(survey["responses"].values())[1:3]:
        Response.objects.filter(pk=response.pk).update(answers=perfect)
    found = response_flags(fc.wave)
    assert not any("duplicate_answers" in codes(found.get(r.pk, [])) for r in list(survey["responses"].values())[1:3])


def test_duplicates_need_another_owner() -> None:
    assert quality.duplicates(["a", "a", "b", "b", "c"], [1, 2, 3, 3, 4]).tolist() == [True, True, False, False, False]


def test_an_interviewer_far_from_the_psu_peers_is_flagged_and_a_normal_one_is_not() -> None:
    rng = np.random.default_rng(5)
    scores, who, psu = [], [], []
    for p in range(20):
        area = rng.normal(0, 0.1)  # PSUs differ; the comparison is within PSU
        for _ in range(8):
            scores.append(0.5 + area + rng.normal(0, 0.1))
            who.append(None)  # self-completed peers
            psu.append(p)
        for _ in range(4):
            scores.append(0.5 + area + rng.normal(0, 0.1) + (0.25 if p < 10 else 0.0))
            who.append("inflating" if p < 10 else "honest")
            psu.append(p)
    effects = {e.enumerator: e for e in quality.enumerator_effects(scores, who, psu)}
    assert effects["inflating"].flagged and effects["inflating"].z > 5 and effects["inflating"].effect_size > 1.5
    assert not effects["honest"].flagged and abs(effects["honest"].z) < 3.29
    assert effects["inflating"].n == 40


def test_an_interviewer_without_peers_in_their_psus_is_not_compared() -> None:
    effects = quality.enumerator_effects([0.9, 0.8, 0.2, 0.3], ["x", "x", "y", "y"], [1, 1, 2, 2])
    assert effects == []


# --- flags stored on responses and the review ---------------------------------------------------


@pytest.fixture
def survey(db: None) -> Any:
    """The test county's wave fielding the real banks, with 12 drawn cases and 12 science answer sheets."""
    fc = field_county()
    versions = publish_banks()
    for order, version in enumerate(versions.values()):
        WaveInstrument.objects.create(wave=fc.wave, instrument_version=version, scoring_key=version.scoring_keys.first(), order=order)
    design = sample_design_create(
        wave=fc.wave, frame=fc.frame, name="d", allocation=SampleDesign.Allocation.FIXED, households_per_psu=3,
        parameters={"fixed": {"ta": 2, "tb": 2}},
    )
    wave_draw_sample(design=design, seed=4)
    cases = list(Case.objects.filter(wave=fc.wave).order_by("code"))
    key = versions["science_literacy"].scoring_keys.first()
    good = correct_answers(key)
    tf = [i.name for i in versions["science_literacy"].items.filter(type=Item.Type.TRUE_FALSE, randomize=False)]
    responses: dict[int, Response] = {}
    for i, case in enumerate(cases):
        Case.objects.filter(pk=case.pk).update(prob_person=0.5)
        answers = dict(good)
        if i == 0:  # six wrong answers, which sheet 11 copies
            for name in tf[:6]:
                answers[name] = "true" if answers[name] == "false" else "false"
        elif i < 11:  # every other sheet differs
            answers[tf[i]] = "true" if answers[tf[i]] == "false" else "false"
        else:
            answers = dict(responses[0].answers)
        if i == 3:  # straight-lining: every true/false item answered "true"
            answers.update({name: "true" for name in tf})
        seconds = 90 if i == 5 else 840 + 10 * i  # case 5 is far too fast
        responses[i] = make_response(fc, versions["science_literacy"], case, answers, seconds)
        make_response(fc, versions["demographics"], case, DEMOGRAPHICS_ADULT, 120)
    responses_score(key=key)
    return {"fc": fc, "cases": cases, "responses": responses, "versions": versions}


def make_response(fc: FieldCounty, version: Any, case: Case, answers: dict[str, Any], seconds: int) -> Response:
    return Response.objects.create(
        client_id=uuid.uuid4(), wave=fc.wave, instrument_version=version, case=case, mode=Response.Mode.SELF,
        duration_seconds=seconds, answers=answers, payload_hash=payload_hash(version, answers),
    )


def codes(flags: list[dict[str, Any]]) -> set[str]:
    return {f["code"] for f in flags}


def test_flags_are_computed_and_flagged_responses_await_review(survey: Any) -> None:
    r = survey["responses"]
    found = response_flags(survey["fc"].wave)
    assert "speeding" in codes(found[r[5].pk])
    assert found[r[5].pk][0]["seconds"] == 90
    assert "straightlining" in codes(found[r[3].pk])
    assert "duplicate_answers" in codes(found[r[0].pk]) and "duplicate_answers" in codes(found[r[11].pk])
    assert r[1].pk not in found
    counts = responses_flag(wave=survey["fc"].wave, user=survey["fc"].users["admin"])
    assert counts == {"speeding": 1, "straightlining": 1, "duplicate_answers": 2}
    flagged = set(Response.objects.filter(review=Response.Review.FLAGGED).values_list("pk", flat=True))
    assert flagged == {r[0].pk, r[3].pk, r[5].pk, r[11].pk}
    assert AuditEvent.objects.get(action="responses.flag").details["flags"] == counts


def test_reflagging_keeps_decisions_and_clears_vanished_flags(survey: Any) -> None:
    fc, r = survey["fc"], survey["responses"]
    responses_flag(wave=fc.wave)
    response_review(response=Response.objects.get(pk=r[3].pk), decision="approved", reason="老人确实都答“对”", user=fc.users["supervisor_a"] if r[3].case.town.code == "ta" else fc.users["supervisor_b"])
    Response.objects.filter(pk=r[5].pk).update(duration_seconds=800)  # the clock was wrong
    responses_flag(wave=fc.wave)
    assert Response.objects.get(pk=r[3].pk).review == Response.Review.APPROVED
    assert Response.objects.get(pk=r[5].pk).review == Response.Review.NONE
    assert Response.objects.get(pk=r[5].pk).flags == []


def supervisor_of(survey: Any, response: Response) -> Any:
    return survey["fc"].users["supervisor_a" if response.case.town.code == "ta" else "supervisor_b"]


def test_a_rejection_is_recorded_with_its_reason_and_leaves_the_estimates(survey: Any) -> None:
    from scoring.adapters import respondent_table

    fc, r = survey["fc"], survey["responses"]
    responses_flag(wave=fc.wave)
    target = Response.objects.get(pk=r[5].pk)
    reviewer = supervisor_of(survey, target)
    outcome = response_review(response=target, decision="rejected", reason="14 分钟的问卷 90 秒答完", user=reviewer)
    assert [x.pk for x in outcome.responses] == [target.pk]
    target.refresh_from_db()
    assert target.review == Response.Review.REJECTED
    decision = ReviewDecision.objects.get(response=target)
    assert (decision.reviewer, decision.decision, decision.reason) == (reviewer, "rejected", "14 分钟的问卷 90 秒答完")
    event = AuditEvent.objects.get(action="response.review", object_id=str(target.pk))
    assert event.actor == reviewer and event.details["reason"] == "14 分钟的问卷 90 秒答完"
    assert target.pk not in respondent_table(fc.wave, "science_literacy").response_id.tolist()


def test_rejecting_the_demographics_rejects_the_households_other_questionnaires(survey: Any) -> None:
    fc, case = survey["fc"], survey["cases"][2]
    demographics = Response.objects.get(case=case, instrument_version__instrument__code="demographics")
    outcome = response_review(response=demographics, decision="rejected", reason="户内无人，答卷系编造", user=fc.users["admin"])
    assert {x.instrument_version.instrument.code for x in outcome.responses} == {"demographics", "science_literacy"}
    assert set(Response.objects.filter(case=case).values_list("review", flat=True)) == {"rejected"}
    assert ReviewDecision.objects.filter(response__case=case).count() == 2


def test_review_needs_a_reason_a_valid_decision_and_the_towns_supervisor(survey: Any) -> None:
    fc, r = survey["fc"], survey["responses"]
    target = Response.objects.get(pk=r[0].pk)
    with pytest.raises(FieldworkError):
        response_review(response=target, decision="rejected", reason="  ", user=fc.users["admin"])
    with pytest.raises(FieldworkError):
        response_review(response=target, decision="flagged", reason="x", user=fc.users["admin"])
    other = fc.users["supervisor_b" if target.case.town.code == "ta" else "supervisor_a"]
    for user in (other, fc.users["enumerator_a"], fc.users["official"]):
        with pytest.raises(PermissionDenied):
            response_review(response=target, decision="rejected", reason="x", user=user)
    assert not ReviewDecision.objects.exists()


def test_a_rejection_makes_the_wave_weights_stale(demo_county: Any, db: None) -> None:
    from assessment.models import County, Wave
    from assessment.selectors import weights_stale

    wave = Wave.objects.get(county=County.objects.get(pk=demo_county.county_id), year=2025, kind=Wave.Kind.HOUSEHOLD)
    assert weights_stale(wave) == []
    target = Response.objects.filter(wave=wave, instrument_version__instrument__code="health_literacy").order_by("pk").first()
    admin = __import__("django.contrib.auth", fromlist=["get_user_model"]).get_user_model().objects.get(username="admin")
    response_review(response=target, decision="rejected", reason="测试", user=admin)
    assert [ws.instrument.code for ws in weights_stale(wave)] == ["health_literacy"]
