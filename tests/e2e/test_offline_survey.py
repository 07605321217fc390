"""The respondent app in Chromium: one question per screen, answers kept on the phone, offline.

Every questionnaire is completed from the invitation link in Chinese, in English and in elder
mode; screens are photographed to out/screenshots/ and checked with axe-core and for phone layout.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from questionnaires.models import Response
from tests.e2e.axe_check import axe_problems
from tests.e2e.offline_steps import answer_screens, current_question, give
from tests.e2e.test_respondent_journey import item_types, layout_problems, shot
from tests.frontend.survey_setup import DEMOGRAPHICS_ADULT, Survey, build_survey, correct_answers

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CODES = ("demographics", "science_literacy", "health_literacy")


def sheets_of(survey: Survey) -> dict[str, dict[str, Any]]:
    return {"demographics": DEMOGRAPHICS_ADULT, **{c: correct_answers(survey.keys[c]) for c in CODES[1:]}}


def stored(survey: Survey, code: str) -> dict[str, Any]:
    return Response.objects.get(case=survey.case, instrument_version=survey.versions[code]).answers


def expected(sheet: dict[str, Any]) -> dict[str, Any]:
    """Return SHEET as the server stores it (whole numbers as numbers, multiple choices sorted)."""
    out: dict[str, Any] = {}
    for name, value in sheet.items():
        out[name] = int(value) if isinstance(value, str) and value.isdigit() else sorted(value) if isinstance(value, list) else value
    return out


class Checked:
    """Screenshots, axe-core and layout checks of the screens a test walks through."""

    def __init__(self, page: Any, folder: Path, prefix: str) -> None:
        self.page, self.folder, self.prefix, self.problems = page, folder, prefix, {}

    def __call__(self, name: str) -> None:
        shot(self.page, self.folder, f"{self.prefix}-{name}")
        found = axe_problems(self.page) + layout_problems(self.page)
        if found:
            self.problems[name] = found


@pytest.mark.parametrize(("lang", "elder"), [("zh", False), ("en", False), ("zh", True), ("en", True)])
def test_every_questionnaire_completed_from_the_link(live_server: Any, phone: Any, screenshots: Path, lang: str, elder: bool) -> None:
    survey = build_survey()
    sheets = sheets_of(survey)
    page = phone
    check = Checked(page, screenshots, f"app-{lang}{'-elder' if elder else ''}")
    page.goto(f"{live_server.url}/r/{survey.token}/")
    if lang == "en":
        with page.expect_navigation():
            page.get_by_role("button", name="English").tap()
        assert page.locator("html").get_attribute("lang") == "en"
    if elder:
        page.locator("#elder-toggle").tap()
        assert page.locator("html.elder").count() == 1
        page.reload()
        assert page.locator("html.elder").count() == 1, "elder mode is remembered"
        assert page.locator("#elder-toggle").get_attribute("aria-pressed") == "true"
        assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 22
    check("01-consent")
    page.locator("#start").tap()
    for n, code in enumerate(CODES):
        page.wait_for_url(re.compile(rf"/{code}/$"))
        page.wait_for_selector("#questionnaire.ready")
        assert page.locator("#qprogress").inner_text().strip(" ·")
        check(f"{n + 2}-{code}-first")
        if code == "demographics":
            page.locator(".pager .button.big").tap()  # Next without an answer: stays, says why
            assert page.locator('.question[data-name="age"].invalid').count() == 1
            assert page.locator("#err_age").is_visible()
            check("02b-demographics-required")
            give(page, "age", "5", "integer")
            page.locator(".pager .button.big").tap()
            assert page.locator("#err_age").inner_text() in ("年龄应在12到100岁之间", "Age must be between 12 and 100")
        types = item_types(survey, code)
        shots = {}

        def shoot(p: Any, i: int, code: str = code, types: dict[str, str] = types, shots: dict[str, int] = shots) -> None:
            kind = types[current_question(p)]
            if kind not in shots:  # one screen of each question type
                shots[kind] = i
                check(f"{CODES.index(code) + 2}-{code}-{kind}")

        answer_screens(page, sheets[code], types, shoot=shoot)
    page.wait_for_url(re.compile(rf"/r/{survey.token}/$"))
    done = "已全部完成，谢谢您！" if lang == "zh" else "All done"
    assert done in page.locator("h1").inner_text() or page.locator("h1").inner_text() == "已全部完成，谢谢您！"
    check("9-done")
    for code in CODES:
        assert stored(survey, code) == expected(sheets[code]), code
        assert Response.objects.filter(case=survey.case, instrument_version=survey.versions[code]).count() == 1
    language = Response.objects.get(case=survey.case, instrument_version=survey.versions["demographics"]).language
    assert language == ("en" if lang == "en" else "zh-hans")
    assert check.problems == {}


def wait_offline_ready(page: Any) -> None:
    """Wait until the worker controls the page and the questionnaires are kept on the device."""
    # Installing the worker and caching every questionnaire page takes a few seconds. Now and then
    # (about one run in ten here) the new worker's clients.claim() comes late; a real phone's next
    # page load is controlled by the active worker anyway, so the test reloads once, as the
    # respondent's next tap would, rather than fail on the timing.
    ready = "() => navigator.serviceWorker.controller !== null && document.documentElement.dataset.cached === '1'"
    try:
        page.wait_for_function(ready, timeout=30_000)
    except PlaywrightTimeout:
        state = page.evaluate(
            """() => navigator.serviceWorker.getRegistration().then(r => ({
                controlled: navigator.serviceWorker.controller !== null,
                cached: document.documentElement.dataset.cached || "",
                worker: r ? {installing: !!r.installing, waiting: !!r.waiting, active: r.active && r.active.state} : null}))"""
        )
        warnings.warn(f"not offline-ready after 30 s ({state}): reloaded once", stacklevel=2)
        page.reload()
        page.wait_for_selector("#questionnaire.ready")
        page.wait_for_function(ready, timeout=30_000)


def test_offline_mid_survey_reload_and_back_online_stores_each_answer_sheet_once(live_server: Any, phone: Any, screenshots: Path) -> None:
    survey = build_survey()
    sheets = sheets_of(survey)
    page, context = phone, phone.context
    check = Checked(page, screenshots, "offline")
    page.goto(f"{live_server.url}/r/{survey.token}/")
    page.locator("#start").tap()
    page.wait_for_selector("#questionnaire.ready")
    answer_screens(page, sheets["demographics"], item_types(survey, "demographics"))
    page.wait_for_url(re.compile(r"/science_literacy/$"))
    page.wait_for_selector("#questionnaire.ready")
    page.reload()  # the worker installed on the first page now controls this one
    page.wait_for_selector("#questionnaire.ready")
    wait_offline_ready(page)
    types = item_types(survey, "science_literacy")
    answer_screens(page, sheets["science_literacy"], types, stop_after=10)

    context.set_offline(True)
    # The worker is cut off too: a page it has not kept cannot be fetched through it.
    reached = page.evaluate("(u) => fetch(u).then(r => r.status, () => 'failed')", f"/r/{survey.token}/not-kept/")
    assert reached == "failed"
    answer_screens(page, sheets["science_literacy"], types, stop_after=5)
    assert page.locator("#status").inner_text() != ""
    where = current_question(page)
    page.reload()  # offline: the page comes from the worker's cache, the answers from IndexedDB
    page.wait_for_selector("#questionnaire.ready")
    assert current_question(page) == where, "resumes on the screen it was on"
    first = next(iter(sheets["science_literacy"]))
    assert page.locator(f'input[name="q_{first}"][value="{sheets["science_literacy"][first]}"]').is_checked()
    check("1-science-resumed-offline")
    answer_screens(page, sheets["science_literacy"], types)  # submit while offline: kept, not "submitted"
    page.wait_for_url(re.compile(r"/health_literacy/$"))
    page.wait_for_selector("#questionnaire.ready")
    check("2-health-offline")
    assert not Response.objects.filter(case=survey.case, instrument_version=survey.versions["science_literacy"]).exists()
    answer_screens(page, sheets["health_literacy"], item_types(survey, "health_literacy"))
    page.wait_for_url(re.compile(rf"/r/{survey.token}/$"))
    page.wait_for_selector("#status:not(:empty)")
    check("3-all-answered-offline")
    assert page.locator("h1").inner_text() == survey.wave.name_zh, "not 'done' before the server confirms"
    assert page.locator(".plan li.waiting-upload").count() == 2
    assert Response.objects.filter(case=survey.case).count() == 1

    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_function("() => document.querySelector('h1').textContent.includes('已全部完成')", timeout=30_000)
    check("4-confirmed")
    for code in CODES:
        assert Response.objects.filter(case=survey.case, instrument_version=survey.versions[code]).count() == 1, code
        assert stored(survey, code) == expected(sheets[code]), code
    assert check.problems == {}


def test_double_tap_and_a_retry_after_a_timeout_store_one_response(live_server: Any, phone: Any) -> None:
    survey = build_survey()
    sheets = sheets_of(survey)
    page = phone
    attempts: list[int] = []

    def lose_the_first_answer(route: Any) -> None:
        """The request reaches the server; the phone never hears back (a timeout on a weak network)."""
        attempts.append(1)
        if len(attempts) == 1:
            route.fetch()
            route.abort("timedout")
        else:
            route.continue_()

    page.context.route("**/api/v1/invitations/*/responses/", lose_the_first_answer)
    page.goto(f"{live_server.url}/r/{survey.token}/demographics/")
    page.wait_for_selector("#questionnaire.ready")
    answer_screens(page, sheets["demographics"], item_types(survey, "demographics"))
    # Stored once by the lost attempt; the phone did not hear so, and sends it again on the next page.
    page.wait_for_url(re.compile(r"/science_literacy/$"))
    page.wait_for_selector("#questionnaire.ready")
    page.wait_for_function("() => SuyangStore.pending().then(p => p.length === 0)")
    assert len(attempts) == 2
    record = page.evaluate("() => SuyangStore.all('outbox').then(r => r[0])")
    assert record["state"] == "sent" and record["last_status"] == 200  # 200: already stored
    assert Response.objects.filter(case=survey.case).count() == 1

    types = item_types(survey, "science_literacy")
    answer_screens(page, sheets["science_literacy"], types, stop_after=49)
    give(page, current_question(page), sheets["science_literacy"][current_question(page)], types[current_question(page)])
    assert page.locator(".pager .button.big").get_attribute("data-last") == "1"
    with page.expect_navigation():
        page.evaluate("() => { const b = document.querySelector('.pager .button.big'); b.click(); b.click(); }")
    assert len(attempts) == 3, "the second tap sends nothing"
    assert Response.objects.filter(case=survey.case, instrument_version=survey.versions["science_literacy"]).count() == 1
    assert stored(survey, "science_literacy") == expected(sheets["science_literacy"])


def test_a_new_deployment_keeps_answers_queued_in_a_closed_tab(live_server: Any, phone: Any, monkeypatch: Any) -> None:
    survey = build_survey()
    sheets = sheets_of(survey)
    page, context = phone, phone.context
    page.goto(f"{live_server.url}/r/{survey.token}/")
    page.locator("#start").tap()
    page.wait_for_selector("#questionnaire.ready")
    wait_offline_ready(page)
    old_shell = page.evaluate("() => caches.keys().then(k => k.filter(n => n.startsWith('suyang-shell-')))")
    assert len(old_shell) == 1
    context.set_offline(True)
    answer_screens(page, sheets["demographics"], item_types(survey, "demographics"))
    page.wait_for_url(re.compile(r"/science_literacy/$"))
    page.close()  # the tab is closed with the answer sheet still on the phone

    monkeypatch.setattr("frontend.views.offline.shell_version", lambda: "deployment2")
    context.set_offline(False)
    page = context.new_page()
    page.goto(f"{live_server.url}/r/{survey.token}/")
    page.wait_for_function(
        "() => caches.keys().then(k => k.includes('suyang-shell-deployment2') && k.filter(n => n.startsWith('suyang-shell-')).length === 1)"
    )
    page.wait_for_function("() => SuyangStore.pending().then(p => p.length === 0)")
    assert Response.objects.filter(case=survey.case).count() == 1
    assert stored(survey, "demographics") == expected(sheets["demographics"])
