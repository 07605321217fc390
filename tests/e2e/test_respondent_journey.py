"""A resident answers every questionnaire of an invitation on a phone, in a real browser."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from assessment.models import Role, StaffProfile
from questionnaires.models import Item, Response, ResponseScore
from tests.frontend.survey_setup import Survey, build_survey, correct_answers

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CJK = re.compile(r"[\u3400-\u9fff]")
MIN_TAP = 44  # CSS px: WCAG 2.5.5 / Apple HIG minimum target


def shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def tap_and_wait(page: Any, target: Any) -> None:
    """Tap TARGET and wait for the page it submits to or opens."""
    with page.expect_navigation():
        target.tap()


def layout_problems(page: Any) -> list[str]:
    """Return what breaks a phone layout: sideways scrolling, and controls too small to tap."""
    return page.evaluate(
        """(minTap) => {
          const problems = [];
          const width = document.documentElement.clientWidth;
          if (document.documentElement.scrollWidth > width + 1)
            problems.push(`page scrolls sideways: ${document.documentElement.scrollWidth}px > ${width}px`);
          document.querySelectorAll('main label.option, main button, main a.button, main input[type=number], main input[type=text]').forEach(el => {
            const r = el.getBoundingClientRect();
            if (r.height && r.height < minTap) problems.push(`${el.tagName} "${el.textContent.trim().slice(0, 20)}" is ${r.height.toFixed(0)}px high`);
            if (r.right > width + 1) problems.push(`${el.tagName} "${el.textContent.trim().slice(0, 20)}" overflows to ${r.right.toFixed(0)}px`);
          });
          return problems;
        }""",
        MIN_TAP,
    )


def choose(page: Any, name: str, value: Any) -> None:
    """Tap the option(s) of a question as a person would: on the label, not the tiny input."""
    for v in value if isinstance(value, list) else [value]:
        page.locator(f'label.option:has(input[name="q_{name}"][value="{v}"])').tap()


def answer(page: Any, answers: dict[str, Any], types: dict[str, str]) -> None:
    for name, value in answers.items():
        if types[name] in (Item.Type.INTEGER, Item.Type.DECIMAL, Item.Type.TEXT):
            page.locator(f"#q_{name}").fill(str(value))
        else:
            choose(page, name, value)


def item_types(survey: Survey, code: str) -> dict[str, str]:
    return dict(survey.versions[code].items.values_list("name", "type"))


def test_resident_answers_all_questionnaires_on_a_phone_without_javascript(
    live_server: Any, phone_without_js: Any, screenshots: Path
) -> None:
    """The plain forms under the app (tests/e2e/test_offline_survey.py): every question on one page."""
    survey = build_survey()
    sheets = {code: correct_answers(survey.keys[code]) for code in ("science_literacy", "health_literacy")}
    types = {code: item_types(survey, code) for code in ("demographics", "science_literacy", "health_literacy")}
    page = phone_without_js
    problems: dict[str, list[str]] = {}

    page.goto(f"{live_server.url}/r/{survey.token}/")
    assert page.locator("h1").inner_text() == survey.wave.name_zh
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    shot(page, screenshots, "01-consent")
    problems["consent"] = layout_problems(page)
    tap_and_wait(page, page.get_by_text("同意并开始作答"))

    page.wait_for_url(re.compile(r"/demographics/$"))
    assert "第 1 份，共 3 份" in page.locator(".progress").inner_text()
    shot(page, screenshots, "02-demographics")
    problems["demographics"] = layout_problems(page)

    # Submitting an empty form keeps the respondent on the page with every question marked.
    tap_and_wait(page, page.get_by_role("button", name="提交"))
    assert page.locator("p.error[role=alert]").count() == 1
    assert page.locator(".question.invalid").count() == 6
    assert "请回答这道题。" in page.locator('.question[data-name="sex"] p.error').inner_text()
    shot(page, screenshots, "03-demographics-errors")
    problems["demographics with errors"] = layout_problems(page)

    page.locator("#q_age").fill("40")
    for name, value in (("sex", "female"), ("education", "senior_secondary"), ("occupation", "farmer"),
                        ("residence", "rural"), ("town", "yushan")):
        choose(page, name, value)
    assert page.locator('input[name="q_sex"][value="female"]').is_checked()
    tap_and_wait(page, page.get_by_role("button", name="提交"))

    for position, code in ((2, "science_literacy"), (3, "health_literacy")):
        page.wait_for_url(re.compile(rf"/{code}/$"))
        assert f"第 {position} 份，共 3 份" in page.locator(".progress").inner_text()
        assert page.locator("h1").inner_text() == survey.versions[code].title_zh
        page.screenshot(path=str(screenshots / f"0{position + 2}-{code}-top.png"))
        problems[code] = layout_problems(page)
        answer(page, sheets[code], types[code])
        if code == "health_literacy":
            shot(page, screenshots, "06-health_literacy-answered-full")
        tap_and_wait(page, page.get_by_role("button", name="提交"))

    page.wait_for_url(re.compile(rf"/r/{survey.token}/$"))
    assert page.locator("h1").inner_text() == "已全部完成，谢谢您！"
    assert page.locator(".plan li.done").count() == 3
    shot(page, screenshots, "07-done")
    problems["done"] = layout_problems(page)

    for code, version in survey.versions.items():
        assert Response.objects.filter(case=survey.case, instrument_version=version).count() == 1, code
    assert Response.objects.filter(case=survey.case).count() == 3
    stored = Response.objects.get(case=survey.case, instrument_version=survey.versions["demographics"])
    assert stored.answers == {"age": 40, "sex": "female", "education": "senior_secondary", "occupation": "farmer",
                              "residence": "rural", "town": "yushan"}
    assert stored.started_at is not None and stored.duration_seconds is not None, "the page stamps the start time"
    science = ResponseScore.objects.get(response__case=survey.case, response__instrument_version=survey.versions["science_literacy"])
    health = ResponseScore.objects.get(response__case=survey.case, response__instrument_version=survey.versions["health_literacy"])
    assert science.total_points == 100 and science.benchmarks["science_literacy"] is True
    assert health.total_points == 66 and health.benchmarks["health_literacy"] is True
    assert {screen: found for screen, found in problems.items() if found} == {}


def english_consent(live_server: Any, page: Any) -> Survey:
    survey = build_survey()
    page.goto(f"{live_server.url}/r/{survey.token}/")
    tap_and_wait(page, page.get_by_role("button", name="English"))
    return survey


def test_consent_page_switches_to_english(live_server: Any, phone: Any, screenshots: Path) -> None:
    page = phone
    survey = english_consent(live_server, page)
    assert page.url.endswith(f"/r/{survey.token}/"), "the switch stays on the page"
    assert page.locator("html").get_attribute("lang") == "en"
    shot(page, screenshots, "08-consent-en")
    main = page.locator("main").inner_text()
    assert survey.wave.name_en in main and "About this survey" in main
    assert "调查说明" not in main
    tap_and_wait(page, page.locator("a.button.big"))
    assert page.url.endswith("/demographics/")
    assert "How old are you" in page.locator("main").inner_text()
    shot(page, screenshots, "09-demographics-en")
    assert layout_problems(page) == []


def test_english_consent_page_has_no_chinese_left(live_server: Any, phone: Any) -> None:
    english_consent(live_server, phone)
    main = phone.locator("main").inner_text()
    assert not CJK.search(main), CJK.findall(main)[:20]


def test_staff_pages_on_phone_and_desktop(live_server: Any, phone: Any, desktop: Any, screenshots: Path) -> None:
    survey = build_survey()
    user = get_user_model().objects.create_user(username="e2e_official", password="pw-official-2025")
    StaffProfile.objects.create(user=user, role=Role.OFFICIAL, county=survey.county)
    page = phone
    page.goto(f"{live_server.url}/")
    assert "素养" in page.locator("h1").inner_text()
    shot(page, screenshots, "10-home")
    assert layout_problems(page) == []
    tap_and_wait(page, page.get_by_role("link", name="工作人员登录"))
    page.locator("#id_username").fill("e2e_official")
    page.locator("#id_password").fill("wrong")
    tap_and_wait(page, page.get_by_role("button", name="登录"))
    assert "用户名或密码不正确" in page.locator("main").inner_text()
    shot(page, screenshots, "11-login-error")
    page.locator("#id_password").fill("pw-official-2025")
    tap_and_wait(page, page.get_by_role("button", name="登录"))
    assert page.url == f"{live_server.url}/reports/", "an official starts on the reports"
    page.goto(f"{live_server.url}/reports/")
    assert survey.wave.name_zh in page.locator("main h2").first.inner_text()
    assert "全县报告" in page.locator("table.list").inner_text()
    shot(page, screenshots, "12-officials-phone")
    phone_problems = layout_problems(page)

    desktop.goto(f"{live_server.url}/accounts/login/?next=/reports/")
    desktop.locator("#id_username").fill("e2e_official")
    desktop.locator("#id_password").fill("pw-official-2025")
    desktop.get_by_role("button", name="登录").click()
    desktop.wait_for_url(re.compile(r"/reports/$"))
    shot(desktop, screenshots, "13-officials-desktop")
    assert phone_problems == []
