"""Charts draw whatever the cells hold: undefined intervals and estimates are left out, not drawn at NaN."""
from __future__ import annotations

import math

from reportlab.graphics import renderPDF

from reports import charts
from reports.data import Breakdown, Cell, Profile, Trend, TrendPoint
from reports.pdf import register_font

NAN = math.nan


def cell(label: str, estimate: float, low: float, high: float, n: int = 100, reliable: bool = True, suppressed: bool = False) -> Cell:
    return Cell(label=label, estimate=estimate, se=0.01, ci_low=low, ci_high=high, n=n, weighted_n=1e4, deff=1.2,
                cv=0.1, df=20, reliable=reliable, suppressed=suppressed, code=label)


CELLS = (
    cell("a", 0.30, 0.25, 0.35),
    cell("b", 1.0, NAN, NAN),  # an interval the engine could not form
    cell("c", NAN, NAN, NAN, n=0, reliable=False, suppressed=True),
    cell("d", 0.10, 0.02, 0.40, n=40, reliable=False),
)


def test_every_chart_draws_cells_with_undefined_values() -> None:
    font = register_font()
    breakdown = Breakdown("science_literacy", "公民具备科学素质比例", "town", "按乡镇", CELLS, target=0.185, highlight="a")
    drawings = [
        charts.whisker_chart(breakdown, font, county=0.2),
        charts.town_chart(breakdown, breakdown, font),
        charts.profile_chart(Profile("health_category", "六类健康问题", CELLS, CELLS), font, area_label="本地"),
        charts.trend_chart(
            Trend("science_literacy", "公民具备科学素质比例", (TrendPoint(2024, NAN, NAN, NAN, 0, True), TrendPoint(2025, 0.2, 0.1, 0.3, 90)),
                  (TrendPoint(2024, 0.15, 0.12, 0.18, 800), TrendPoint(2025, 0.18, 0.15, 0.21, 800)), target=0.185),
            font,
        ),
    ]
    for drawing in drawings:
        assert renderPDF.drawToString(drawing).startswith(b"%PDF")


def test_the_axis_holds_the_target_and_every_interval() -> None:
    low, high, step = charts._scale([0.02, 0.40, 0.185, NAN])
    assert low == 0.0 and high >= 0.40 and step == 0.1
    low, high, step = charts._scale([0.83, 0.92, 0.90])
    assert 0.7 <= low <= 0.8 and high >= 0.92
