"""Every shipped instrument renders on the respondent page of a wave that fields it, in both languages,
and a full answer sheet submitted there is stored and scored."""
from __future__ import annotations

import html
import uuid

import pytest
from django.test import Client

from questionnaires.models import Item, Response, ResponseScore
from questionnaires.selectors import case_answers
from questionnaires.services import Submission, response_submit
from tests.questionnaires.builders import ADULT_FARMER, ALL_BANKS, FieldedCase, correct_answers, every_bank_fielded

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_bank(db: None) -> FieldedCase:
    fielded = every_bank_fielded()
    response_submit(
        wave=fielded.wave, version=fielded.versions["demographics"], case=fielded.case,
        submission=Submission(client_id=uuid.uuid4(), answers={**ADULT_FARMER, "age": 62}),
    )
    return fielded


def page(client: Client, fielded: FieldedCase, code: str, language: str = "zh-hans") -> str:
    response = client.get(f"/r/{fielded.token}/{code}/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, (code, response.status_code)
    return response.content.decode()


@pytest.mark.parametrize("code", [c for c in ALL_BANKS if c != "demographics"])
def test_every_bank_renders_every_question_and_option(every_bank: FieldedCase, code: str) -> None:
    client = Client()
    version = every_bank.versions[code]
    zh, en = page(client, every_bank, code), page(client, every_bank, code, "en")
    items = list(version.items.select_related("choice_list").prefetch_related("choice_list__choices"))
    assert items
    for item in items:
        assert html.escape(item.label_zh) in zh, item.name
        assert html.escape(item.label_en) in en, item.name
        if item.type != Item.Type.NOTE:
            assert f'name="q_{item.name}"' in zh, item.name
        for choice in item.choice_list.choices.all() if item.choice_list else []:
            assert f'value="{choice.name}"' in zh
            assert html.escape(choice.label_zh) in zh and html.escape(choice.label_en) in en


def test_demographics_renders_before_the_others(db: None) -> None:
    fielded = every_bank_fielded()
    client = Client()
    content = page(client, fielded, "demographics")
    for item in fielded.versions["demographics"].items.all():
        assert html.escape(item.label_zh) in content
    # The other questionnaires wait for the demographics.
    response = client.get(f"/r/{fielded.token}/science_literacy/")
    assert (response.status_code, response["Location"]) == (302, f"/r/{fielded.token}/demographics/")


@pytest.mark.parametrize("code", [c for c in ALL_BANKS if c != "demographics"])
def test_every_bank_submitted_on_its_page_is_stored_and_scored(every_bank: FieldedCase, code: str) -> None:
    client = Client()
    key = every_bank.key(code)
    answers = correct_answers(key)
    form: dict[str, object] = {"client_id": str(uuid.uuid4())}
    for name, value in answers.items():
        form[f"q_{name}"] = value
    response = client.post(f"/r/{every_bank.token}/{code}/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = Response.objects.get(case=every_bank.case, instrument_version=every_bank.versions[code])
    assert stored.answers == {n: sorted(v) if isinstance(v, list) else v for n, v in answers.items()}
    score = ResponseScore.objects.get(response=stored, key=key)
    assert score.total_points == score.max_points > 0
    assert case_answers(every_bank.case, "demographics")["age"] == 62
