"""Staff pages in a real browser: an admin and a supervisor watch fieldwork, reassign and review on
a desktop, an enumerator records a visit and a roster on a phone; screenshots go to
out/screenshots/staff-*.png."""
from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from assessment.models import Case, SampleDesign, Visit, WaveInstrument
from assessment.services import cases_assign, household_roster_record, sample_design_create, wave_draw_sample
from assessment.services.designs import MemberInput
from questionnaires.models import Item, Response
from questionnaires.services import payload_hash, responses_score
from tests.assessment.fieldwork_setup import PASSWORD, FieldCounty, field_county
from tests.e2e.test_respondent_journey import layout_problems
from tests.frontend.survey_setup import DEMOGRAPHICS_ADULT, correct_answers, publish_banks

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def build() -> FieldCounty:
    """The test county in fieldwork: 4 PSUs × 3 households drawn and assigned, 11 interviewed and scored."""
    fc = field_county()
    versions = publish_banks()
    for order, version in enumerate(versions.values()):
        WaveInstrument.objects.create(wave=fc.wave, instrument_version=version, scoring_key=version.scoring_keys.first(), order=order)
    design = sample_design_create(
        wave=fc.wave, frame=fc.frame, name="两阶段 PPS", allocation=SampleDesign.Allocation.FIXED, households_per_psu=3,
        parameters={"fixed": {"ta": 2, "tb": 2}, "response_rate": 0.8},
    )
    wave_draw_sample(design=design, seed=2026)
    for town, enumerator in (("ta", "enumerator_a"), ("tb", "enumerator_b")):
        cases_assign(cases=Case.objects.filter(town__code=town), enumerator=fc.users[enumerator], user=fc.users["admin"])
    science = versions["science_literacy"]
    key = science.scoring_keys.first()
    good = correct_answers(key)
    tf = list(science.items.filter(type=Item.Type.TRUE_FALSE).values_list("name", flat=True))
    for i, case in enumerate(Case.objects.filter(wave=fc.wave).order_by("code")[:11]):
        household_roster_record(case=case, members=[MemberInput("male", 50), MemberInput("female", 47)])
        answers = dict(good)
        for name in tf[: len(tf) if i % 2 else i]:  # every other respondent gets every true/false item wrong
            answers[name] = "true" if answers[name] == "false" else "false"
        for version, sheet, seconds in ((versions["demographics"], DEMOGRAPHICS_ADULT, 150), (science, answers, 60 if i == 4 else 900 + 20 * i)):
            Response.objects.create(
                client_id=uuid.uuid4(), wave=fc.wave, instrument_version=version, case=case,
                mode=Response.Mode.INTERVIEWER, enumerator=case.assigned_to, duration_seconds=seconds,
                answers=sheet, payload_hash=payload_hash(version, sheet),
            )
        Case.objects.filter(pk=case.pk).update(disposition="complete")
    responses_score(key=key)
    return fc


def login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


def shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"staff-{name}.png"), full_page=True)


def test_admin_and_supervisor_watch_reassign_and_review(live_server: Any, desktop: Any, screenshots: Path) -> None:
    fc = build()
    page = desktop
    login(page, live_server.url, fc.users["admin"].username)
    page.goto(f"{live_server.url}/staff/")
    assert page.locator("h1").inner_text() == "调查进度"
    assert page.locator(".kpi-value").first.inner_text().startswith("11")
    assert page.get_by_text("公民科学素质测评").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")
    shot(page, screenshots, "monitor-admin")
    page.goto(f"{live_server.url}/staff/review/")
    with page.expect_navigation():
        page.get_by_role("button", name="运行质量检查").click()
    assert "质量检查完成" in page.locator(".messages").inner_text()
    page.goto(f"{live_server.url}/staff/designs/")
    shot(page, screenshots, "designs")
    page.goto(f"{live_server.url}/staff/frames/")
    page.set_input_files("#frame-file", files=[{"name": "bad.csv", "mimeType": "text/csv",
                                                "buffer": "代码,名称,乡镇,城乡,人口\nn1,新村,丙镇,郊区,0\nn1,又一村,甲镇,农村,abc\n".encode()}])
    page.fill("#frame-name", "有问题的框")
    page.locator("form:has(#frame-file) button").click()
    page.wait_for_selector(".problems")
    problems = page.locator(".problems li").all_inner_texts()
    assert problems[0].startswith("第 2 行“乡镇”列") and any(p.startswith("第 3 行“代码”列") for p in problems)
    shot(page, screenshots, "frames-errors")

    context = page.context
    context.clear_cookies()
    login(page, live_server.url, fc.users["supervisor_a"].username)
    page.goto(f"{live_server.url}/staff/")
    main = page.locator("main").inner_text()
    assert "甲镇" in main and "乙镇" not in main
    shot(page, screenshots, "monitor-supervisor")

    page.goto(f"{live_server.url}/staff/cases/")
    assert all(code.startswith(f"{fc.wave.code}-") and "-ta-" in code for code in page.locator("td a[href*='/staff/cases/']").all_inner_texts())
    first_psu = page.locator("form.assign").first
    first_psu.locator("select").select_option(label=fc.users["enumerator_a2"].username)
    with page.expect_navigation():
        first_psu.locator("button").click()
    assert "已将 3 户分配给" in page.locator(".messages").inner_text()
    shot(page, screenshots, "cases")

    page.goto(f"{live_server.url}/staff/review/")
    items = page.locator("article.review-item")
    assert items.count() >= 1
    assert "作答过快" in page.locator("main").inner_text()
    speeding = page.locator("article.review-item:has-text('作答过快')").first
    speeding.locator("input[name=reason]").fill("14 分钟的测评 1 分钟答完，已电话核实未认真作答")
    with page.expect_navigation():
        speeding.get_by_role("button", name="剔除").click()
    assert "已记录审核决定" in page.locator(".messages").inner_text()
    assert Response.objects.filter(review="rejected").count() == 1
    shot(page, screenshots, "review")


def test_enumerator_records_a_visit_and_a_roster_on_a_phone(live_server: Any, phone: Any, screenshots: Path) -> None:
    fc = build()
    page = phone
    login(page, live_server.url, fc.users["enumerator_b"].username)
    page.goto(f"{live_server.url}/staff/")
    assert page.url.endswith("/staff/cases/")
    codes = page.locator("td a[href*='/staff/cases/']").all_inner_texts()
    assert codes and all("-tb-" in c for c in codes)
    shot(page, screenshots, "cases-phone")
    todo = Case.objects.filter(town__code="tb", disposition="pending").order_by("code").first()
    page.goto(f"{live_server.url}/staff/cases/{todo.code}/")
    page.select_option("#outcome", "non_contact")
    page.fill("#note", "白天家中无人，傍晚再访")
    with page.expect_navigation():
        page.get_by_role("button", name="保存访问记录").click()
    assert Visit.objects.filter(case=todo, outcome="non_contact").count() == 1
    rows = page.locator("table.roster tbody tr")
    for i, (sex, age) in enumerate((("male", "62"), ("female", "58"), ("female", "31"), ("male", "6"))):
        rows.nth(i).locator("select").select_option(sex)
        rows.nth(i).locator("input[type=number]").fill(age)
    with page.expect_navigation():
        page.get_by_role("button", name="保存名单并抽选被访者").click()
    todo.refresh_from_db()
    assert todo.prob_person == pytest.approx(1 / 3)
    assert "选中" in page.locator("main").inner_text()
    problems = [p for p in layout_problems(page) if "scrolls sideways" in p]
    shot(page, screenshots, "case-phone")
    assert problems == [], problems


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_invitation_sheet_prints_a_qr_code_per_household(live_server: Any, desktop: Any, screenshots: Path, tmp_path: Path) -> None:
    fc = build()
    page = desktop
    login(page, live_server.url, fc.users["supervisor_b"].username)
    case = Case.objects.filter(town__code="tb").exclude(disposition="complete").order_by("code").first()  # slips: unfinished households
    pdf = page.request.get(f"{live_server.url}/staff/psus/{case.sampled_unit_id}/invitations.pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf.body())
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert fc.wave.name_zh in text and case.code in text and f"{live_server.url}/r/" in text.replace("\n", "")
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")], check=True)
    shutil.copy(next(tmp_path.glob("page*.png")), screenshots / "staff-invitations.png")
