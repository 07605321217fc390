"""The county report PDF: structure, text, embedded fonts, caching, and clear refusals."""
from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.test.utils import override_settings

from assessment.models import Wave
from reports.data import CountyReport
from reports.models import Report

pytestmark = pytest.mark.django_db


def pdftotext_pages(path: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True).stdout
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def pdffonts_rows(path: Path) -> list[list[str]]:
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


def flat(text: str) -> str:
    """Text with all whitespace removed: pdftotext spaces CJK runs unpredictably."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def pdf_2025(wave_2025: Wave, django_db_blocker, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """The 2025 report written by `manage.py report`, its database rows rolled back afterwards."""
    out = tmp_path_factory.mktemp("report") / "tmp.pdf"
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")), django_db_blocker.unblock():
        with transaction.atomic():
            call_command("report", wave="2025", out=str(out), stdout=io.StringIO())
            transaction.set_rollback(True)
    return out


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_pdf_has_a_sane_number_of_pages(pdf_2025: Path) -> None:
    assert pdf_2025.read_bytes().startswith(b"%PDF")
    pages = pdftotext_pages(pdf_2025)
    assert 5 <= len(pages) <= 40


def test_pdf_names_the_headline_indicators_with_intervals_and_percentages(pdf_2025: Path, report_2025: CountyReport) -> None:
    pages = pdftotext_pages(pdf_2025)
    first, everything = flat(pages[0]), flat("".join(pages))
    assert "公民具备科学素质比例" in first and "居民健康素养水平" in first
    assert "95%置信区间" in first
    for ind in report_2025.indicators[:2]:
        assert f"{100 * ind.overall.estimate:.1f}%" in first, ind.label
    assert len(re.findall(r"\d+\.\d%", everything)) > 100
    assert "调查方法" in everything and "AAPOR" in everything and "RR1" in everything


def test_every_page_carries_the_provenance_stamp_and_page_number(pdf_2025: Path, report_2025: CountyReport) -> None:
    prov = report_2025.provenance
    for number, page in enumerate(pdftotext_pages(pdf_2025), start=1):
        text = flat(page)
        assert flat(prov.wave) in text, f"page {number}"
        assert f"数据指纹{prov.data_hash[:12]}" in text, f"page {number}"
        assert f"第{number}页" in text


def test_pdf_embeds_every_font_and_uses_wenquanyi(pdf_2025: Path) -> None:
    rows = pdffonts_rows(pdf_2025)
    assert rows, "no fonts listed"
    # Columns from the right: object ID (2), uni, sub, emb.
    assert all(row[-5] == "yes" for row in rows), rows
    assert any("WenQuanYi" in row[0] for row in rows), rows


def test_the_report_is_rendered_once_per_data_snapshot(wave_2025: Wave, media: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    call_command("report", wave="2025", out=str(first), stdout=io.StringIO())
    report = Report.objects.get(wave=wave_2025)
    files = sorted(p.name for p in media.rglob("*.pdf"))
    call_command("report", wave="2025", out=str(second), stdout=io.StringIO())
    assert list(Report.objects.filter(wave=wave_2025)) == [report]
    assert sorted(p.name for p in media.rglob("*.pdf")) == files and len(files) == 1
    assert first.read_bytes() == second.read_bytes()


def test_a_report_stored_by_an_older_builder_is_built_again(wave_2025: Wave, media: Path, report_2025: CountyReport) -> None:
    from django.core.files.base import ContentFile

    from reports.models import JobStatus
    from reports.pdf import LAYOUT_VERSION
    from reports.services import county_report_file

    stale = Report.objects.create(
        wave=wave_2025, kind=Report.Kind.COUNTY, status=JobStatus.DONE, generated_at=wave_2025.created_at,
        provenance={"data_hash": report_2025.provenance.data_hash, "layout": LAYOUT_VERSION},
    )
    stale.file.save("stale.pdf", ContentFile(b"%PDF-1.4 drawn from older builder output"), save=True)
    fresh = county_report_file(wave=wave_2025)
    assert fresh.pk != stale.pk
    assert fresh.file.open("rb").read() != b"%PDF-1.4 drawn from older builder output"
    assert county_report_file(wave=wave_2025).pk == fresh.pk


def test_the_web_download_serves_the_stored_report(client: Client, wave_2025: Wave, media: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.pdf"
    call_command("report", wave="2025", out=str(out), stdout=io.StringIO())
    client.force_login(get_user_model().objects.get(username="official"))
    response = client.get("/reports/2025/county.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content == out.read_bytes()
    assert Report.objects.filter(wave=wave_2025).count() == 1


def test_an_unknown_wave_is_refused_naming_the_known_waves(wave_2025: Wave) -> None:
    with pytest.raises(CommandError) as refused:
        call_command("report", wave="1999", out="never.pdf")
    assert "no wave '1999'" in str(refused.value)
    assert "known waves: 2022, 2023, 2024, 2025" in str(refused.value)
    assert not Path("never.pdf").exists()


def test_a_wave_without_weights_is_refused_with_the_reason(wave_2025: Wave, media: Path, tmp_path: Path) -> None:
    Wave.objects.create(county=wave_2025.county, code="2026", year=2026, name_zh="2026年调查", name_en="Survey 2026")
    with pytest.raises(CommandError) as refused:
        call_command("report", wave="2026", out=str(tmp_path / "x.pdf"))
    assert "wave 2026 has no weights" in str(refused.value)
    assert not (tmp_path / "x.pdf").exists()
    assert not Report.objects.filter(wave__code="2026").exists()


def test_a_wave_without_weights_is_a_409_page_for_officials(client: Client, wave_2025: Wave, media: Path) -> None:
    Wave.objects.create(county=wave_2025.county, code="2026", year=2026, name_zh="2026年调查", name_en="Survey 2026")
    client.force_login(get_user_model().objects.get(username="admin"))
    response = client.get("/reports/2026/county.pdf")
    assert response.status_code == 409
    html = response.content.decode()
    assert "报告暂不可用" in html and "2026" in html


def test_no_cell_prints_as_nan(pdf_2025: Path) -> None:
    text = " ".join(pdftotext_pages(pdf_2025))
    assert "nan" not in text.lower().replace("pingyin", "")
