"""Who may list waves and download the county report (assessment/access.py, frontend views)."""
from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from reports.models import JobStatus, Report
from tests.frontend.conftest import Staff
from tests.frontend.survey_setup import Survey

ALLOWED = ("admin", "county_official", "town_official", "supervisor")
REFUSED = ("enumerator", "no_profile")


@pytest.fixture
def stored_report(survey: Survey, monkeypatch: pytest.MonkeyPatch, settings, tmp_path) -> Report:  # type: ignore[no-untyped-def]
    """Serve a stored PDF instead of building one: these tests are about access, not estimates."""
    settings.MEDIA_ROOT = tmp_path
    report = Report.objects.create(
        wave=survey.wave, kind=Report.Kind.COUNTY, status=JobStatus.DONE, generated_at=timezone.now()
    )
    report.file.save("county.pdf", ContentFile(b"%PDF-1.4 test"), save=True)
    monkeypatch.setattr("frontend.views.officials.county_report_file", lambda *, wave, user=None: report)
    return report


def test_anonymous_user_is_sent_to_login(client: Client, db: None) -> None:
    response = client.get("/reports/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/reports/"


def test_anonymous_download_is_sent_to_login(client: Client, survey: Survey) -> None:
    response = client.get(f"/reports/{survey.wave.code}/county.pdf")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", ALLOWED)
def test_report_roles_see_their_county_waves(client: Client, staff: Staff, survey: Survey, role: str) -> None:
    client.force_login(getattr(staff, role))
    response = client.get("/reports/")
    html = response.content.decode()
    assert response.status_code == 200
    assert survey.wave.name_zh in html
    assert f"/reports/{survey.wave.code}/county.pdf" in html
    assert staff.other_wave.code not in html


@pytest.mark.parametrize("role", REFUSED)
def test_users_without_report_rights_are_refused_the_list(client: Client, staff: Staff, survey: Survey, role: str) -> None:
    client.force_login(getattr(staff, role))
    response = client.get("/reports/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "无权访问" in html
    assert "county.pdf" not in html


@pytest.mark.parametrize("role", ALLOWED)
def test_report_roles_download_the_county_pdf(client: Client, staff: Staff, survey: Survey, stored_report: Report, role: str) -> None:
    client.force_login(getattr(staff, role))
    response = client.get(f"/reports/{survey.wave.code}/county.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="suyang-{survey.wave.code}-county.pdf"'
    assert response.content.startswith(b"%PDF")


@pytest.mark.parametrize("role", REFUSED)
def test_users_without_report_rights_are_refused_the_pdf(client: Client, staff: Staff, survey: Survey, stored_report: Report, role: str) -> None:
    client.force_login(getattr(staff, role))
    response = client.get(f"/reports/{survey.wave.code}/county.pdf")
    assert response.status_code == 403
    assert b"%PDF" not in response.content
    assert "无权访问" in response.content.decode()


@pytest.mark.parametrize("role", ALLOWED)
def test_a_wave_of_another_county_is_not_found(client: Client, staff: Staff, stored_report: Report, role: str) -> None:
    client.force_login(getattr(staff, role))
    response = client.get(f"/reports/{staff.other_wave.code}/county.pdf")
    assert response.status_code == 404


def test_a_wave_without_weights_gives_409_with_the_reason(client: Client, staff: Staff, survey: Survey, tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    client.force_login(staff.admin)
    response = client.get(f"/reports/{survey.wave.code}/county.pdf")
    html = response.content.decode()
    assert response.status_code == 409
    assert "报告暂不可用" in html
    assert "no weights" in html and survey.wave.code in html
    assert not Report.objects.filter(wave=survey.wave).exists()
