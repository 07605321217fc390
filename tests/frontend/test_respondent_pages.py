"""The respondent's pages: invitation link, consent, questionnaires, submission and scoring."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from questionnaires.invitations import invitation_create
from questionnaires.models import Invitation, Response, ResponseScore
from tests.frontend.html import CJK, checked_values, error_of, is_invalid, main_text, questions, text_of
from tests.frontend.survey_setup import DEMOGRAPHICS_ADULT, Survey, as_post, correct_answers
from tests.frontend.test_site_pages import english


def answered(survey: Survey, code: str | None = None):  # type: ignore[no-untyped-def]
    """The survey household's responses (the demo county may share the database)."""
    found = Response.objects.filter(case=survey.case)
    return found.filter(instrument_version=survey.versions[code]) if code else found


def score_of(survey: Survey, code: str) -> ResponseScore:
    return ResponseScore.objects.get(response__case=survey.case, response__instrument_version=survey.versions[code])


def url(survey: Survey, code: str = "") -> str:
    return f"/r/{survey.token}/{code + '/' if code else ''}"


def submit(client: Client, survey: Survey, code: str, answers: dict, client_id: str | None = None):  # type: ignore[no-untyped-def, type-arg]
    return client.post(url(survey, code), as_post(answers, client_id or str(uuid.uuid4())))


# --- invitation links ----------------------------------------------------------------------


def test_malformed_token_is_404_with_a_readable_chinese_message(client: Client, db: None) -> None:
    response = client.get("/r/not-a-token/")
    text = main_text(response.content.decode())
    assert response.status_code == 404
    assert "无法打开问卷" in text
    assert "这个链接不完整或有误" in text


def test_unknown_token_is_404(client: Client, survey: Survey) -> None:
    response = client.get(f"/r/{'A' * 32}/")
    assert response.status_code == 404
    assert "没有找到这个邀请" in main_text(response.content.decode())


def test_revoked_invitation_is_410(client: Client, survey: Survey) -> None:
    old = survey.token
    invitation_create(case=survey.case)  # a new link revokes the old one
    response = client.get(f"/r/{old}/")
    assert response.status_code == 410
    assert "这个邀请已经失效" in main_text(response.content.decode())


def test_expired_invitation_is_410(client: Client, survey: Survey) -> None:
    Invitation.objects.filter(case=survey.case).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.get(url(survey))
    assert response.status_code == 410
    assert "这个邀请已经过期" in main_text(response.content.decode())


def test_questionnaire_of_an_expired_invitation_is_410_and_stores_nothing(client: Client, survey: Survey) -> None:
    Invitation.objects.filter(case=survey.case).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = submit(client, survey, "demographics", DEMOGRAPHICS_ADULT)
    assert response.status_code == 410
    assert not answered(survey).exists()


# --- consent and plan ----------------------------------------------------------------------


def test_invitation_page_shows_consent_and_starts_with_demographics(client: Client, survey: Survey) -> None:
    response = client.get(url(survey))
    html = response.content.decode()
    text = main_text(html)
    assert response.status_code == 200
    assert survey.wave.name_zh in text
    assert "调查说明" in text and "参加完全自愿" in text
    plan = [survey.versions[c].title_zh for c in ("demographics", "science_literacy", "health_literacy")]
    positions = [text.index(title) for title in plan]
    assert positions == sorted(positions)
    assert f'href="{url(survey, "demographics")}"' in html
    assert "同意并开始作答" in text


def test_later_questionnaires_wait_for_demographics(client: Client, survey: Survey) -> None:
    response = client.get(url(survey, "science_literacy"))
    assert response.status_code == 302
    assert response["Location"] == url(survey, "demographics")


def test_demographics_page_lists_its_questions_with_progress(client: Client, survey: Survey) -> None:
    response = client.get(url(survey, "demographics"))
    html = response.content.decode()
    assert response.status_code == 200
    assert list(questions(html)) == ["age", "sex", "education", "occupation", "residence", "town"]
    assert "您的年龄是多少周岁？" in html
    assert "第 1 份，共 3 份" in text_of(html)


def test_a_questionnaire_outside_the_wave_is_404(client: Client, survey: Survey) -> None:
    assert client.get(url(survey, "elders")).status_code == 404


# --- submitting ------------------------------------------------------------------------------


def test_missing_required_answers_rerender_with_errors_next_to_the_questions(client: Client, survey: Survey) -> None:
    response = submit(client, survey, "demographics", {"sex": "male"})
    html = response.content.decode()
    blocks = questions(html)
    assert response.status_code == 400
    assert "有 5 处需要修改" in text_of(html)
    for name in ("age", "education", "occupation", "residence", "town"):
        assert is_invalid(blocks[name]), name
        assert error_of(blocks[name]), name
    assert not is_invalid(blocks["sex"]) and not error_of(blocks["sex"])
    assert checked_values(blocks["sex"]) == ["male"], "the answer given is kept"
    assert not answered(survey).exists()


def test_errors_on_the_chinese_page_are_in_chinese(client: Client, survey: Survey) -> None:
    response = submit(client, survey, "demographics", {**DEMOGRAPHICS_ADULT, "age": "5", "education": ""})
    blocks = questions(response.content.decode())
    assert response.status_code == 400
    assert error_of(blocks["age"]) == "年龄应在12到100岁之间"
    assert CJK.search(error_of(blocks["education"])), error_of(blocks["education"])
    assert 'value="5"' in blocks["age"], "the typed age is kept"


def test_a_valid_submission_stores_one_response_and_goes_to_the_next_questionnaire(client: Client, survey: Survey) -> None:
    client_id = str(uuid.uuid4())
    response = submit(client, survey, "demographics", DEMOGRAPHICS_ADULT, client_id)
    assert response.status_code == 302
    assert response["Location"] == url(survey, "science_literacy")
    stored = answered(survey).get()
    assert str(stored.client_id) == client_id
    assert stored.case == survey.case and stored.wave == survey.wave
    assert stored.instrument_version == survey.versions["demographics"]
    assert stored.answers == {**DEMOGRAPHICS_ADULT, "age": 40}
    assert stored.mode == Response.Mode.SELF
    assert stored.invitation.case == survey.case
    survey.case.refresh_from_db()
    assert survey.case.disposition == "partial", "the tests it unlocks are still due"


def test_posting_the_same_client_id_again_stores_nothing_new(client: Client, survey: Survey) -> None:
    client_id = str(uuid.uuid4())
    submit(client, survey, "demographics", DEMOGRAPHICS_ADULT, client_id)
    again = submit(client, survey, "demographics", DEMOGRAPHICS_ADULT, client_id)
    assert again.status_code == 302
    assert answered(survey).count() == 1


def test_a_second_submission_of_a_done_questionnaire_stores_nothing_new(client: Client, survey: Survey) -> None:
    submit(client, survey, "demographics", DEMOGRAPHICS_ADULT)
    again = submit(client, survey, "demographics", {**DEMOGRAPHICS_ADULT, "age": "41"})
    assert again.status_code == 302
    assert answered(survey).get().answers["age"] == 40


def test_a_broken_client_id_is_refused_without_storing(client: Client, survey: Survey) -> None:
    response = client.post(url(survey, "demographics"), as_post(DEMOGRAPHICS_ADULT, "not-a-uuid"))
    assert response.status_code == 400
    assert not answered(survey).exists()


def test_all_correct_answers_are_scored_literate(client: Client, survey: Survey) -> None:
    assert submit(client, survey, "demographics", DEMOGRAPHICS_ADULT)["Location"] == url(survey, "science_literacy")
    science = submit(client, survey, "science_literacy", correct_answers(survey.keys["science_literacy"]))
    assert science.status_code == 302 and science["Location"] == url(survey, "health_literacy")
    health = submit(client, survey, "health_literacy", correct_answers(survey.keys["health_literacy"]))
    assert health.status_code == 302 and health["Location"] == url(survey)

    assert answered(survey).count() == 3
    science_score = score_of(survey, "science_literacy")
    assert science_score.key == survey.keys["science_literacy"]
    assert science_score.total_points == science_score.max_points == 100
    assert science_score.benchmarks["science_literacy"] is True
    health_score = score_of(survey, "health_literacy")
    assert health_score.total_points == health_score.max_points == 66
    assert health_score.benchmarks["health_literacy"] is True
    demographics_score = score_of(survey, "demographics")
    assert demographics_score.groups == ["farmer"]
    survey.case.refresh_from_db()
    assert survey.case.disposition == "complete"

    done = client.get(url(survey))
    text = main_text(done.content.decode())
    assert "已全部完成，谢谢您！" in text
    assert "同意并开始作答" not in text
    assert text.count("已完成") >= 3


def test_a_wrong_answer_sheet_is_scored_below_the_benchmark(client: Client, survey: Survey) -> None:
    submit(client, survey, "demographics", DEMOGRAPHICS_ADULT)
    key = survey.keys["science_literacy"]
    answers = correct_answers(key)
    # Flip every true/false item: 25 or so items wrong is far below 70 points.
    for name, value in answers.items():
        if value in ("true", "false"):
            answers[name] = "false" if value == "true" else "true"
    submit(client, survey, "science_literacy", answers)
    score = score_of(survey, "science_literacy")
    assert score.total_points < 70
    assert score.benchmarks["science_literacy"] is False


def test_a_15_year_old_skips_the_adult_science_test(client: Client, survey: Survey) -> None:
    response = submit(client, survey, "demographics", {**DEMOGRAPHICS_ADULT, "age": "15", "occupation": "student"})
    assert response["Location"] == url(survey, "health_literacy")
    text = main_text(client.get(url(survey)).content.decode())
    assert "无需作答" in text
    assert client.get(url(survey, "science_literacy")).status_code == 302
    health = client.get(url(survey, "health_literacy"))
    assert "第 2 份，共 2 份" in text_of(health.content.decode())


# --- English ---------------------------------------------------------------------------------


def test_english_questionnaire_shows_the_english_item_wording(client: Client, survey: Survey) -> None:
    html = english(client).get(url(survey, "demographics")).content.decode()
    assert "How old are you (in completed years)?" in html
    assert "您的年龄是多少周岁？" not in html


def test_english_consent_page_has_no_chinese_text(client: Client, survey: Survey) -> None:
    html = english(client).get(url(survey)).content.decode()
    text = main_text(html)
    assert survey.wave.name_en in text
    assert not CJK.search(text), text[:200]


def test_english_consent_page_translates_the_page_itself(client: Client, survey: Survey) -> None:
    html = english(client).get(url(survey)).content.decode()
    text = main_text(html)
    assert survey.wave.name_en in text
    assert "About this survey" in text
    assert "调查说明" not in text and "同意并开始作答" not in text


def test_errors_on_the_english_page_are_in_english(client: Client, survey: Survey) -> None:
    response = english(client).post(url(survey, "demographics"), as_post({**DEMOGRAPHICS_ADULT, "age": "5", "sex": ""}, str(uuid.uuid4())))
    blocks = questions(response.content.decode())
    assert response.status_code == 400
    assert error_of(blocks["age"]) == "Age must be between 12 and 100"
    assert error_of(blocks["sex"]) and not CJK.search(error_of(blocks["sex"])), error_of(blocks["sex"])


def test_questions_are_numbered_from_one_without_counting_notes(client: Client, survey: Survey) -> None:
    submit(client, survey, "demographics", DEMOGRAPHICS_ADULT)
    html = client.get(url(survey, "health_literacy")).content.decode()
    numbers = [int(n) for n in re.findall(r"<legend>(\d+)\. ", html)]
    assert numbers == list(range(1, 51))
