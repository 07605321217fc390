"""Charts of a report as reportlab drawings (vector, in the embedded CJK font).

Every chart shows estimates as dots with their 95% interval as a whisker; targets are dashed
orange lines; unreliable cells are grey and suppressed ones (too few respondents) have no dot.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from reports.data import Breakdown, Cell, Profile, Trend

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#7b8794")
ACCENT = colors.HexColor("#0b6e4f")
COUNTY = colors.HexColor("#3e4c59")
HIGHLIGHT = colors.HexColor("#c05621")
TARGET = colors.HexColor("#d97706")
GRID = colors.HexColor("#d9e2ec")
BAND = colors.HexColor("#f0f4f8")
SERIES = (colors.HexColor("#0b6e4f"), colors.HexColor("#2563eb"), colors.HexColor("#9333ea"))


def pct_label(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{100 * value:.1f}%"


def _drawn(cell: Cell) -> bool:
    """Return whether CELL has a dot to draw (not suppressed, a finite estimate)."""
    return not cell.suppressed and math.isfinite(cell.estimate)


def _whisker_of(d: Drawing, x: Any, cell: Cell, y: float, colour: colors.Color) -> None:
    """Draw CELL's interval when both ends are defined."""
    if math.isfinite(cell.ci_low) and math.isfinite(cell.ci_high):
        _whisker(d, x(cell.ci_low), x(cell.ci_high), y, colour)


def _scale(values: Sequence[float], floor: float = 0.0) -> tuple[float, float, float]:
    """Return (low, high, step) of a percentage axis that holds VALUES with a little room."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    top = max(finite, default=0.1)
    low = min(finite, default=0.0)
    span_high = min(1.0, top * 1.08 + 0.01)
    low_axis = floor
    if low > 0.5:  # high shares (e.g. 85%–95%): start the axis near them so the spread shows
        low_axis = max(0.0, math.floor((low - 0.08) * 10) / 10)
    span = span_high - low_axis
    step = 0.05 if span <= 0.35 else 0.1 if span <= 0.7 else 0.2
    high = min(1.0, math.ceil(span_high / step - 1e-9) * step)
    return low_axis, max(high, low_axis + step), step


def _axis(d: Drawing, font: str, x0: float, x1: float, y0: float, y1: float, low: float, high: float, step: float, horizontal: bool) -> None:
    """Draw grid lines and percentage labels along the value axis."""
    k = 0
    while True:
        v = low + k * step
        if v > high + 1e-9:
            break
        if horizontal:
            x = x0 + (x1 - x0) * (v - low) / (high - low)
            d.add(Line(x, y0, x, y1, strokeColor=GRID, strokeWidth=0.5))
            d.add(String(x, y0 - 9, f"{round(100 * v):d}%", fontName=font, fontSize=7, fillColor=MUTED, textAnchor="middle"))
        else:
            y = y0 + (y1 - y0) * (v - low) / (high - low)
            d.add(Line(x0, y, x1, y, strokeColor=GRID, strokeWidth=0.5))
            d.add(String(x0 - 4, y - 2.5, f"{round(100 * v):d}%", fontName=font, fontSize=7, fillColor=MUTED, textAnchor="end"))
        k += 1


def _whisker(d: Drawing, x_lo: float, x_hi: float, y: float, colour: colors.Color, cap: float = 3.0, width: float = 1.1) -> None:
    d.add(Line(x_lo, y, x_hi, y, strokeColor=colour, strokeWidth=width))
    d.add(Line(x_lo, y - cap, x_lo, y + cap, strokeColor=colour, strokeWidth=width))
    d.add(Line(x_hi, y - cap, x_hi, y + cap, strokeColor=colour, strokeWidth=width))


def _label_width(labels: Sequence[str], font: str, size: float) -> float:
    return max((stringWidth(label, font, size) for label in labels), default=40.0)


def _legend(d: Drawing, font: str, x: float, y: float, entries: Sequence[tuple[str, str, colors.Color]]) -> None:
    """Draw a one-line legend: (kind, text, colour) with kind dot, line, dashed or square."""
    for kind, text, colour in entries:
        if kind == "dot":
            d.add(Circle(x + 4, y + 2.5, 2.6, fillColor=colour, strokeColor=None))
        elif kind == "dashed":
            d.add(Line(x, y + 2.5, x + 10, y + 2.5, strokeColor=colour, strokeWidth=1, strokeDashArray=[3, 2]))
        elif kind == "square":
            d.add(Rect(x + 1.5, y, 5, 5, fillColor=colour, strokeColor=None))
        elif kind == "vline":
            d.add(Line(x + 5, y - 1, x + 5, y + 6, strokeColor=colour, strokeWidth=1.2))
        elif kind == "diamond":
            d.add(Polygon([x + 4, y - 0.5, x + 7, y + 2.5, x + 4, y + 5.5, x + 1, y + 2.5], fillColor=colour, strokeColor=None))
        else:
            _whisker(d, x, x + 10, y + 2.5, colour, cap=2.5, width=1)
        d.add(String(x + 13, y, text, fontName=font, fontSize=7.5, fillColor=INK))
        x += 13 + stringWidth(text, font, 7.5) + 12


def whisker_chart(breakdown: Breakdown, font: str, width: float = 174 * mm, county: float | None = None) -> Drawing:
    """Return a horizontal chart: one dot per cell with its 95% interval, the target line, and the
    county's figure as a thin line when the chart shows part of the county."""
    cells = breakdown.cells
    labels = [c.label if not (c.suppressed or c.flagged) else f"{c.label}{'（样本不足）' if c.suppressed else ' †'}" for c in cells]
    left = min(_label_width(labels, font, 8) + 18, 134.0)
    row_h, top, bottom, right = 16.0, 8.0, 34.0, 38.0
    height = top + row_h * len(cells) + bottom
    d = Drawing(width, height, initialFontName=font)
    shown = [c for c in cells if _drawn(c)]
    low, high, step = _scale([c.ci_high for c in shown] + [breakdown.target or 0.0, county or 0.0] + [c.ci_low for c in shown])
    x0, x1 = left, width - right
    y_top, y_bottom = height - top, bottom

    def x(v: float) -> float:
        return x0 + (x1 - x0) * (min(max(v, low), high) - low) / (high - low)

    _axis(d, font, x0, x1, y_bottom, y_top, low, high, step, horizontal=True)
    for i, (c, label) in enumerate(zip(cells, labels)):
        y = y_top - row_h * i - row_h / 2
        marked = breakdown.highlight and c.code == breakdown.highlight
        if marked:
            d.add(Rect(0, y - row_h / 2 + 1, width - right + 30, row_h - 2, fillColor=colors.HexColor("#fdf2e9"), strokeColor=None))
        colour = HIGHLIGHT if marked else (MUTED if not c.reliable else INK)
        d.add(String(left - 10, y - 3, label, fontName=font, fontSize=8, fillColor=colour, textAnchor="end"))
        if not _drawn(c):
            continue
        _whisker_of(d, x, c, y, colour)
        d.add(Circle(x(c.estimate), y, 2.8, fillColor=HIGHLIGHT if marked else (ACCENT if c.reliable else MUTED), strokeColor=None))
        d.add(String(x1 + 4, y - 3, pct_label(c.estimate), fontName=font, fontSize=7.5, fillColor=colour))
    legend = [("dot", "估计值", ACCENT), ("whisker", "95%置信区间", INK)]
    if any(c.flagged for c in cells):
        legend.append(("dot", "† 仅供参考", MUTED))
    if breakdown.target is not None and low <= breakdown.target <= high:
        tx = x(breakdown.target)
        d.add(Line(tx, y_bottom, tx, y_top + 4, strokeColor=TARGET, strokeWidth=1, strokeDashArray=[3, 2]))
        legend.append(("dashed", f"目标 {pct_label(breakdown.target)}", TARGET))
    if county is not None and low <= county <= high:
        cx = x(county)
        d.add(Line(cx, y_bottom, cx, y_top + 4, strokeColor=COUNTY, strokeWidth=1.2))
        legend.append(("vline", f"全县 {pct_label(county)}", COUNTY))
    _legend(d, font, x0, 4, legend)
    return d


def town_chart(science: Breakdown, health: Breakdown, font: str, width: float = 174 * mm) -> Drawing:
    """Return the towns side by side: science literacy on the left, health literacy on the right."""
    towns = [c.label for c in science.cells]
    left = _label_width(towns, font, 8.5) + 10
    gap, row_h, top, bottom = 30.0, 17.0, 30.0, 30.0
    panel = (width - left - gap - 8) / 2
    height = top + row_h * len(towns) + bottom
    d = Drawing(width, height, initialFontName=font)
    y_top, y_bottom = height - top, bottom
    for i, c in enumerate(science.cells):
        y = y_top - row_h * i - row_h / 2
        if i % 2 == 0:
            d.add(Rect(left - 4, y - row_h / 2, width - left + 4, row_h, fillColor=BAND, strokeColor=None))
        marked = science.highlight and c.code == science.highlight
        d.add(String(left - 6, y - 3, c.label, fontName=font, fontSize=8.5, fillColor=HIGHLIGHT if marked else INK, textAnchor="end"))
    for p, breakdown in enumerate((science, health)):
        x0 = left + p * (panel + gap)
        x1 = x0 + panel
        shown = [c for c in breakdown.cells if _drawn(c)]
        low, high, step = _scale([c.ci_high for c in shown] + [breakdown.target or 0.0])

        def x(v: float, x0: float = x0, x1: float = x1, low: float = low, high: float = high) -> float:
            return x0 + (x1 - x0) * (min(max(v, low), high) - low) / (high - low)

        _axis(d, font, x0, x1, y_bottom, y_top, low, high, step, horizontal=True)
        d.add(String((x0 + x1) / 2, height - 12, breakdown.indicator_label, fontName=font, fontSize=9, fillColor=INK, textAnchor="middle"))
        by_code = {c.code: c for c in breakdown.cells}
        for i, code in enumerate(c.code for c in science.cells):
            c = by_code.get(code)
            if c is None or not _drawn(c):
                continue
            y = y_top - row_h * i - row_h / 2
            marked = breakdown.highlight and c.code == breakdown.highlight
            colour = HIGHLIGHT if marked else (ACCENT if c.reliable else MUTED)
            _whisker_of(d, x, c, y, colour if marked else (INK if c.reliable else MUTED))
            d.add(Circle(x(c.estimate), y, 2.8, fillColor=colour, strokeColor=None))
        if breakdown.target is not None and low <= breakdown.target <= high:
            tx = x(breakdown.target)
            d.add(Line(tx, y_bottom, tx, y_top + 4, strokeColor=TARGET, strokeWidth=1, strokeDashArray=[3, 2]))
    legend = [("dot", "估计值", ACCENT), ("whisker", "95%置信区间", INK), ("dashed", "2025年目标", TARGET)]
    if any(c.flagged for b in (science, health) for c in b.cells):
        legend.append(("dot", "变异系数超过30%，仅供参考", MUTED))
    if science.highlight:
        legend.append(("dot", "本乡镇（街道）", HIGHLIGHT))
    _legend(d, font, left, 4, legend)
    return d


def trend_chart(trend: Trend, font: str, width: float = 84 * mm, area_label: str = "") -> Drawing:
    """Return one indicator across waves: dots with whiskers joined by a line, and the county's line."""
    height = 58 * mm
    d = Drawing(width, height, initialFontName=font)
    left, right, top, bottom = 30.0, 8.0, 30.0, 40.0
    x0, x1, y0, y1 = left, width - right, bottom, height - top
    points = [p for p in trend.points if not p.suppressed and math.isfinite(p.estimate)]
    values = [p.ci_low for p in points] + [p.ci_high for p in points] + [p.ci_low for p in trend.county_points]
    values += [p.ci_high for p in trend.county_points] + ([trend.target] if trend.target is not None else [])
    low, high, step = _scale(values)
    if min(values, default=0.0) < 0.5:
        low = 0.0
    years = sorted({p.year for p in trend.points} | {p.year for p in trend.county_points})
    title = 9 if stringWidth(trend.label, font, 9) <= width - 4 else 8
    d.add(String(2, height - 12, trend.label, fontName=font, fontSize=title, fillColor=INK))

    def x(year: int) -> float:
        if len(years) == 1:
            return (x0 + x1) / 2
        return x0 + 10 + (x1 - x0 - 20) * years.index(year) / (len(years) - 1)

    def y(v: float) -> float:
        return y0 + (y1 - y0) * (min(max(v, low), high) - low) / (high - low)

    _axis(d, font, x0, x1, y0, y1, low, high, step, horizontal=False)
    for year in years:
        d.add(String(x(year), y0 - 11, str(year), fontName=font, fontSize=7.5, fillColor=MUTED, textAnchor="middle"))
    if trend.target is not None and low <= trend.target <= high:
        d.add(Line(x0, y(trend.target), x1, y(trend.target), strokeColor=TARGET, strokeWidth=1, strokeDashArray=[3, 2]))
    series = [(trend.points, ACCENT, 0.0)]
    if trend.county_points:
        series.append((trend.county_points, COUNTY, 3.0))
    for pts, colour, shift in series:
        usable = [p for p in pts if not p.suppressed and math.isfinite(p.estimate) and math.isfinite(p.ci_low) and math.isfinite(p.ci_high)]
        if len(usable) > 1:
            line: list[float] = []
            for p in usable:
                line += [x(p.year) + shift, y(p.estimate)]
            d.add(PolyLine(line, strokeColor=colour, strokeWidth=1.2))
        for p in usable:
            px = x(p.year) + shift
            d.add(Line(px, y(p.ci_low), px, y(p.ci_high), strokeColor=colour, strokeWidth=1))
            d.add(Line(px - 2.5, y(p.ci_low), px + 2.5, y(p.ci_low), strokeColor=colour, strokeWidth=1))
            d.add(Line(px - 2.5, y(p.ci_high), px + 2.5, y(p.ci_high), strokeColor=colour, strokeWidth=1))
            d.add(Circle(px, y(p.estimate), 2.6, fillColor=colour, strokeColor=None))
        if usable and shift == 0.0:
            last = usable[-1]
            d.add(String(x(last.year) - 5, y(last.ci_high) + 4, pct_label(last.estimate), fontName=font, fontSize=7.5, fillColor=colour, textAnchor="middle"))
    legend = [("dot", area_label or "估计值", ACCENT)]
    if trend.county_points:
        legend.append(("dot", "全县", COUNTY))
    if trend.target is not None:
        legend.append(("dashed", f"目标 {pct_label(trend.target)}", TARGET))
    _legend(d, font, 2, 6, legend)
    return d


def profile_chart(profile: Profile, font: str, width: float = 174 * mm, area_label: str = "") -> Drawing:
    """Return health literacy by aspect or problem category: the area's dots and intervals, with
    the county's figures as diamonds when the report is about part of the county."""
    cells = profile.cells
    county = {c.code: c for c in profile.county_cells}
    labels = [c.label if not (c.suppressed or c.flagged) else f"{c.label}{'（样本不足）' if c.suppressed else ' †'}" for c in cells]
    left = _label_width(labels, font, 8.5) + 10
    row_h, top, bottom, right = 18.0, 14.0, 34.0, 40.0
    height = top + row_h * len(cells) + bottom
    d = Drawing(width, height, initialFontName=font)
    shown = [c for c in cells if _drawn(c)] + [c for c in profile.county_cells if _drawn(c)]
    low, high, step = _scale([c.ci_high for c in shown] + [c.ci_low for c in shown])
    x0, x1, y_top, y_bottom = left, width - right, height - top, bottom

    def x(v: float) -> float:
        return x0 + (x1 - x0) * (min(max(v, low), high) - low) / (high - low)

    _axis(d, font, x0, x1, y_bottom, y_top, low, high, step, horizontal=True)
    for i, (c, label) in enumerate(zip(cells, labels)):
        y = y_top - row_h * i - row_h / 2
        d.add(String(left - 6, y - 3, label, fontName=font, fontSize=8.5, fillColor=INK if c.reliable else MUTED, textAnchor="end"))
        whole = county.get(c.code)
        if whole is not None and _drawn(whole):
            cx = x(whole.estimate)
            d.add(Polygon([cx, y - 4.5, cx + 3.5, y - 1, cx, y + 2.5, cx - 3.5, y - 1], fillColor=COUNTY, strokeColor=None))
        if not _drawn(c):
            continue
        colour = ACCENT if c.reliable else MUTED
        _whisker_of(d, x, c, y + 2, INK if c.reliable else MUTED)
        d.add(Circle(x(c.estimate), y + 2, 2.8, fillColor=colour, strokeColor=None))
        d.add(String(x1 + 4, y - 1, pct_label(c.estimate), fontName=font, fontSize=7.5, fillColor=INK))
    legend = [("dot", area_label or "估计值", ACCENT), ("whisker", "95%置信区间", INK)]
    if county:
        legend.append(("diamond", "全县", COUNTY))
    _legend(d, font, x0, 4, legend)
    return d
