"""What the phone apps tell people, in Chromium: the waiting banner clears once the answer sheets
are sent, the Kish selection the server made reads right (count, separator, English), the field
app says it is downloading and what a save did, and the pager fits a 360 px screen at 200 % text.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assessment import services
from assessment.models import Case
from assessment.sampling import kish_select
from tests.e2e.conftest import PHONE
from tests.e2e.offline_steps import answer_screens, fill_roster, give
from tests.e2e.test_field_offline import KISH_U, PASSWORD, ROSTER, enumerator_with_case, login
from tests.e2e.test_offline_survey import sheets_of
from tests.e2e.test_respondent_journey import item_types, shot
from tests.frontend.survey_setup import build_survey

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ELIGIBLE = sum(15 <= age <= 69 for _, age, _ in ROSTER)


@pytest.fixture
def phone_no_worker(browser: Any, in_flight: Any) -> Iterator[Any]:
    """A phone without the service worker: what the page itself says, sooner (no precaching)."""
    context = browser.new_context(**PHONE, service_workers="block")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
    in_flight.wait_idle()


def english(page: Any, base: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": base}])


def test_the_waiting_banner_clears_once_the_answer_sheet_is_sent(live_server: Any, phone_no_worker: Any, screenshots: Path) -> None:
    survey = build_survey()
    page = phone_no_worker
    english(page, live_server.url)
    page.route("**/api/v1/invitations/*/responses/", lambda route: route.abort("internetdisconnected"))
    page.goto(f"{live_server.url}/r/{survey.token}/demographics/")
    page.wait_for_selector("#questionnaire.ready")
    answer_screens(page, sheets_of(survey)["demographics"], item_types(survey, "demographics"))
    page.goto(f"{live_server.url}/r/{survey.token}/")
    page.wait_for_selector("#status.waiting")
    waiting = page.locator("#status").inner_text()
    shot(page, screenshots, "feedback-1-waiting")

    page.unroute("**/api/v1/invitations/*/responses/")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_function("() => SuyangStore.pending().then(p => p.length === 0)")
    page.wait_for_function("() => !document.querySelector('#status').textContent.includes('waiting')", timeout=5_000)
    assert page.locator("#status").inner_text() in ("", "All answer sheets have been sent.")
    shot(page, screenshots, "feedback-1-sent")
    assert waiting == "1 answer sheet waiting to be sent", "one, not 'sheet(s)'"


def test_the_servers_kish_selection_reads_right_in_english(live_server: Any, phone_no_worker: Any, screenshots: Path) -> None:
    survey, user = enumerator_with_case()
    services.household_roster_record(
        case=Case.objects.get(pk=survey.case.pk), members=[services.MemberInput(sex=s, age=a, name=n) for s, a, n in ROSTER], user=user
    )
    position, k = kish_select([r[0] for r in ROSTER], [r[1] for r in ROSTER], [15 <= r[1] <= 69 for r in ROSTER], KISH_U)
    page = phone_no_worker
    english(page, live_server.url)
    login(page, live_server.url, "e2e_enumerator", PASSWORD)
    page.locator(".case-card").tap()
    page.wait_for_selector("#selection:not(:empty)")
    text = page.locator("#selection").inner_text()
    sex, age, name = ROSTER[position]
    assert text == f"Kish selection: member {position + 1} ({name}, {sex.capitalize()}, {age}), of {k} eligible.", text
    assert k == ELIGIBLE and "，" not in text
    shot(page, screenshots, "feedback-2-server-selection-en")


def test_a_roster_saved_online_says_so_then_shows_the_servers_selection(live_server: Any, phone_no_worker: Any, screenshots: Path) -> None:
    """A case without a Kish row: the device cannot select; the server does when the roster arrives."""
    survey, _ = enumerator_with_case()
    Case.objects.filter(pk=survey.case.pk).update(kish_u=None)
    page = phone_no_worker
    login(page, live_server.url, "e2e_enumerator", PASSWORD)
    page.locator(".case-card").tap()
    fill_roster(page, ROSTER)
    page.wait_for_function("() => document.querySelector('#status').textContent.startsWith('名单已')")
    page.wait_for_function("() => document.querySelector('#status').textContent === '名单已同步，以下是服务器的抽选结果。'")
    page.wait_for_selector("#selection:not(:empty)")
    selected = Case.objects.get(pk=survey.case.pk).members.get(selected=True)
    assert page.locator("#selection").inner_text().startswith(f"Kish 抽中：第 {selected.line} 位（{selected.name}，")
    assert f"共 {ELIGIBLE} 位符合条件" in page.locator("#selection").inner_text()
    assert "已下载" not in page.locator("#status").inner_text()
    shot(page, screenshots, "feedback-3-roster-synced")


def test_the_first_download_says_it_is_downloading(live_server: Any, phone_no_worker: Any, screenshots: Path) -> None:
    enumerator_with_case()
    page = phone_no_worker
    held: list[Any] = []
    page.route("**/field/api/bundle/", lambda route: held.append(route))
    login(page, live_server.url, "e2e_enumerator", PASSWORD)
    page.wait_for_url(re.compile(r"/field/$"))
    page.wait_for_function("() => document.querySelector('#view').textContent.includes('正在下载')")
    assert "本机还没有任务" not in page.locator("#view").inner_text()
    assert page.locator("#prepare").is_disabled()
    shot(page, screenshots, "feedback-4-downloading")
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_selector(".case-card")
    assert page.locator("#prepare").is_enabled()
    assert page.locator("#status").inner_text() == "已下载 1 户，可以离线工作。"


@pytest.mark.parametrize(("lang", "elder"), [("zh", False), ("en", False), ("zh", True), ("en", True)])
def test_the_pager_fits_a_small_screen_at_double_text_size(live_server: Any, browser: Any, in_flight: Any, screenshots: Path,
                                                             lang: str, elder: bool) -> None:
    """360 px at 200 % text is a 180 px wide viewport: both buttons whole, no sideways scrolling."""
    survey = build_survey()
    context = browser.new_context(**{**PHONE, "viewport": {"width": 180, "height": 640}}, service_workers="block")
    try:
        page = context.new_page()
        if lang == "en":
            english(page, live_server.url)
        page.goto(f"{live_server.url}/r/{survey.token}/demographics/")
        if elder:
            page.locator("#elder-toggle").tap()
        page.wait_for_selector("#questionnaire.ready")
        give(page, "age", "40", "integer")
        page.locator(".pager .button.big").tap()
        page.wait_for_selector(".pager .button.secondary:visible")
        shot(page, screenshots, f"feedback-5-pager-180px-{lang}{'-elder' if elder else ''}")
        got = page.evaluate(
            """() => {
              const lines = (b) => { const r = document.createRange(); r.selectNodeContents(b);
                return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size; };
              const box = (b) => { const r = b.getBoundingClientRect(); return [r.left, r.right, lines(b)]; };
              const wide = Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > 181)
                .map(e => `${e.tagName}.${e.className} ${e.textContent.trim().slice(0, 20)}`).slice(0, 6);
              return {scroll: document.documentElement.scrollWidth, width: innerWidth, wide,
                      next: box(document.querySelector('.pager .button.big')),
                      back: box(document.querySelector('.pager .button.secondary'))};
            }"""
        )
        # is_mobile widens the layout viewport to what overflows it: measure against the screen's 180 px
        assert got["width"] == 180 and got["scroll"] <= got["width"], got
        for which in ("next", "back"):
            left, right, lines = got[which]
            assert left >= 0 and right <= got["width"], (which, got)
            assert lines == 1, (which, "the label wraps", got)
    finally:
        context.close()
        in_flight.wait_idle()
