"""The report API (/api/v1/): what each role may list, generate and download, and clear refusals.

Uses the demo county's accounts: admin, official (county), official_yushan (town),
supervisor_yushan, enumerator_yushan.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from assessment.models import Town, Wave
from reports import apis
from reports.models import JobStatus, Report, ReportBatch

pytestmark = pytest.mark.django_db
COUNTY_WIDE = ("admin", "official")
TOWN_SCOPED = ("official_yushan", "supervisor_yushan")


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SUYANG_JOB_BACKEND = "inline"
    return settings.MEDIA_ROOT


def client_of(username: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


@pytest.fixture
def fake_reports(wave_2025: Wave, media: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Store a small file instead of building the report: these tests are about access."""
    calls: list[dict[str, Any]] = []

    def report_file(*, wave: Wave, kind: str, code: str, fmt: str, user: Any = None) -> Report:
        calls.append({"kind": kind, "code": code, "fmt": fmt})
        town = Town.objects.get(county=wave.county, code=code) if kind == "town" else None
        report = Report.objects.create(
            wave=wave, kind=kind, town=town, group=code if kind == "group" else "", format=fmt, status=JobStatus.DONE,
            generated_at=timezone.now(), provenance={"data_hash": "f" * 64, "title": f"{kind} {code}"},
        )
        report.file.save(f"{kind}-{code}.{fmt}", ContentFile(b"%PDF-1.4 test"), save=True)
        return report

    monkeypatch.setattr(apis, "report_file", report_file)
    return calls


def entries(body: list[dict[str, Any]], wave: str = "2025") -> set[tuple[str, str]]:
    found = next(w for w in body if w["wave"] == wave)
    return {(r["kind"], r["code"]) for r in found["reports"]}


# -- list -------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", COUNTY_WIDE)
def test_county_wide_roles_list_every_report_of_every_household_wave(wave_2025: Wave, username: str) -> None:
    response = client_of(username).get("/api/v1/reports/")
    assert response.status_code == 200
    assert response.json()["count"] == 4
    body = response.json()["results"]
    assert [w["wave"] for w in body] == ["2025", "2024", "2023", "2022"]  # no enterprise wave of its own
    towns = set(Town.objects.filter(county=wave_2025.county).values_list("code", flat=True))
    assert entries(body) == {("county", "")} | {("town", t) for t in towns} | {
        ("group", g) for g in ("youth", "farmer", "worker", "elder", "cadre")
    }
    assert body[0]["reports"][0]["formats"] == ["pdf", "xlsx", "csv"]


@pytest.mark.parametrize("username", TOWN_SCOPED)
def test_a_town_official_lists_the_county_report_and_their_own_towns(wave_2025: Wave, username: str) -> None:
    body = client_of(username).get("/api/v1/reports/?wave=2025").json()["results"]
    assert [w["wave"] for w in body] == ["2025"]
    assert entries(body) == {("county", ""), ("town", "yushan")}


@pytest.mark.parametrize("username", ["enumerator_yushan"])
def test_roles_without_report_rights_are_refused(wave_2025: Wave, username: str) -> None:
    client = client_of(username)
    assert client.get("/api/v1/reports/").status_code == 403
    assert client.post("/api/v1/reports/", {"wave": "2025"}).status_code == 403
    assert client.post("/api/v1/report-batches/", {"wave": "2025"}).status_code == 403


def test_anonymous_requests_are_refused(wave_2025: Wave) -> None:
    assert Client().get("/api/v1/reports/").status_code == 401
    assert Client().post("/api/v1/reports/", {"wave": "2025"}).status_code == 401


# -- generate and download --------------------------------------------------------------------


@pytest.mark.parametrize("username", COUNTY_WIDE + TOWN_SCOPED)
@pytest.mark.parametrize(("kind", "code"), [("county", ""), ("town", "yushan")])
def test_every_report_role_generates_and_downloads_the_county_and_own_town_report(
    fake_reports: list[dict[str, Any]], username: str, kind: str, code: str
) -> None:
    client = client_of(username)
    response = client.post("/api/v1/reports/", {"wave": "2025", "kind": kind, "code": code, "format": "pdf"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["kind"], body["code"], body["format"]) == (kind, code, "pdf")
    download = client.get(body["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    assert f'filename="suyang-2025-{kind}' in download["Content-Disposition"]


@pytest.mark.parametrize("username", TOWN_SCOPED)
@pytest.mark.parametrize(("kind", "code"), [("town", "jinshui"), ("group", "farmer")])
def test_a_town_official_is_refused_other_towns_and_group_reports(fake_reports: list[dict[str, Any]], username: str, kind: str, code: str) -> None:
    response = client_of(username).post("/api/v1/reports/", {"wave": "2025", "kind": kind, "code": code})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert fake_reports == []


def test_a_stored_report_of_another_town_cannot_be_downloaded_by_id(fake_reports: list[dict[str, Any]]) -> None:
    made = client_of("official").post("/api/v1/reports/", {"wave": "2025", "kind": "town", "code": "jinshui"}).json()
    assert client_of("official_yushan").get(made["download_url"]).status_code == 403
    assert client_of("official").get(made["download_url"]).status_code == 200
    assert client_of("official").get("/api/v1/reports/999999/download/").status_code == 404


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({"wave": "1999"}, 404, "unknown_wave"),
        ({"wave": "2025-enterprise"}, 404, "unknown_wave"),
        ({"wave": "2025", "kind": "town", "code": "atlantis"}, 404, "unknown_town"),
        ({"wave": "2025", "kind": "group", "code": "pilots"}, 404, "unknown_scope"),
        ({"wave": "2025", "kind": "town"}, 400, None),
        ({"wave": "2025", "format": "docx"}, 400, None),
    ],
)
def test_bad_requests_get_a_clear_4xx(wave_2025: Wave, media: Path, data: dict[str, str], status: int, code: str | None) -> None:
    response = client_of("admin").post("/api/v1/reports/", data)
    assert response.status_code == status, response.content
    if code:
        assert response.json()["code"] == code
        assert response.json()["detail"]
    assert not Report.objects.exists()


def test_a_wave_without_weights_is_a_409_with_the_reason(wave_2025: Wave, media: Path) -> None:
    Wave.objects.create(county=wave_2025.county, code="2026", year=2026, name_zh="2026年调查", name_en="Survey 2026")
    response = client_of("official").post("/api/v1/reports/", {"wave": "2026"})
    assert response.status_code == 409
    assert response.json() == {"code": "not_reportable", "detail": "2026 轮次的 science_literacy 还没有权重：请先计算权重。"}
    assert client_of("official").post("/api/v1/report-batches/", {"wave": "2026"}).status_code == 409


def test_generating_builds_the_real_report_once(wave_2025: Wave, media: Path) -> None:
    client = client_of("official_yushan")
    first = client.post("/api/v1/reports/", {"wave": "2025", "kind": "town", "code": "yushan", "format": "xlsx"}).json()
    second = client.post("/api/v1/reports/", {"wave": "2025", "kind": "town", "code": "yushan", "format": "xlsx"}).json()
    assert first["id"] == second["id"] and first["title"] == "平阴县榆山街道2025年公民科学素质与健康素养评估报告"
    download = client.get(first["download_url"])
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    assert b"".join(download.streaming_content).startswith(b"PK")


# -- batches ----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", TOWN_SCOPED)
def test_a_town_official_cannot_start_a_batch(wave_2025: Wave, media: Path, username: str) -> None:
    response = client_of(username).post("/api/v1/report-batches/", {"wave": "2025"})
    assert response.status_code == 403
    assert not ReportBatch.objects.exists()


def test_a_batch_is_started_polled_and_downloaded(wave_2025: Wave, media: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reports import services

    runs: list[int] = []
    monkeypatch.setattr(services.jobs, "enqueue", lambda name, **kwargs: runs.append(kwargs["batch_id"]))
    client = client_of("official")
    started = client.post("/api/v1/report-batches/", {"wave": "2025"})
    assert started.status_code == 202
    body = started.json()
    assert (body["status"], body["done"], body["total"], body["download_url"]) == ("queued", 0, 15, None)
    assert runs == [body["id"]]
    assert client.get(f"/api/v1/report-batches/{body['id']}/download/").status_code == 409
    assert client_of("official_yushan").get(body["status_url"]).status_code == 403
    batch = ReportBatch.objects.get(pk=body["id"])
    batch.status, batch.done = JobStatus.DONE, 15
    batch.archive.save("all.zip", ContentFile(b"PK\x05\x06" + b"\0" * 18), save=True)
    polled = client.get(body["status_url"]).json()
    assert (polled["status"], polled["progress"]) == ("done", 100)
    zipped = client.get(polled["download_url"])
    assert zipped.status_code == 200 and zipped["Content-Type"] == "application/zip"
    assert client.get("/api/v1/report-batches/999999/").status_code == 404
