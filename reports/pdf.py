"""Draw a report (reports.data.AssessmentReport) as an A4 PDF in Chinese.

The CJK TrueType font is embedded as a subset; every page has the provenance stamp and
"page n of N" in its footer.  Page 2 is the contents: the headings' pages are known only once
the document is laid out, so the canvas keeps every page until it saves and then writes the
contents, the page count and the footers (one layout pass instead of reportlab's two).
"""
from __future__ import annotations

import io
from functools import lru_cache
from typing import Any

import reportlab.lib.textsplit as rl_textsplit
import reportlab.platypus.paragraph as rl_paragraph
from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from reports import charts
from reports.data import AssessmentReport, Breakdown, Cell, GapProfile, Indicator

FONT = "SuyangCJK"
# Bump when the layout changes, so stored PDFs of unchanged data are drawn again.
LAYOUT_VERSION = 8
INK = charts.INK
MUTED = colors.HexColor("#616e7c")
ACCENT = charts.ACCENT
WARN = colors.HexColor("#b54708")
GRID = colors.HexColor("#cbd2d9")
BAND = colors.HexColor("#f0f4f8")
MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN

VERDICTS = {
    "met": ("已达到目标", ACCENT),
    "indistinguishable": ("与目标无显著差异", colors.HexColor("#8a6d00")),
    "below": ("低于目标", WARN),
    "none": ("—", MUTED),
}
# Chinese punctuation that must not start a line; reportlab's list has the Japanese set only,
# so without these a full-width comma or colon can open a line.
NO_LINE_START = "，；：！？》」』”’）】〕%…·、。"


NO_LINE_END = "（“‘《「『【〔"


def _split_cjk(word: str, widths: list[float], max_widths: Any) -> list[list[Any]]:
    """Split a run of text into lines: reportlab's ``textsplit.dumbSplit`` (fill each line, never
    cut a Latin word, let a closing mark hang in the margin) plus the rule it lacks, that an
    opening bracket or quote does not end a line."""
    if not isinstance(max_widths, (list, tuple)):
        max_widths = [max_widths]
    lines: list[list[Any]] = []
    i = used = start = 0
    limit = max_widths[0]
    while i < len(word):
        width, char = widths[i], word[i]
        used += width
        i += 1
        if used > limit + 1e-8 and used > 0:
            spare = limit - used
            if ord(char) < 0x3000:  # inside a Latin word: break at the last space or CJK character
                for j in range(i - 1, (start + i) >> 1, -1):
                    if rl_textsplit.category(word[j]) == "Zs" or ord(word[j]) >= 0x3000:
                        k = j + 1
                        if k < i:
                            spare += sum(widths[k + 1 : i])
                            width, char, i = widths[k], word[k], k + 1
                            break
            if char not in rl_textsplit.ALL_CANNOT_START and i > start + 1:
                i -= 1
                spare += width
                while word[i - 1] in NO_LINE_END and i - 1 > start + 1:
                    i -= 1
                    spare += widths[i]
            else:  # the closing mark hangs in the margin, and so does one that follows it ("）。")
                hung = 0
                while i < len(word) and word[i] in rl_textsplit.ALL_CANNOT_START and hung < 2:
                    spare -= widths[i]
                    i += 1
                    hung += 1
            lines.append([spare, word[start:i].strip()])
            limit = max_widths[min(len(lines), len(max_widths) - 1)]
            start, used = i, 0
    if used > 0:
        lines.append([limit - used, word[start:]])
    return lines


@lru_cache(maxsize=1)
def register_font() -> str:
    """Register the CJK TrueType font once; reportlab embeds a subset of it in each PDF.

    Also teach reportlab's CJK line breaking the Chinese rules it lacks: full-width commas,
    colons and closing quotes may not start a line (it knows the Japanese set only), and an
    opening bracket or quote may not end one.
    """
    pdfmetrics.registerFont(TTFont(FONT, settings.SUYANG_PDF_FONT, subfontIndex=0))
    # Both line breakers read the module-level list at each call (paragraphs of one run of text
    # use textsplit's, mixed ones paragraph's).
    for module in (rl_textsplit, rl_paragraph):
        missing = "".join(ch for ch in NO_LINE_START if ch not in module.ALL_CANNOT_START)
        module.ALL_CANNOT_START += missing  # type: ignore[attr-defined]
    rl_textsplit.dumbSplit = _split_cjk  # type: ignore[assignment]
    return FONT


@lru_cache(maxsize=1)
def styles() -> dict[str, ParagraphStyle]:
    font = register_font()
    base = ParagraphStyle("base", fontName=font, bulletFontName=font, fontSize=10, leading=16, textColor=INK, wordWrap="CJK")
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontSize=19, leading=28, spaceAfter=2, textColor=INK),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=10.5, leading=16, textColor=MUTED, spaceAfter=10),
        "h1": ParagraphStyle("h1", parent=base, fontSize=15, leading=22, spaceBefore=12, spaceAfter=8, textColor=ACCENT, keepWithNext=1),
        "h2": ParagraphStyle("h2", parent=base, fontSize=11.5, leading=17, spaceBefore=10, spaceAfter=4, keepWithNext=1),
        "h3": ParagraphStyle("h3", parent=base, fontSize=10.5, leading=15, spaceBefore=8, spaceAfter=3, textColor=ACCENT, keepWithNext=1),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=12, textColor=MUTED),
        "bullet": ParagraphStyle("bullet", parent=base, leftIndent=12, bulletIndent=2, spaceAfter=3),
        "finding": ParagraphStyle("finding", parent=base, fontSize=10, leading=16, leftIndent=12, bulletIndent=0, spaceAfter=4),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=11.5),
        "cellc": ParagraphStyle("cellc", parent=base, fontSize=8.5, leading=11.5, alignment=TA_CENTER),
        "cellr": ParagraphStyle("cellr", parent=base, fontSize=8.5, leading=11.5, alignment=2),
        "toc1": ParagraphStyle("toc1", parent=base, fontSize=11, leading=20, leftIndent=0),
        "toc2": ParagraphStyle("toc2", parent=base, fontSize=9.5, leading=15, leftIndent=16, textColor=MUTED),
    }


def pct(value: float | None, digits: int = 1) -> str:
    """Return VALUE as a percentage, or a dash when it is undefined (e.g. the CV of a 0% estimate)."""
    if value is None or value != value:
        return "—"
    return f"{100 * value:.{digits}f}%"


def _ci(cell: Cell) -> str:
    return f"{pct(cell.ci_low)}–{pct(cell.ci_high)}"


def _points(value: float) -> str:
    sign = "+" if value >= 0 else "−"
    return f"{sign}{abs(100 * value):.1f}个百分点"


def _table(rows: list[list[Any]], widths: list[float], header_rows: int = 1, align: str = "RIGHT", zebra: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=header_rows, hAlign="LEFT")
    style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), register_font(), 8.5),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), BAND),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, INK),
        ("LINEBELOW", (0, header_rows - 1), (-1, header_rows - 1), 0.6, INK),
        ("LINEBELOW", (0, -1), (-1, -1), 0.8, INK),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (1, header_rows), (-1, -1), align),
        ("ALIGN", (0, 0), (-1, header_rows - 1), "CENTER"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    if zebra:
        for r in range(header_rows, len(rows)):
            if (r - header_rows) % 2 == 1:
                style.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#f8fafc")))
    table.setStyle(TableStyle(style))
    return table


def _header(texts: list[str], st: dict[str, ParagraphStyle]) -> list[Any]:
    return [Paragraph(f"<b>{t}</b>", st["cellc"]) for t in texts]


# -- the footer and the contents ---------------------------------------------------------------


def _wrap_stamp(text: str, width: float, size: float) -> list[str]:
    """Split the provenance stamp into lines that fit WIDTH points."""
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


class NumberedCanvas(Canvas):
    """A canvas that keeps its pages until it saves, then adds the contents page, "第 n 页 / 共 N
    页" and the provenance stamp to every page."""

    stamp = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []
        self.contents_page = 0
        self.contents: list[tuple[int, str, int, str]] = []  # (level, text, page, bookmark)

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        entries = list(self.contents)
        for state in self._pages:
            self.__dict__.update(state)
            if self._pageNumber == self.contents_page:
                self._draw_contents(entries)
            self._footer(total)
            super().showPage()
        super().save()

    def _draw_contents(self, entries: list[tuple[int, str, int, str]]) -> None:
        top = A4[1] - 16 * mm - 34
        bottom = 30 * mm
        y = top
        for level, text, page, key in entries:
            size, step, indent = (11, 21, 0) if level == 0 else (9.5, 16, 16)
            if y < bottom:
                break
            self.setFont(FONT, size)
            self.setFillColor(INK if level == 0 else MUTED)
            x = MARGIN + indent
            self.drawString(x, y, text)
            number = str(page)
            self.drawRightString(A4[0] - MARGIN, y, number)
            start = x + pdfmetrics.stringWidth(text, FONT, size) + 6
            end = A4[0] - MARGIN - pdfmetrics.stringWidth(number, FONT, size) - 6
            if end > start:
                self.setFillColor(GRID)
                dots = "·" * int((end - start) / pdfmetrics.stringWidth("·", FONT, size))
                self.drawRightString(end, y, dots)
            self.linkRect("", key, (x, y - 3, A4[0] - MARGIN, y + size), relative=0, thickness=0)
            y -= step

    def _footer(self, total: int) -> None:
        self.saveState()
        self.setStrokeColor(GRID)
        self.setLineWidth(0.5)
        self.line(MARGIN, 17 * mm, A4[0] - MARGIN, 17 * mm)
        self.setFont(FONT, 6.5)
        self.setFillColor(MUTED)
        for i, line in enumerate(_wrap_stamp(self.stamp, WIDTH - 30 * mm, 6.5)[:3]):
            self.drawString(MARGIN, 13 * mm - i * 8, line)
        self.setFont(FONT, 8)
        self.drawRightString(A4[0] - MARGIN, 13 * mm, f"第 {self._pageNumber} 页 / 共 {total} 页")
        self.restoreState()


class ContentsMark(Flowable):
    """Marks the page the canvas writes the contents on."""

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return (0, 0)

    def draw(self) -> None:
        self.canv.contents_page = self.canv.getPageNumber()  # type: ignore[attr-defined]


class ReportDocument(BaseDocTemplate):
    """A4 pages with one frame; h1 and h2 headings go into the contents and the PDF outline."""

    def __init__(self, buffer: io.BytesIO, **kwargs: Any) -> None:
        super().__init__(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=16 * mm, bottomMargin=26 * mm, **kwargs)
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body", leftPadding=0, rightPadding=0)
        self.addPageTemplates([PageTemplate(id="page", frames=[frame])])
        self._heading = 0

    def afterFlowable(self, flowable: Flowable) -> None:  # noqa: N802 (reportlab's name)
        if not isinstance(flowable, Paragraph):
            return
        name = flowable.style.name
        if name not in ("h1", "h2") or getattr(flowable, "_skip_toc", False):
            return
        level = 0 if name == "h1" else 1
        text = flowable.getPlainText()
        self._heading += 1
        key = f"h{self._heading}"
        self.canv.bookmarkPage(key)
        self.canv.addOutlineEntry(text, key, level=level, closed=level > 0)
        self.canv.contents.append((level, text, self.page, key))  # type: ignore[attr-defined]


def _h(text: str, st: dict[str, ParagraphStyle], level: str = "h1", toc: bool = True) -> Paragraph:
    para = Paragraph(text, st[level])
    para._skip_toc = not toc  # type: ignore[attr-defined]
    return para


# -- sections ----------------------------------------------------------------------------------


def _summary_table(report: AssessmentReport, st: dict[str, ParagraphStyle]) -> Table:
    area = report.scope.kind != "county"
    own = {"town": "本乡镇", "group": "本人群"}.get(report.scope.kind, "估计值")
    head = ["指标", own, "95%置信区间"] + (["全县"] if area else []) + ["目标", "判断", "较上年"]
    widths = [40 * mm, 16 * mm, 25 * mm] + ([15 * mm] if area else []) + [18 * mm, 30 * mm, 30 * mm]
    if not area:
        widths = [48 * mm, 17 * mm, 27 * mm, 19 * mm, 31 * mm, 32 * mm]
    rows: list[list[Any]] = [_header(head, st)]
    spans: list[int] = []
    for ind in report.indicators:
        label = Paragraph(f"{ind.label}<br/><font size=7 color='#616e7c'>{ind.population}</font>" if ind.population else ind.label, st["cell"])
        o = ind.overall
        if o is None or o.suppressed:
            reason = ind.missing if o is None else f"样本{o.n}人，不足以估计"
            row = [label, Paragraph(f"<font color='#616e7c'>{reason}</font>", st["cell"]), ""]
            if area:
                row.append(pct(ind.county.estimate) if ind.county else "—")
            row += ["—", "—", "—"]
            spans.append(len(rows))
            rows.append(row)
            continue
        verdict, colour = VERDICTS[ind.verdict]
        target = f"≥{pct(ind.target)}<br/><font size=7>（{ind.target_year}年）</font>" if ind.target is not None else "—"
        change = "—"
        if ind.change is not None:
            change = f"{_points(ind.change.difference)}<br/><font size=7>{'变化显著' if ind.change.significant else '变化不显著'}</font>"
        flag = " †" if o.flagged else ""
        row = [label, Paragraph(f"<b>{pct(o.estimate)}</b>{flag}", st["cellr"]), _ci(o)]
        if area:
            row.append(pct(ind.county.estimate) if ind.county else "—")
        row += [
            Paragraph(target, st["cellc"]),
            Paragraph(f'<font color="{colour.hexval()}">{verdict}</font>', st["cellc"]),
            Paragraph(change, st["cellc"]),
        ]
        rows.append(row)
    table = _table(rows, widths)
    table.setStyle(TableStyle([("SPAN", (1, r), (2, r)) for r in spans]))
    return table


def _plain_words(report: AssessmentReport, ind: Indicator) -> str:
    o = ind.overall
    assert o is not None
    # Occupational health in a group's report is the whole enterprise survey's (all key-industry workers).
    where = report.scope.name if report.scope.kind == "town" or (report.scope.kind == "group" and ind.code != "occupational_health") else "全县"
    text = (
        f"据本次调查估计，{where}{ind.label}为{pct(o.estimate)}，"
        f"有95%的把握认为真实水平在{pct(o.ci_low)}至{pct(o.ci_high)}之间（样本{o.n:,}人）。"
    )
    if ind.target is not None and ind.verdict != "none":
        verdict = {
            "met": "置信区间整体高于目标，可以认为已达到目标",
            "indistinguishable": "目标值落在置信区间内，尚不能判断是否达到目标",
            "below": "置信区间整体低于目标，可以认为尚未达到目标",
        }[ind.verdict]
        text += f"对照{ind.target_year}年目标{pct(ind.target)}，{verdict}。"
    if ind.change is not None:
        direction = "提高" if ind.change.difference >= 0 else "下降"
        sig = "变化在统计上显著" if ind.change.significant else "这一变化在抽样误差范围内，统计上不显著"
        text += f"与{ind.change.previous_year}年（{pct(ind.change.previous)}）相比{direction}{abs(100 * ind.change.difference):.1f}个百分点，{sig}。"
    if ind.comparison is not None and ind.county is not None:
        higher = "高" if ind.comparison.difference >= 0 else "低"
        sig = "差异显著" if ind.comparison.significant else "差异不显著"
        text += f"全县为{pct(ind.county.estimate)}；比{ind.comparison.rest_label}{higher}{abs(100 * ind.comparison.difference):.1f}个百分点，{sig}。"
    if o.flagged:
        text += "（该结果变异系数超过30%，仅供参考。）"
    return text


def _summary(report: AssessmentReport, st: dict[str, ParagraphStyle]) -> list[Any]:
    story: list[Any] = [Paragraph(report.title, st["title"]), Paragraph(report.subtitle, st["subtitle"])]
    story.append(_h("一、主要结论", st))
    for finding in report.key_findings:
        story.append(Paragraph(finding, st["finding"], bulletText="•"))
    story.append(Spacer(1, 6))
    story.append(_summary_table(report, st))
    story.append(Spacer(1, 4))
    story.append(
        Paragraph(
            "“判断”是对照目标的单侧检验（显著性水平5%）：90%置信区间整体高于目标为“已达到目标”，整体低于目标为“低于目标”，否则为“与目标无显著差异”。"
            "“较上年”为与上一轮调查相比变化的百分点数，“显著”表示变化超出抽样误差（p<0.05）。标“†”的结果变异系数超过30%，仅供参考。术语见第八部分。",
            st["small"],
        )
    )
    story.append(Spacer(1, 6))
    for ind in report.indicators:
        if ind.overall is not None and not ind.overall.suppressed and ":" not in ind.code:
            story.append(Paragraph(_plain_words(report, ind), st["base"]))
            story.append(Spacer(1, 4))
    return story


def _contents(st: dict[str, ParagraphStyle]) -> list[Any]:
    return [PageBreak(), _h("目  录", st, toc=False), ContentsMark(), PageBreak()]


def _trends(report: AssessmentReport, st: dict[str, ParagraphStyle], font: str) -> list[Any]:
    if not report.trends:
        return []
    area = report.scope.name if report.scope.kind != "county" else "全县"
    story: list[Any] = [_h("二、历年变化", st)]
    story.append(
        Paragraph(
            f"下图是各轮调查的估计值（圆点）及95%置信区间（竖线）；虚线为{report.trends[0].target and '2025年目标' or '目标'}。"
            + ("灰色为全县的结果，便于对照。" if report.scope.kind != "county" else "")
            + "相邻两年的置信区间有重叠，并不一定表示变化不显著，是否显著以正文和上表的检验结果为准。",
            st["small"],
        )
    )
    # All charts in one row: three narrow ones for the county, two wider ones for a town or group.
    per_row = max(2, len(report.trends))
    column = WIDTH / per_row
    drawings: list[Any] = [charts.trend_chart(t, font, column - 3 * mm, area_label=area) for t in report.trends]
    drawings += [""] * (per_row - len(drawings))
    story.append(
        Table(
            [drawings], colWidths=[column] * per_row, hAlign="LEFT",
            style=[("FONT", (0, 0), (-1, -1), font, 8), ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)],
        )
    )
    years = sorted({p.year for t in report.trends for p in t.points})
    head = ["年度"] + [t.label for t in report.trends]
    table: list[list[Any]] = [_header(head, st)]
    for year in years:
        row: list[Any] = [str(year)]
        for t in report.trends:
            p = next((q for q in t.points if q.year == year), None)
            if p is None:
                row.append("—")
            elif p.suppressed:
                row.append(Paragraph(f"样本{p.n}人，不足以估计", st["cellc"]))
            else:
                row.append(Paragraph(f"{pct(p.estimate)}<br/><font size=7 color='#616e7c'>{pct(p.ci_low)}–{pct(p.ci_high)}，n={p.n:,}</font>", st["cellc"]))
        table.append(row)
    story.append(Spacer(1, 4))
    story.append(KeepTogether([_table(table, [20 * mm] + [(WIDTH - 20 * mm) / len(report.trends)] * len(report.trends), align="CENTER")]))
    return story


def _breakdown_table(b: Breakdown, st: dict[str, ParagraphStyle]) -> Table:
    rows: list[list[Any]] = [_header(["类别", "估计值", "95%置信区间", "样本量", "设计效应", "变异系数"], st)]
    for c in b.cells:
        if c.suppressed:
            rows.append([Paragraph(c.label, st["cell"]), Paragraph("<font color='#616e7c'>样本不足，不公布</font>", st["cellc"]), "", f"{c.n:,}", "—", "—"])
            continue
        label = f"{c.label} †" if c.flagged else c.label
        rows.append([Paragraph(label, st["cell"]), pct(c.estimate), _ci(c), f"{c.n:,}", "—" if c.deff != c.deff else f"{c.deff:.2f}", pct(c.cv)])
    table = _table(rows, [46 * mm, 22 * mm, 36 * mm, 22 * mm, 22 * mm, 22 * mm])
    for r, c in enumerate(b.cells, start=1):
        if c.suppressed:
            table.setStyle(TableStyle([("SPAN", (1, r), (2, r))]))
        if b.highlight and c.code == b.highlight:
            table.setStyle(TableStyle([("BACKGROUND", (0, r), (-1, r), colors.HexColor("#fdf2e9"))]))
    return table


def _breakdowns(report: AssessmentReport, st: dict[str, ParagraphStyle], font: str) -> list[Any]:
    intro: list[Any] = [
        _h("三、分人群、分地区结果", st),
        Paragraph(
            "图中圆点为估计值，横线为95%置信区间，橙色虚线为目标值。标“†”的类别变异系数超过30%，结果仅供参考；"
            "样本不足30人的类别不公布估计值，只列样本量。设计效应、变异系数的含义见第八部分。",
            st["small"],
        ),
    ]
    blocks: list[list[Any]] = []
    science = next((b for b in report.breakdowns if b.indicator == "science_literacy" and b.by == "town" and (report.scope.kind == "county" or b.highlight)), None)
    health = next((b for b in report.breakdowns if b.indicator == "health_literacy" and b.by == "town" and (report.scope.kind == "county" or b.highlight)), None)
    if science is not None and health is not None:
        title = "各乡镇（街道）对照" if report.scope.kind == "county" else f"{report.scope.name}在全县各乡镇（街道）中的位置"
        blocks.append(
            [
                _h(title, st, "h2"),
                Paragraph("左为公民具备科学素质比例，右为居民健康素养水平；各乡镇（街道）样本量较小，置信区间较宽，排名先后差几个百分点多属抽样误差。", st["small"]),
                Spacer(1, 4),
                charts.town_chart(science, health, font, WIDTH),
            ]
        )
    county = {i.code: i.county.estimate if i.county else None for i in report.indicators}
    sections = {"science_literacy": "公民具备科学素质比例", "health_literacy": "居民健康素养水平", "occupational_health": "重点行业职工职业健康知识知晓率"}
    for code, label in sections.items():
        parts = [b for b in report.breakdowns if b.indicator == code and not b.highlight]
        for k, b in enumerate(parts):
            whole = report.scope.kind == "county" or (report.scope.kind == "group" and code == "occupational_health")
            block = [
                _h(b.title.split("：", 1)[-1], st, "h3", toc=False),
                charts.whisker_chart(b, font, WIDTH, county=None if whole else county.get(code)),
                Spacer(1, 3),
                _breakdown_table(b, st),
                Spacer(1, 6),
            ]
            # Each heading travels with the block after it: none is left alone at a page's foot.
            blocks.append(([_h(label, st, "h2")] if k == 0 else []) + block)
    if not blocks:
        return [CondPageBreak(60 * mm), *intro]
    return [KeepTogether(intro + blocks[0])] + [KeepTogether(block) for block in blocks[1:]]


def _profiles(report: AssessmentReport, st: dict[str, ParagraphStyle], font: str) -> list[Any]:
    if not report.profiles:
        return []
    area = report.scope.name if report.scope.kind != "county" else "全县"
    story: list[Any] = [CondPageBreak(120 * mm), _h("四、健康素养分项", st)]
    story.append(
        Paragraph(
            "健康素养分为三个方面和六类健康问题，每一部分答对分数达到该部分满分的80%即“具备”该部分素养。下图为具备各部分素养的人口比例"
            + ("，菱形为全县的结果。" if report.scope.kind != "county" else "。"),
            st["small"],
        )
    )
    for p in report.profiles:
        story.append(KeepTogether([_h(p.title.split("：", 1)[-1], st, "h2"), charts.profile_chart(p, font, WIDTH, area_label=area)]))
    return story


def _gap_block(profiles: list[GapProfile], st: dict[str, ParagraphStyle]) -> list[Any]:
    first = profiles[0]
    sizes = "，".join(f"{p.instrument_label}样本{p.n:,}人" for p in profiles)
    own = "本人群" if first.group != "all" else "本地"
    rows: list[list[Any]] = [_header(["指标", "", "得分率最低的方面、正确率最低的题目", own, "全县居民"], st)]
    spans: list[tuple[int, int]] = []
    for p in profiles:
        start = len(rows)
        for k, d in enumerate(p.dimensions[:2]):
            rows.append([Paragraph(p.instrument_label, st["cell"]) if k == 0 else "", "方面", Paragraph(d.label, st["cell"]), pct(d.share, 0), pct(d.county_share, 0)])
        for i in p.items:
            rows.append(["", "题目", Paragraph(f"“{i.text}”", st["cell"]), pct(i.share, 0), pct(i.county_share, 0)])
        spans.append((start, len(rows) - 1))
    table = _table(rows, [22 * mm, 12 * mm, 110 * mm, 15 * mm, 15 * mm], zebra=False)
    style: list[tuple[Any, ...]] = [("VALIGN", (0, 1), (0, -1), "TOP"), ("TEXTCOLOR", (1, 1), (1, -1), MUTED)]
    for start, end in spans:
        style.append(("SPAN", (0, start), (0, end)))
        if start > 1:
            style.append(("LINEABOVE", (0, start), (-1, start), 0.5, GRID))
    table.setStyle(TableStyle(style))
    block: list[Any] = [_h(f"{first.group_label}<font size=8 color='#616e7c'>（{sizes}）</font>", st, "h3", toc=False), table, Spacer(1, 3)]
    areas = "、".join(dict.fromkeys(p.action_area for p in profiles))
    points = [Paragraph(f"{p.instrument_label}：{point}", st["bullet"], bulletText="•") for p in profiles for point in p.focus]
    lead = Paragraph(f"<b>工作重点</b>（{areas}）：", st["base"])
    # The table, the lead and the first point stay together; the other points may flow on.
    return [KeepTogether(block + [lead, points[0]]), *points[1:], Spacer(1, 8)]


def _gaps(report: AssessmentReport, st: dict[str, ParagraphStyle]) -> list[Any]:
    if not report.gaps:
        return []
    intro = [
        _h("五、知识短板与工作重点", st),
        Paragraph(
            "对每个人群，下表列出得分率最低的两个知识方面（该方面答对得分占满分的比例，按权重加权）和正确率最低的题目，并与全县对照；"
            "“工作重点”把最薄弱的两个方面对应到规划的行动，提出可落实的做法。题目文字有删节。",
            st["small"],
        ),
    ]
    groups: dict[str, list[GapProfile]] = {}
    for p in report.gaps:
        groups.setdefault(p.group, []).append(p)
    blocks = [_gap_block(profiles, st) for profiles in groups.values()]
    # The heading stays with the first group's table, so it is never left alone at a page's foot.
    story: list[Any] = [KeepTogether(intro + blocks[0][0]._content), *blocks[0][1:]]
    for block in blocks[1:]:
        story += block
    return story


def _methods(report: AssessmentReport, st: dict[str, ParagraphStyle]) -> list[Any]:
    story: list[Any] = [CondPageBreak(100 * mm), _h("六、调查方法（附录）", st)]
    for section in report.methods:
        block: list[Any] = [_h(section.heading, st, "h2")]
        block += [Paragraph(text, st["base"]) for text in section.paragraphs]
        if section.table is not None:
            t = section.table
            rows: list[list[Any]] = [_header(list(t.header), st)]
            rows += [[Paragraph(cell, st["cell"]) if i == 0 or len(cell) > 14 else cell for i, cell in enumerate(r)] for r in t.rows]
            # Columns as wide as their longest entry needs (within limits), the rest shared out.
            need = [max([len(h)] + [len(r[j]) for r in t.rows]) for j, h in enumerate(t.header)]
            widths = [min(max(20.0, 3.6 * n), 60.0) * mm for n in need]
            scale = WIDTH / sum(widths)
            block.append(Spacer(1, 4))
            block.append(_table(rows, [w * scale for w in widths]))
            if t.note:
                block.append(Paragraph(t.note, st["small"]))
        story.append(KeepTogether(block[:3]))
        story += block[3:]
        story.append(Spacer(1, 4))
    return story


def _glossary(report: AssessmentReport, st: dict[str, ParagraphStyle]) -> list[Any]:
    rows: list[list[Any]] = [_header(["术语", "含义"], st)]
    rows += [[Paragraph(f"<b>{term}</b>", st["cell"]), Paragraph(text, st["cell"])] for term, text in report.glossary]
    table = _table(rows, [36 * mm, WIDTH - 36 * mm], align="LEFT")
    return [CondPageBreak(80 * mm), _h("七、数据来源与版本", st), Paragraph(
        "本报告的每个数字都由下列版本的数据算出，页脚的“数据指纹”是它们的校验码：" + "；".join(
            f"{i}（评分标准{k}，权重{w}）" for i, k, w in zip(report.provenance.instruments, report.provenance.keys, report.provenance.weight_sets)
        ) + f"。数据指纹 {report.provenance.data_hash[:12]}，生成时间 {report.provenance.generated_at}。",
        st["base"],
    ), CondPageBreak(60 * mm), _h("八、术语解释", st), table]


def render_pdf(report: AssessmentReport) -> bytes:
    """Return the PDF bytes of REPORT."""
    st = styles()
    font = register_font()
    buffer = io.BytesIO()
    doc = ReportDocument(buffer, title=report.title, author="素养 Suyang", subject=report.subtitle, initialFontName=font)
    story: list[Any] = []
    story += _summary(report, st)
    story += _contents(st)
    story += _trends(report, st, font)
    story += _breakdowns(report, st, font)
    story += _profiles(report, st, font)
    story += _gaps(report, st)
    story += _methods(report, st)
    story += _glossary(report, st)

    class Stamped(NumberedCanvas):
        stamp = report.provenance.stamp()

    doc.build(story, canvasmaker=Stamped)
    return buffer.getvalue()
