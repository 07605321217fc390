"""Who may list waves and download which report (assessment/access.py, reports/selectors.py,
frontend/views/officials.py), and the pages bad requests get."""
from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from assessment.models import Town, Wave
from reports.models import JobStatus, Report, ReportBatch
from tests.frontend.conftest import Staff
from tests.frontend.html import main_text
from tests.frontend.survey_setup import Survey

ALLOWED = ("admin", "county_official", "town_official", "supervisor")
COUNTY_WIDE = ("admin", "county_official")
TOWN_SCOPED = ("town_official", "supervisor")
REFUSED = ("enumerator", "no_profile")


@pytest.fixture
def other_town(survey: Survey) -> Town:
    return Town.objects.create(county=survey.county, code="jinshui", name_zh="锦水街道", name_en="Jinshui Subdistrict", kind=Town.Kind.STREET, order=1)


@pytest.fixture
def stored(survey: Survey, monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Any) -> list[dict[str, Any]]:
    """Serve a stored file instead of building the report: these tests are about access, not estimates."""
    settings.MEDIA_ROOT = tmp_path
    calls: list[dict[str, Any]] = []

    def report_file(*, wave: Wave, kind: str, code: str, fmt: str, user: Any = None) -> Report:
        calls.append({"kind": kind, "code": code, "fmt": fmt})
        town = Town.objects.get(county=wave.county, code=code) if kind == "town" else None
        report = Report.objects.create(
            wave=wave, kind=kind, town=town, group=code if kind == "group" else "", format=fmt,
            status=JobStatus.DONE, generated_at=timezone.now(),
        )
        report.file.save(f"{kind}.{fmt}", ContentFile(b"%PDF-1.4 test"), save=True)
        return report

    monkeypatch.setattr("frontend.views.officials.report_file", report_file)
    return calls


def get(client: Client, staff: Staff, role: str, url: str) -> Any:
    client.force_login(getattr(staff, role))
    return client.get(url)


def test_anonymous_user_is_sent_to_login(client: Client, db: None) -> None:
    response = client.get("/reports/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/reports/"


def test_anonymous_download_is_sent_to_login(client: Client, survey: Survey) -> None:
    response = client.get(f"/reports/{survey.wave.code}/county.pdf")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# -- the list -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALLOWED)
def test_report_roles_see_their_county_waves_with_the_county_report(client: Client, staff: Staff, survey: Survey, role: str) -> None:
    html = get(client, staff, role, "/reports/").content.decode()
    assert survey.wave.name_zh in html
    for fmt in ("pdf", "xlsx", "csv"):
        assert f"/reports/{survey.wave.code}/county.{fmt}" in html
    assert f"/reports/{survey.wave.code}/town/yushan.pdf" in html
    assert staff.other_wave.code not in html


@pytest.mark.parametrize("role", TOWN_SCOPED)
def test_a_town_official_sees_their_own_town_and_no_other_nor_groups_nor_batches(client: Client, staff: Staff, survey: Survey, other_town: Town, role: str) -> None:
    html = get(client, staff, role, "/reports/").content.decode()
    assert "/town/yushan.pdf" in html
    assert "/town/jinshui" not in html
    assert "/group/" not in html
    assert "/batch/" not in html


@pytest.mark.parametrize("role", COUNTY_WIDE)
def test_county_wide_roles_see_every_town_every_group_and_the_batch(client: Client, staff: Staff, survey: Survey, other_town: Town, role: str) -> None:
    html = get(client, staff, role, "/reports/").content.decode()
    assert "/town/yushan.pdf" in html and "/town/jinshui.pdf" in html
    for group in ("youth", "farmer", "worker", "elder", "cadre"):
        assert f"/group/{group}.pdf" in html
    assert f"/reports/{survey.wave.code}/batch/" in html
    assert "生成全部报告并打包" in main_text(html)


@pytest.mark.parametrize("role", REFUSED)
def test_users_without_report_rights_are_refused_the_list(client: Client, staff: Staff, survey: Survey, role: str) -> None:
    response = get(client, staff, role, "/reports/")
    assert response.status_code == 403
    assert "无权访问" in response.content.decode()
    assert "county.pdf" not in response.content.decode()


# -- downloads ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALLOWED)
@pytest.mark.parametrize("path", ["county.pdf", "county.xlsx", "town/yushan.pdf"])
def test_report_roles_download_the_county_and_their_own_towns_report(client: Client, staff: Staff, survey: Survey, stored: list[dict[str, Any]], role: str, path: str) -> None:
    response = get(client, staff, role, f"/reports/{survey.wave.code}/{path}")
    assert response.status_code == 200
    kind, fmt = ("town", path.split(".")[-1]) if path.startswith("town/") else ("county", path.split(".")[-1])
    assert response["Content-Type"].startswith({"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats"}[fmt])
    scope = "-yushan" if kind == "town" else ""
    assert response["Content-Disposition"] == f'attachment; filename="suyang-{survey.wave.code}-{kind}{scope}.{fmt}"'
    assert b"".join(response.streaming_content).startswith(b"%PDF")


@pytest.mark.parametrize("role", TOWN_SCOPED)
@pytest.mark.parametrize("path", ["town/jinshui.pdf", "group/farmer.pdf"])
def test_a_town_official_is_refused_another_towns_report_and_group_reports(client: Client, staff: Staff, survey: Survey, other_town: Town, stored: list[dict[str, Any]], role: str, path: str) -> None:
    response = get(client, staff, role, f"/reports/{survey.wave.code}/{path}")
    assert response.status_code == 403
    assert "无权访问" in response.content.decode()
    assert stored == []


@pytest.mark.parametrize("role", COUNTY_WIDE)
def test_county_wide_roles_download_any_town_and_group_report(client: Client, staff: Staff, survey: Survey, other_town: Town, stored: list[dict[str, Any]], role: str) -> None:
    assert get(client, staff, role, f"/reports/{survey.wave.code}/town/jinshui.pdf").status_code == 200
    assert get(client, staff, role, f"/reports/{survey.wave.code}/group/farmer.csv").status_code == 200
    assert stored == [{"kind": "town", "code": "jinshui", "fmt": "pdf"}, {"kind": "group", "code": "farmer", "fmt": "csv"}]


@pytest.mark.parametrize("role", REFUSED)
def test_users_without_report_rights_are_refused_the_pdf(client: Client, staff: Staff, survey: Survey, stored: list[dict[str, Any]], role: str) -> None:
    response = get(client, staff, role, f"/reports/{survey.wave.code}/county.pdf")
    assert response.status_code == 403
    assert b"%PDF" not in response.content
    assert "无权访问" in response.content.decode()


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("1999/county.pdf", "没有代码为“1999”的调查轮次"),
        ("{wave}/town/atlantis.pdf", "没有代码为“atlantis”的乡镇（街道）"),
        ("{wave}/group/pilots.pdf", "没有代码为“pilots”的重点人群"),
        ("{wave}/county.docx", "没有“docx”格式的报告"),
    ],
)
def test_unknown_waves_towns_groups_and_formats_get_a_404_page_saying_so(client: Client, staff: Staff, survey: Survey, stored: list[dict[str, Any]], path: str, words: str) -> None:
    response = get(client, staff, "admin", "/reports/" + path.format(wave=survey.wave.code))
    assert response.status_code == 404
    assert words in main_text(response.content.decode())
    assert stored == []


@pytest.mark.parametrize("role", ALLOWED)
def test_a_wave_of_another_county_is_not_found(client: Client, staff: Staff, stored: list[dict[str, Any]], role: str) -> None:
    response = get(client, staff, role, f"/reports/{staff.other_wave.code}/county.pdf")
    assert response.status_code == 404


def test_a_wave_without_weights_gives_409_with_the_reason(client: Client, staff: Staff, survey: Survey, tmp_path: Any, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    response = get(client, staff, "admin", f"/reports/{survey.wave.code}/county.pdf")
    html = response.content.decode()
    assert response.status_code == 409
    assert "报告暂不可用" in html
    assert f"{survey.wave.code} 轮次的 science_literacy 还没有权重" in html
    assert not Report.objects.filter(wave=survey.wave).exists()


# -- batches ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", TOWN_SCOPED + REFUSED)
def test_only_county_wide_roles_may_start_a_batch(client: Client, staff: Staff, survey: Survey, role: str) -> None:
    client.force_login(getattr(staff, role))
    response = client.post(f"/reports/{survey.wave.code}/batch/")
    assert response.status_code == 403
    assert not ReportBatch.objects.exists()


def test_a_batch_cannot_start_before_the_weights(client: Client, staff: Staff, survey: Survey) -> None:
    client.force_login(staff.county_official)
    response = client.post(f"/reports/{survey.wave.code}/batch/")
    assert response.status_code == 409
    assert "报告暂不可用" in response.content.decode()


def test_a_started_batch_shows_its_progress_and_its_zip_when_done(client: Client, staff: Staff, survey: Survey, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr("reports.services.data_fingerprint", lambda wave: "a" * 64)
    runs: list[int] = []
    monkeypatch.setattr("reports.services.jobs.enqueue", lambda name, **kwargs: runs.append(kwargs["batch_id"]))
    client.force_login(staff.county_official)
    response = client.post(f"/reports/{survey.wave.code}/batch/")
    batch = ReportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reports/batches/{batch.pk}/"
    assert runs == [batch.pk]
    page = client.get(response["Location"]).content.decode()
    assert '<meta http-equiv="refresh"' in page and f'max="{batch.total}"' in page
    assert client.get(f"/reports/batches/{batch.pk}/download/").status_code == 409
    assert "正在生成全部报告" in main_text(client.get("/reports/").content.decode())
    batch.status, batch.done = JobStatus.DONE, batch.total
    batch.archive.save("all.zip", ContentFile(b"PK\x05\x06" + b"\0" * 18), save=True)
    page = client.get(response["Location"]).content.decode()
    assert "refresh" not in page and f"/reports/batches/{batch.pk}/download/" in page
    zipped = client.get(f"/reports/batches/{batch.pk}/download/")
    assert zipped.status_code == 200 and zipped["Content-Type"] == "application/zip"
    # Town-scoped staff do not see it.
    client.force_login(staff.town_official)
    assert client.get(f"/reports/batches/{batch.pk}/").status_code == 403
