"""The rendered reports: PDF structure (pages, sections, fonts, stamp), CSV and XLSX tables,
storage once per data snapshot, and `manage.py report` with its clear refusals."""
from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test.utils import override_settings
from openpyxl import load_workbook

from assessment.models import Wave
from reports.data import AssessmentReport
from reports.models import Report

pytestmark = pytest.mark.django_db
SECTIONS = ("一、主要结论", "目录", "二、历年变化", "三、分人群、分地区结果", "四、健康素养分项", "五、知识短板与工作重点", "六、调查方法（附录）", "七、数据来源与版本", "八、术语解释")


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


def written(tmp_path_factory: Any, django_db_blocker: Any, name: str, **options: Any) -> Path:
    """Write a report with `manage.py report`, its database rows rolled back afterwards."""
    out = tmp_path_factory.mktemp("report") / name
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")), django_db_blocker.unblock():
        with transaction.atomic():
            call_command("report", wave="2025", out=str(out), stdout=io.StringIO(), **options)
            transaction.set_rollback(True)
    return out


@pytest.fixture(scope="module")
def pdf_2025(wave_2025: Wave, django_db_blocker: Any, tmp_path_factory: Any) -> Path:
    return written(tmp_path_factory, django_db_blocker, "county.pdf")


@pytest.fixture(scope="module")
def town_pdf(wave_2025: Wave, django_db_blocker: Any, tmp_path_factory: Any) -> Path:
    return written(tmp_path_factory, django_db_blocker, "yushan.pdf", town="yushan")


@pytest.fixture(scope="module")
def group_pdf(wave_2025: Wave, django_db_blocker: Any, tmp_path_factory: Any) -> Path:
    return written(tmp_path_factory, django_db_blocker, "farmer.pdf", group="farmer")


@pytest.fixture(scope="module")
def pdfs(pdf_2025: Path, town_pdf: Path, group_pdf: Path) -> dict[str, Path]:
    """The three kinds of report, declared here so that every test states its need for the demo."""
    return {"pdf_2025": pdf_2025, "town_pdf": town_pdf, "group_pdf": group_pdf}


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


# -- PDF structure ----------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["pdf_2025", "town_pdf", "group_pdf"])
def test_every_report_has_its_sections_in_order_and_a_contents_page(which: str, pdfs: dict[str, Path]) -> None:
    path = pdfs[which]
    assert path.read_bytes().startswith(b"%PDF")
    pages = pdftotext_pages(path)
    assert 8 <= len(pages) <= 40
    assert "一、主要结论" in flat(pages[0])
    body = flat("".join(pages[2:]))
    positions = [body.find(flat(s)) for s in SECTIONS[2:]]
    assert all(p >= 0 for p in positions), dict(zip(SECTIONS[2:], positions))
    assert positions == sorted(positions)
    assert flat(pages[1]).startswith("目录")
    listed = {}
    for line in pages[1].splitlines():
        found = re.match(r"\s*(\S.*?)\s*·*\s*(\d+)\s*$", line)
        if found and "第" not in line:
            listed[flat(found.group(1)).rstrip("·")] = int(found.group(2))
    for section in SECTIONS[2:]:
        page = listed[flat(section)]
        assert flat(section) in flat(pages[page - 1]), (section, page)


@pytest.mark.parametrize("which", ["pdf_2025", "town_pdf", "group_pdf"])
def test_every_page_carries_the_provenance_stamp_and_page_n_of_total(which: str, pdfs: dict[str, Path], report_2025: AssessmentReport) -> None:
    pages = pdftotext_pages(pdfs[which])
    prov = report_2025.provenance
    for number, page in enumerate(pages, start=1):
        text = flat(page)
        assert flat(prov.wave) in text, f"page {number}"
        assert f"数据指纹{prov.data_hash[:12]}" in text, f"page {number}"
        assert "评分标准k1" in text and "权重W" in text, f"page {number}"
        assert f"第{number}页/共{len(pages)}页" in text, f"page {number}"


@pytest.mark.parametrize("which", ["pdf_2025", "town_pdf", "group_pdf"])
def test_every_font_is_embedded_as_a_subset_of_wenquanyi(which: str, pdfs: dict[str, Path]) -> None:
    rows = pdffonts_rows(pdfs[which])
    assert rows, "no fonts listed"
    # Columns from the right: object ID (2), uni, sub, emb.
    assert all(row[-5] == "yes" and row[-4] == "yes" for row in rows), rows
    assert all("WenQuanYi" in row[0] for row in rows), rows


def test_the_county_pdf_leads_with_the_headlines_against_their_targets(pdf_2025: Path, report_2025: AssessmentReport) -> None:
    pages = pdftotext_pages(pdf_2025)
    first, everything = flat(pages[0]), flat("".join(pages))
    for ind in report_2025.indicators:
        assert flat(ind.label) in first
        assert f"{100 * ind.overall.estimate:.1f}%" in first, ind.label
    assert "95%置信区间" in first and "≥18.5%" in first and "≥90.0%" in first
    assert "与目标无显著差异" in first or "已达到目标" in first or "低于目标" in first
    assert len(re.findall(r"\d+\.\d%", everything)) > 150
    for words in ("各乡镇（街道）对照", "六类健康问题", "农民科学素质提升行动", "工作重点", "AAPOR", "RR1", "设计效应", "数据指纹"):
        assert flat(words) in everything, words


def test_the_town_pdf_sets_the_town_beside_the_county(town_pdf: Path, town_2025: AssessmentReport) -> None:
    first = flat(pdftotext_pages(town_pdf)[0])
    assert "榆山街道" in first and "本乡镇" in first and "全县" in first
    assert "县内其他乡镇（街道）" in first
    assert f"{100 * town_2025.indicator('science_literacy').overall.estimate:.1f}%" in first
    assert "榆山街道在全县各乡镇（街道）中的位置" in flat("".join(pdftotext_pages(town_pdf)))


def test_the_group_pdf_is_about_the_group(group_pdf: Path) -> None:
    first = flat(pdftotext_pages(group_pdf)[0])
    assert "农民科学素质与健康素养评估报告" in first and "本人群" in first and "其他居民" in first
    assert "职业健康知识知晓率" not in first


def test_no_cell_prints_as_nan(pdf_2025: Path, town_pdf: Path) -> None:
    for path in (pdf_2025, town_pdf):
        text = " ".join(pdftotext_pages(path))
        assert "nan" not in text.lower().replace("pingyin", "")
        assert "None" not in text


def test_no_line_starts_with_closing_punctuation(pdf_2025: Path, town_pdf: Path) -> None:
    for path in (pdf_2025, town_pdf):
        text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True).stdout
        bad = [line for line in text.splitlines() if line and line[0] in "，。；：、！？）》”"]
        assert not bad, bad[:5]


# -- CSV and XLSX -----------------------------------------------------------------------------


def test_the_csv_holds_every_figure_with_suppressed_cells_blank(report_2025: AssessmentReport) -> None:
    from reports.tables import render_csv

    content = render_csv(report_2025)
    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert report_2025.provenance.data_hash[:12] in rows[1][0]
    main = [r for r in rows if r and r[0] == "主要指标"]
    science = next(r for r in main if r[1] == "公民具备科学素质比例")
    assert float(science[4]) == round(100 * report_2025.indicator("science_literacy").overall.estimate, 2)
    parts = [r for r in rows if r and r[0] == "分组结果"]
    assert len(parts) == sum(len(b.cells) for b in report_2025.breakdowns)
    for row in parts:
        if row[-1] == "样本不足，不公布":
            assert row[4:7] == ["", "", ""] and int(row[7]) > 0
    assert {r[0] for r in rows if r and not r[0].startswith("#")} >= {"主要指标", "分组结果", "历年变化", "健康素养分项", "知识短板"}


def test_the_xlsx_has_a_sheet_per_part_with_numbers(report_2025: AssessmentReport) -> None:
    from reports.tables import render_xlsx

    book = load_workbook(io.BytesIO(render_xlsx(report_2025)))
    assert book.sheetnames[:6] == ["说明", "主要指标", "分组结果", "历年变化", "健康素养分项", "知识短板"]
    assert "调查对象与抽样设计" in book.sheetnames
    sheet = book["主要指标"]
    header = [c.value for c in sheet[1]]
    first = {h: c.value for h, c in zip(header, sheet[2])}
    ind = report_2025.indicators[0]
    assert first["指标"] == ind.label
    assert first["估计值(%)"] == pytest.approx(100 * ind.overall.estimate, abs=0.005)
    assert first["样本量"] == ind.overall.n
    assert book["说明"]["A1"].value == report_2025.title


# -- storage and the command ------------------------------------------------------------------


def test_the_report_is_rendered_once_per_data_snapshot(wave_2025: Wave, media: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    call_command("report", wave="2025", out=str(first), stdout=io.StringIO())
    report = Report.objects.get(wave=wave_2025)
    files = sorted(p.name for p in media.rglob("*.pdf"))
    call_command("report", wave="2025", out=str(second), stdout=io.StringIO())
    assert list(Report.objects.filter(wave=wave_2025)) == [report]
    assert sorted(p.name for p in media.rglob("*.pdf")) == files and len(files) == 1
    assert first.read_bytes() == second.read_bytes()


def test_a_report_stored_by_an_older_builder_is_built_again(wave_2025: Wave, media: Path, report_2025: AssessmentReport) -> None:
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


@pytest.mark.parametrize(("fmt", "magic"), [("xlsx", b"PK"), ("csv", "\ufeff".encode())])
def test_the_command_writes_tables_of_a_town(wave_2025: Wave, media: Path, tmp_path: Path, fmt: str, magic: bytes) -> None:
    out = tmp_path / f"yushan.{fmt}"
    call_command("report", wave="2025", town="yushan", format=fmt, out=str(out), stdout=io.StringIO())
    assert out.read_bytes().startswith(magic)
    stored = Report.objects.get(wave=wave_2025, kind="town", format=fmt)
    assert stored.town.code == "yushan" and stored.filename == f"suyang-2025-town-yushan.{fmt}"


def test_an_unknown_wave_is_refused_naming_the_known_household_waves(wave_2025: Wave) -> None:
    with pytest.raises(CommandError) as refused:
        call_command("report", wave="1999", out="never.pdf")
    assert "没有代码为“1999”的调查轮次（现有：2022、2023、2024、2025）。" in str(refused.value)
    assert not Path("never.pdf").exists()


def test_an_enterprise_wave_is_refused_pointing_to_the_household_report(wave_2025: Wave) -> None:
    with pytest.raises(CommandError, match="“2025-enterprise”是企业调查：其结果在 2025 年入户调查的县报告中"):
        call_command("report", wave="2025-enterprise", out="never.pdf")


@pytest.mark.parametrize(("option", "message"), [({"town": "atlantis"}, "没有代码为“atlantis”的乡镇"), ({"group": "pilots"}, "没有代码为“pilots”的重点人群")])
def test_an_unknown_town_or_group_is_refused_naming_the_known_ones(wave_2025: Wave, media: Path, option: dict[str, str], message: str) -> None:
    with pytest.raises(CommandError, match=message) as refused:
        call_command("report", wave="2025", out="never.pdf", **option)
    assert "yushan" in str(refused.value) or "farmer" in str(refused.value)
    assert not Report.objects.exists()


def test_a_wave_without_weights_is_refused_with_the_reason(wave_2025: Wave, media: Path, tmp_path: Path) -> None:
    Wave.objects.create(county=wave_2025.county, code="2026", year=2026, name_zh="2026年调查", name_en="Survey 2026")
    with pytest.raises(CommandError) as refused:
        call_command("report", wave="2026", out=str(tmp_path / "x.pdf"))
    assert "2026 轮次的 science_literacy 还没有权重" in str(refused.value)
    assert not (tmp_path / "x.pdf").exists()
    assert not Report.objects.filter(wave__code="2026").exists()
