"""Draw a CountyReport as an A4 PDF in Chinese with an embedded, subset CJK TrueType font."""
from __future__ import annotations

import io
from functools import lru_cache

from django.conf import settings
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from reports.data import Breakdown, CountyReport, Indicator

FONT = "SuyangCJK"
# Bump when the layout changes, so stored PDFs of unchanged data are drawn again.
LAYOUT_VERSION = 7
INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
ACCENT = colors.HexColor("#0b6e4f")
WARN = colors.HexColor("#b54708")
GRID = colors.HexColor("#cbd2d9")
BAND = colors.HexColor("#f0f4f8")

VERDICTS = {
    "met": ("已达到目标", ACCENT),
    "indistinguishable": ("与目标无显著差异", colors.HexColor("#8a6d00")),
    "below": ("低于目标", WARN),
    "none": ("无目标", MUTED),
}


@lru_cache(maxsize=1)
def register_font() -> str:
    """Register the CJK TrueType font once; reportlab embeds a subset of it in each PDF."""
    pdfmetrics.registerFont(TTFont(FONT, settings.SUYANG_PDF_FONT, subfontIndex=0))
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    font = register_font()
    base = ParagraphStyle("base", fontName=font, fontSize=10, leading=15, textColor=INK, wordWrap="CJK")
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=26, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=12, leading=18, textColor=MUTED, spaceAfter=14),
        "h1": ParagraphStyle(
            "h1", parent=base, fontSize=15, leading=22, spaceBefore=10, spaceAfter=6, textColor=ACCENT, keepWithNext=1
        ),
        "h2": ParagraphStyle("h2", parent=base, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4, keepWithNext=1),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=12),
        "cellc": ParagraphStyle("cellc", parent=base, fontSize=9, leading=12, alignment=TA_CENTER),
        "big": ParagraphStyle("big", parent=base, fontSize=20, leading=26, textColor=ACCENT),
    }


def pct(value: float, digits: int = 1) -> str:
    """Return VALUE as a percentage, or a dash when it is undefined (e.g. the CV of a 0% estimate)."""
    if value != value:  # NaN
        return "—"
    return f"{100 * value:.{digits}f}%"


def _ci(low: float, high: float) -> str:
    return f"{pct(low)} – {pct(high)}"


def _table(rows: list[list[object]], widths: list[float], header_rows: int = 1, align: str = "RIGHT") -> Table:
    table = Table(rows, colWidths=widths, repeatRows=header_rows, hAlign="LEFT")
    style = [
        ("FONT", (0, 0), (-1, -1), register_font(), 9),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), BAND),
        ("LINEBELOW", (0, header_rows - 1), (-1, header_rows - 1), 0.8, INK),
        ("LINEBELOW", (0, -1), (-1, -1), 0.8, INK),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (1, header_rows), (-1, -1), align),
        ("ALIGN", (0, 0), (-1, header_rows - 1), "CENTER"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    for r in range(header_rows, len(rows)):
        if (r - header_rows) % 2 == 1:
            style.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#f8fafc")))
    table.setStyle(TableStyle(style))
    return table


def _summary(report: CountyReport, st: dict[str, ParagraphStyle]) -> list[object]:
    rows: list[list[object]] = [["指标", "估计值", "95%置信区间", "目标", "判断", "较上年"]]
    for ind in report.indicators:
        verdict, colour = VERDICTS[ind.verdict]
        change = "—"
        if ind.change is not None:
            sign = "+" if ind.change.difference >= 0 else "−"
            star = "变化显著" if ind.change.significant else "变化不显著"
            change = f"{sign}{abs(100 * ind.change.difference):.1f}个百分点<br/>{star}"
        target = f"≥{pct(ind.target)}<br/>（{ind.target_year}年）" if ind.target is not None else "—"
        rows.append(
            [
                Paragraph(ind.label, st["cell"]),
                pct(ind.overall.estimate),
                _ci(ind.overall.ci_low, ind.overall.ci_high),
                Paragraph(target, st["cellc"]),
                Paragraph(f'<font color="{colour.hexval()}">{verdict}</font>', st["cellc"]),
                Paragraph(change, st["cellc"]),
            ]
        )
    return [_table(rows, [44 * mm, 18 * mm, 30 * mm, 22 * mm, 30 * mm, 30 * mm])]


def _plain_words(ind: Indicator) -> str:
    o = ind.overall
    text = (
        f"据本次调查估计，全县{ind.label}为<b>{pct(o.estimate)}</b>，"
        f"有95%的把握认为真实水平在{pct(o.ci_low)}至{pct(o.ci_high)}之间（样本{o.n}人）。"
    )
    if ind.target is not None:
        verdict = {
            "met": "置信区间整体高于目标，可以认为已达到目标",
            "indistinguishable": "目标值落在置信区间内，尚不能判断是否达到目标",
            "below": "置信区间整体低于目标，可以认为尚未达到目标",
        }[ind.verdict]
        text += f"对照{ind.target_year}年目标{pct(ind.target)}，{verdict}。"
    if ind.change is not None:
        direction = "提高" if ind.change.difference >= 0 else "下降"
        sig = "变化在统计上显著" if ind.change.significant else "变化在统计上不显著"
        text += f"与{ind.change.previous_year}年（{pct(ind.change.previous)}）相比{direction}{abs(100 * ind.change.difference):.1f}个百分点，{sig}。"
    return text


def whisker_chart(breakdown: Breakdown, target: float | None, width: float = 170 * mm) -> Drawing:
    """Return a horizontal chart: one dot per cell with its 95% interval, and the target line."""
    cells = breakdown.cells
    row_h, top, left, right = 18.0, 24.0, 120.0, 20.0
    height = top + row_h * len(cells) + 26
    d = Drawing(width, height, initialFontName=register_font())
    font = register_font()
    hi = max([c.ci_high for c in cells] + [target or 0.0]) * 1.1
    hi = min(1.0, max(0.1, (int(hi * 20) + 1) / 20))
    plot_w = width - left - right

    def x(v: float) -> float:
        return left + plot_w * v / hi

    for k in range(0, int(round(hi * 100)) + 1, 5 if hi <= 0.5 else 10):
        v = k / 100
        d.add(Line(x(v), 16, x(v), height - top + 6, strokeColor=GRID, strokeWidth=0.4))
        d.add(String(x(v), 4, f"{k}%", fontName=font, fontSize=7, fillColor=MUTED, textAnchor="middle"))
    for i, c in enumerate(cells):
        y = height - top - row_h * i - row_h / 2
        colour = INK if c.reliable else MUTED
        label = c.label if c.reliable else f"{c.label}（不可靠）"
        d.add(String(left - 6, y - 3, label, fontName=font, fontSize=8, fillColor=colour, textAnchor="end"))
        d.add(Line(x(c.ci_low), y, x(c.ci_high), y, strokeColor=colour, strokeWidth=1.2))
        d.add(Line(x(c.ci_low), y - 3, x(c.ci_low), y + 3, strokeColor=colour, strokeWidth=1.2))
        d.add(Line(x(c.ci_high), y - 3, x(c.ci_high), y + 3, strokeColor=colour, strokeWidth=1.2))
        d.add(Rect(x(c.estimate) - 2.5, y - 2.5, 5, 5, fillColor=ACCENT if c.reliable else MUTED, strokeColor=None))
    if target is not None:
        d.add(Line(x(target), 14, x(target), height - top + 8, strokeColor=WARN, strokeWidth=1, strokeDashArray=[3, 2]))
        d.add(String(x(target), height - top + 10, f"目标 {pct(target)}", fontName=font, fontSize=7.5, fillColor=WARN, textAnchor="middle"))
    return d


def _breakdown_table(b: Breakdown, st: dict[str, ParagraphStyle]) -> Table:
    rows: list[list[object]] = [["类别", "估计值", "95%置信区间", "样本量", "设计效应", "变异系数"]]
    for c in b.cells:
        label = c.label if c.reliable else f"{c.label} †"
        rows.append([Paragraph(label, st["cell"]), pct(c.estimate), _ci(c.ci_low, c.ci_high), f"{c.n:,}", "—" if c.deff != c.deff else f"{c.deff:.2f}", pct(c.cv)])
    return _table(rows, [46 * mm, 22 * mm, 36 * mm, 20 * mm, 22 * mm, 22 * mm])


def _wrap_stamp(text: str, width: float, size: float) -> list[str]:
    """Split the provenance stamp into lines that fit WIDTH points (at most two)."""
    lines, current = [], ""
    for part in text.split(" · "):
        candidate = f"{current} · {part}" if current else part
        if current and pdfmetrics.stringWidth(candidate, FONT, size) > width:
            lines.append(current)
            current = part
        else:
            current = candidate
    lines.append(current)
    return lines


def render_pdf(report: CountyReport) -> bytes:
    """Return the PDF bytes of REPORT."""
    st = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=22 * mm,
        title=report.title,
        author="素养 Suyang",
        subject=report.subtitle,
        initialFontName=FONT,
    )
    stamp = report.provenance.stamp()

    def footer(canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setStrokeColor(GRID)
        canvas.line(18 * mm, 15 * mm, A4[0] - 18 * mm, 15 * mm)
        canvas.setFont(FONT, 6.5)
        canvas.setFillColor(MUTED)
        for i, line in enumerate(_wrap_stamp(stamp, A4[0] - 36 * mm - 18 * mm, 6.5)):
            canvas.drawString(18 * mm, 11 * mm - i * 8, line)
        canvas.setFont(FONT, 8)
        canvas.drawRightString(A4[0] - 18 * mm, 11 * mm, f"第 {document.page} 页")
        canvas.restoreState()

    story: list[object] = [
        Paragraph(report.title, st["title"]),
        Paragraph(report.subtitle, st["subtitle"]),
        Paragraph("一、主要结论", st["h1"]),
    ]
    story += _summary(report, st)
    story.append(Spacer(1, 6))
    for ind in report.indicators:
        story.append(Paragraph(_plain_words(ind), st["base"]))
        story.append(Spacer(1, 4))
    story.append(Paragraph("“判断”依据单侧检验（显著性水平5%）：置信区间全部高于目标为“已达到目标”，全部低于目标为“低于目标”，否则为“与目标无显著差异”。", st["small"]))

    targets = {i.code: i.target for i in report.indicators}
    story.append(Paragraph("二、历年变化", st["h1"]))
    trend_inds = [i for i in report.indicators if i.code in report.trends]
    trend_rows: list[list[object]] = [["年度"] + [Paragraph(i.label, st["cell"]) for i in trend_inds]]
    years = sorted({p.year for points in report.trends.values() for p in points})
    for year in years:
        row: list[object] = [str(year)]
        for ind in trend_inds:
            point = next((p for p in report.trends.get(ind.code, ()) if p.year == year), None)
            row.append(f"{pct(point.estimate)}（{_ci(point.ci_low, point.ci_high)}）" if point else "—")
        trend_rows.append(row)
    story.append(
        _table(trend_rows, [24 * mm] + [150 * mm / max(1, len(trend_inds))] * len(trend_inds), align="CENTER")
    )

    heading: list[object] = [
        Paragraph("三、分人群、分地区结果", st["h1"]),
        Paragraph("圆点为估计值，横线为95%置信区间，虚线为目标值。标有“†”或“不可靠”的类别样本量不足30人或变异系数超过30%，仅供参考。", st["small"]),
    ]
    for b in report.breakdowns:
        block = heading + [
            Paragraph(b.title, st["h2"]),
            whisker_chart(b, targets.get(b.indicator)),
            Spacer(1, 4),
            _breakdown_table(b, st),
            Spacer(1, 8),
        ]
        story.append(KeepTogether(block))
        heading = []

    story.append(PageBreak())
    story.append(Paragraph("四、调查方法", st["h1"]))
    for heading, text in report.methods:
        story.append(Paragraph(heading, st["h2"]))
        story.append(Paragraph(text, st["base"]))
    for note in report.notes:
        story.append(Paragraph(note, st["small"]))
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
