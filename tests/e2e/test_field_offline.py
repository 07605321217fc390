"""The enumerator's day without signal, in Chromium on a phone: cases, visits, roster and Kish
selection, the interview on the same device, and everything synced when the signal returns."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from assessment.models import Case, HouseholdMember, Role, StaffProfile, Visit
from assessment.sampling import kish_select
from questionnaires.models import Response
from tests.e2e.offline_steps import answer_screens, fill_roster
from tests.e2e.test_offline_survey import CODES, Checked, expected, sheets_of
from tests.e2e.test_respondent_journey import item_types
from tests.frontend.survey_setup import build_survey

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-enumerator-2025"
ROSTER = [("male", 50, "老王"), ("female", 47, "李姐"), ("male", 12, "小王"), ("female", 72, "王奶奶")]
KISH_U = 0.61


def enumerator_with_case() -> tuple[Any, Any]:
    survey = build_survey()
    user = get_user_model().objects.create_user(username="e2e_enumerator", password=PASSWORD)
    StaffProfile.objects.create(user=user, role=Role.ENUMERATOR, county=survey.county)
    Case.objects.filter(pk=survey.case.pk).update(assigned_to=user, kish_u=KISH_U)
    return survey, user


def login(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/?next=/field/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def pending_count(page: Any) -> str:
    return page.locator("#pending").inner_text()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_enumerator_works_offline_and_syncs_later(live_server: Any, phone: Any, screenshots: Path, lang: str) -> None:
    survey, user = enumerator_with_case()
    sheets = sheets_of(survey)
    page, context = phone, phone.context
    check = Checked(page, screenshots, f"field-{lang}")
    if lang == "en":
        context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    login(page, live_server.url, "e2e_enumerator", PASSWORD)
    page.wait_for_url(re.compile(r"/field/$"))
    page.wait_for_function("() => document.documentElement.dataset.cached === '1' && navigator.serviceWorker.controller !== null",
                           timeout=30_000)
    assert page.locator(".case-card").count() == 1
    check("1-cases-online")

    context.set_offline(True)
    page.reload()  # the page and the cases come from the phone
    page.locator(".case-card").tap()
    page.wait_for_selector("#visit")
    check("2-case")
    page.select_option("#v-out", "non_contact")
    page.fill("#v-note", "无人在家")
    page.locator("#visit button[type=submit]").tap()
    page.wait_for_selector(".visits li em.pending")
    assert "1" in pending_count(page)

    fill_roster(page, ROSTER)
    position, k = kish_select([r[0] for r in ROSTER], [r[1] for r in ROSTER], [15 <= r[1] <= 69 for r in ROSTER], KISH_U)
    page.wait_for_selector("#selection:not(:empty)")
    assert f"{position + 1}" in page.locator("#selection").inner_text() and ROSTER[position][2] in page.locator("#selection").inner_text()
    check("3-roster-selected")

    with page.expect_navigation():
        page.locator("#interview").tap()
    page.locator("#start").tap()
    for code in CODES:
        page.wait_for_url(re.compile(rf"/{code}/$"))
        page.wait_for_selector("#questionnaire.ready")
        answer_screens(page, sheets[code], item_types(survey, code))
    page.wait_for_url(re.compile(rf"/r/{survey.token}/$"))
    page.wait_for_selector("#status:not(:empty)")
    assert "3" in page.locator("#status").inner_text(), "three answer sheets wait in the enumerator's queue"
    check("4-interview-done-offline")
    with page.expect_navigation():
        page.locator("a[href='/field/']").tap()
    page.wait_for_selector(".case-card")
    assert "5" in pending_count(page), pending_count(page)  # a visit, a roster, three answer sheets
    check("5-waiting-to-sync")
    assert not Visit.objects.filter(case=survey.case).exists() and not Response.objects.filter(case=survey.case).exists()

    context.set_offline(False)
    page.locator("#sync-now").tap()
    page.wait_for_function("() => !document.querySelector('#pending').classList.contains('waiting')", timeout=30_000)
    complete = "完成 (1.1)" if lang == "zh" else "Complete (1.1)"
    page.wait_for_function("(t) => document.querySelector('.case-card em').textContent.startsWith(t)", arg=complete)
    check("6-synced")
    visit = Visit.objects.get(case=survey.case)
    assert visit.outcome == "non_contact" and visit.note == "无人在家" and visit.enumerator == user
    members = list(HouseholdMember.objects.filter(case=survey.case).order_by("line"))
    assert [(m.sex, m.age, m.name) for m in members] == ROSTER
    assert [m.line for m in members if m.selected] == [position + 1], "the server's Kish selection is the phone's"
    for code in CODES:
        assert Response.objects.filter(case=survey.case, instrument_version=survey.versions[code]).count() == 1
        stored = Response.objects.get(case=survey.case, instrument_version=survey.versions[code])
        assert stored.answers == expected(sheets[code])
        assert (stored.mode, stored.enumerator) == ("interviewer", user), "an interview is recorded as the enumerator's"
    survey.case.refresh_from_db()
    assert survey.case.disposition == "complete"
    assert check.problems == {}


def test_field_page_refuses_officials_and_strangers(live_server: Any, phone: Any) -> None:
    survey, _ = enumerator_with_case()
    official = get_user_model().objects.create_user(username="e2e_official2", password=PASSWORD)
    StaffProfile.objects.create(user=official, role=Role.OFFICIAL, county=survey.county)
    login(phone, live_server.url, "e2e_official2", PASSWORD)
    assert phone.goto(f"{live_server.url}/field/").status == 403
    status = phone.evaluate("() => fetch('/field/api/bundle/', {method: 'POST', headers: {'X-CSRFToken': document.cookie.replace(/.*csrftoken=([^;]+).*/, '$1')}}).then(r => r.status)")
    assert status == 403
