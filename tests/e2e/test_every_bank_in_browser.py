"""Every shipped instrument — including the occupational health test, the elders module and the youth
school test — completed from an invitation link in the respondent app, with axe-core on each."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from questionnaires.models import Response
from tests.e2e.axe_check import axe_problems
from tests.e2e.offline_steps import answer_screens
from tests.e2e.test_respondent_journey import layout_problems, shot
from tests.questionnaires.builders import ADULT_FARMER, ALL_BANKS, correct_answers, every_bank_fielded, key_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_each_shipped_instrument_is_completed_in_the_app(live_server: Any, phone: Any, screenshots: Path) -> None:
    fielded = every_bank_fielded()  # a wave fielding all six banks, everyone eligible
    sheets = {code: correct_answers(key_of(fielded.versions[code])) for code in ALL_BANKS if code != "demographics"}
    sheets["demographics"] = {**ADULT_FARMER, "age": str(ADULT_FARMER["age"])}
    page = phone
    page.goto(f"{live_server.url}/r/{fielded.token}/")
    page.locator("#start").tap()
    problems: dict[str, list[Any]] = {}
    for code in ALL_BANKS:
        page.wait_for_url(re.compile(rf"/{code}/$"))
        page.wait_for_selector("#questionnaire.ready")
        shot(page, screenshots, f"bank-{code}-first")
        found = axe_problems(page) + layout_problems(page)
        if found:
            problems[code] = found
        types = dict(fielded.versions[code].items.values_list("name", "type"))
        answer_screens(page, sheets[code], types)
    page.wait_for_url(re.compile(rf"/r/{fielded.token}/$"))
    assert "已全部完成" in page.locator("h1").inner_text()
    assert problems == {}
    for code in ALL_BANKS:
        stored = Response.objects.get(case=fielded.case, instrument_version=fielded.versions[code])
        assert set(sheets[code]) <= set(stored.answers), code
        if code in ("science_literacy", "health_literacy", "occupational_health", "youth_science"):
            score = stored.scores.get()  # scored at once, all answers right: full marks
            assert score.max_points > 0 and score.total_points == score.max_points, code
