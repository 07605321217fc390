"""Draw a report's numbers as tables: CSV (one flat table) and XLSX (one sheet per part).

Percentages are in percent (18.27 means 18.27%).  A suppressed cell (too few respondents)
keeps its sample size and nothing else, as in the PDF.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from reports.data import AssessmentReport, Cell

# Bump when the tables change for the same data, so stored CSV/XLSX files are made again.
TABLES_VERSION = 1

CELL_COLUMNS = ("估计值(%)", "95%置信区间下限(%)", "95%置信区间上限(%)", "样本量", "加权人数", "设计效应", "变异系数(%)", "可靠性")
VERDICTS = {"met": "已达到目标", "indistinguishable": "与目标无显著差异", "below": "低于目标", "none": ""}


def _p(value: float | None) -> float | None:
    """Return a share in percent, rounded to 2 decimals (None when undefined)."""
    if value is None or value != value:
        return None
    return round(100 * value, 2)


def _quality(cell: Cell) -> str:
    if cell.suppressed:
        return "样本不足，不公布"
    if cell.flagged:
        return "† 变异系数超过30%，仅供参考"
    return "可靠"


def cell_values(cell: Cell | None) -> list[Any]:
    """Return the CELL_COLUMNS of a cell (blank estimates when suppressed or missing)."""
    if cell is None:
        return [None] * len(CELL_COLUMNS)
    if cell.suppressed:
        return [None, None, None, cell.n, None, None, None, _quality(cell)]
    deff = round(cell.deff, 3) if cell.deff == cell.deff else None
    return [_p(cell.estimate), _p(cell.ci_low), _p(cell.ci_high), cell.n, round(cell.weighted_n), deff, _p(cell.cv), _quality(cell)]


def sheets(report: AssessmentReport) -> Iterator[tuple[str, list[str], list[list[Any]]]]:
    """Yield (sheet name, header, rows) for every part of the report."""
    area = report.scope.name
    yield (
        "主要指标",
        ["指标", "对象", "范围", *CELL_COLUMNS, "目标(%)", "目标年份", "判断", "较上年(百分点)", "较上年p值", "上一轮年度", "与县内其余部分之差(百分点)", "差异p值", "来源"],
        [
            [
                ind.label, ind.population, area, *cell_values(ind.overall),
                _p(ind.target), ind.target_year, VERDICTS[ind.verdict] if ind.overall else ind.missing,
                _p(ind.change.difference) if ind.change else None,
                round(ind.change.p_value, 4) if ind.change else None,
                ind.change.previous_year if ind.change else None,
                _p(ind.comparison.difference) if ind.comparison else None,
                round(ind.comparison.p_value, 4) if ind.comparison else None,
                ind.source,
            ]
            for ind in report.indicators
        ]
        + [
            [ind.label, ind.population, report.county, *cell_values(ind.county), _p(ind.target), ind.target_year, "", None, None, None, None, None, ind.source]
            for ind in report.indicators
            if ind.county is not None
        ],
    )
    yield (
        "分组结果",
        ["指标", "分组方式", "类别", *CELL_COLUMNS],
        [[b.indicator_label, b.title.split("：", 1)[-1], c.label, *cell_values(c)] for b in report.breakdowns for c in b.cells],
    )
    rows = []
    for t in report.trends:
        for p in t.points:
            rows.append([t.label, area, p.year, None if p.suppressed else _p(p.estimate), None if p.suppressed else _p(p.ci_low), None if p.suppressed else _p(p.ci_high), p.n])
        for p in t.county_points:
            rows.append([t.label, report.county, p.year, _p(p.estimate), _p(p.ci_low), _p(p.ci_high), p.n])
    yield "历年变化", ["指标", "范围", "年度", "估计值(%)", "95%置信区间下限(%)", "95%置信区间上限(%)", "样本量"], rows
    yield (
        "健康素养分项",
        ["分项", "类别", "范围", *CELL_COLUMNS],
        [[p.title.split("：", 1)[-1], c.label, area, *cell_values(c)] for p in report.profiles for c in p.cells]
        + [[p.title.split("：", 1)[-1], c.label, report.county, *cell_values(c)] for p in report.profiles for c in p.county_cells],
    )
    rows = []
    for g in report.gaps:
        for d in g.dimensions:
            rows.append([g.group_label, g.instrument_label, g.n, "方面", d.label, _p(d.share), _p(d.county_share), g.action_area])
        for i in g.items:
            rows.append([g.group_label, g.instrument_label, g.n, "题目", f"{i.name} {i.text}", _p(i.share), _p(i.county_share), g.action_area])
    yield "知识短板", ["人群", "指标", "样本量", "类型", "方面或题目", "得分率或正确率(%)", "全县(%)", "对应行动"], rows
    for section in report.methods:
        if section.table is not None:
            yield section.heading[:28], list(section.table.header), [list(r) for r in section.table.rows]


def render_csv(report: AssessmentReport) -> bytes:
    """Return every table of REPORT as one CSV (UTF-8 with BOM, so that Excel reads the Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["# " + report.title])
    writer.writerow(["# " + report.provenance.stamp()])
    for name, header, rows in sheets(report):
        writer.writerow([])
        writer.writerow(["部分", *header])
        for row in rows:
            writer.writerow([name, *["" if v is None else v for v in row]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def render_xlsx(report: AssessmentReport) -> bytes:
    """Return REPORT's tables as an Excel workbook: a cover sheet, then one sheet per part."""
    book = Workbook()
    cover = book.active
    cover.title = "说明"
    lines = [
        report.title,
        report.subtitle,
        "",
        "百分比以百分数表示（18.27 即 18.27%）。“可靠性”一栏：样本不足30人的结果不公布估计值；变异系数超过30%的结果标“†”，仅供参考。",
        "数据来源：" + report.provenance.stamp(),
        "",
        *report.key_findings,
    ]
    for i, text in enumerate(lines, start=1):
        cover.cell(row=i, column=1, value=text).alignment = Alignment(wrap_text=True, vertical="top")
    cover["A1"].font = Font(bold=True, size=14)
    cover.column_dimensions["A"].width = 120
    header_fill = PatternFill("solid", fgColor="F0F4F8")
    for name, header, rows in sheets(report):
        sheet = book.create_sheet(name)
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for row in rows:
            sheet.append(row)
        for j, title in enumerate(header, start=1):
            values = [title] + [r[j - 1] for r in rows]
            width = max(len(str(v)) if v is not None else 0 for v in values)
            sheet.column_dimensions[get_column_letter(j)].width = min(60, max(8, width * 1.6 + 2))
            if "(%)" in title or "百分点" in title:
                for r in range(2, len(rows) + 2):
                    sheet.cell(row=r, column=j).number_format = "0.0"
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
