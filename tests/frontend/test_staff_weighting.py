"""Recomputing out-of-date weights from the staff pages, and the pages in English, on the demo
county (frontend/views/staff.py `weigh`, the `named` filter, reports.selectors.visible_reports)."""
from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from assessment.models import AuditEvent, County, Town, Wave, WeightSet
from assessment.selectors import weights_stale
from assessment.services import response_review
from questionnaires.models import Response
from tests.frontend.html import main_text


def signed_in(username: str, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(get_user_model().objects.get(username=username))
    return client


@pytest.fixture
def wave(demo_county: Any, db: None) -> Wave:
    return Wave.objects.get(county=County.objects.get(pk=demo_county.county_id), code="2025")


@pytest.fixture
def stale(wave: Wave) -> WeightSet:
    """A rejected science sheet: the science weights of 2025 are out of date."""
    target = Response.objects.filter(wave=wave, instrument_version__instrument__code="science_literacy", case__isnull=False).order_by("pk").first()
    response_review(response=target, decision="rejected", reason="录音核对不符", user=get_user_model().objects.get(username="admin"))
    (ws,) = weights_stale(wave)
    return ws


def test_an_admin_recomputes_the_stale_weights_from_the_monitor_page(wave: Wave, stale: WeightSet) -> None:
    admin = signed_in("admin")
    html = admin.get("/staff/", {"wave": wave.code}).content.decode()
    assert "权重集已过期" in main_text(html) and "公民科学素质测评 v1" in main_text(html) and 'action="/staff/weights/"' in html
    done = admin.post("/staff/weights/", {"wave": wave.code, "next": "/staff/?wave=2025"}, follow=True)
    assert done.redirect_chain[-1][0] == "/staff/?wave=2025"
    assert weights_stale(wave) == []
    current = WeightSet.objects.get(wave=wave, instrument=stale.instrument, is_current=True)
    assert current.version == stale.version + 1
    assert f"第 {current.version} 版" in main_text(done.content.decode())
    run = AuditEvent.objects.get(action="weights.compute", object_id=str(current.pk))
    assert run.actor.username == "admin"


def test_supervisors_see_no_button_and_are_refused_the_run(wave: Wave, stale: WeightSet) -> None:
    supervisor = signed_in("supervisor_yushan")
    html = supervisor.get("/staff/review/", {"wave": wave.code}).content.decode()
    assert "请管理员重新计算权重" in main_text(html) and 'action="/staff/weights/"' not in html
    refused = supervisor.post("/staff/weights/", {"wave": wave.code})
    assert refused.status_code == 403
    assert weights_stale(wave) == [stale], "nothing was recomputed"


def test_an_off_site_next_is_not_followed(wave: Wave, stale: WeightSet) -> None:
    done = signed_in("admin").post("/staff/weights/", {"wave": wave.code, "next": "https://evil.example/"})
    assert done.status_code == 302 and done["Location"] == "/staff/?wave=2025"


def test_staff_pages_and_the_report_list_name_things_in_english(wave: Wave) -> None:
    admin = signed_in("admin", "en")
    town = Town.objects.filter(county=wave.county).exclude(name_en="").order_by("order").first()
    cases = main_text(admin.get("/staff/cases/", {"wave": wave.code}).content.decode())
    assert town.name_en in cases and town.name_zh not in cases
    reports = main_text(admin.get("/reports/").content.decode())
    assert f"{town.name_en}" in reports and f"{town.name_zh}报告" not in reports
    assert "领导干部和公务员报告" not in reports, "group titles follow the language too"
    chinese = main_text(signed_in("admin").get("/reports/").content.decode())
    assert f"{town.name_zh}报告" in chinese and "领导干部和公务员报告" in chinese


def test_an_unknown_page_gets_the_sites_own_not_found_page(db: None, settings: Any) -> None:
    settings.DEBUG = False
    for language, words in (("zh-hans", "没有找到这个页面"), ("en", "not found")):
        page = Client(HTTP_ACCEPT_LANGUAGE=language).get("/no/such/page/")
        assert page.status_code == 404
        text = page.content.decode()
        assert words.lower() in text.lower() and 'href="/"' in text and "frontend/site" in text
