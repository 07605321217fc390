"""The county report's numbers are the estimation engine's numbers (demo county, 2025)."""
from __future__ import annotations

import pytest

from assessment.estimation import estimate_by, estimate_overall, wave_design
from assessment.models import Town, Wave
from questionnaires.models import GroupRule
from reports.builders import county_report
from reports.data import Cell, CountyReport
from scoring import CellEstimate
from scoring.adapters import wave_key

pytestmark = pytest.mark.django_db
HEADLINES = {"science_literacy": "公民具备科学素质比例", "health_literacy": "居民健康素养水平"}
TARGETS = {"science_literacy": 0.185, "health_literacy": 0.30}


def same(cell: Cell, engine: CellEstimate) -> None:
    assert cell.estimate == pytest.approx(engine.estimate, rel=1e-12)
    assert cell.se == pytest.approx(engine.se, rel=1e-12)
    assert (cell.ci_low, cell.ci_high) == pytest.approx((engine.ci_low, engine.ci_high), rel=1e-12)
    assert cell.n == engine.n
    assert cell.weighted_n == pytest.approx(engine.weighted_n, rel=1e-12)
    assert cell.deff == pytest.approx(engine.deff, rel=1e-12)
    assert cell.cv == pytest.approx(engine.cv, rel=1e-12)
    assert cell.df == engine.df
    assert cell.reliable == engine.reliable


def indicator(report: CountyReport, code: str):  # type: ignore[no-untyped-def]
    return next(i for i in report.indicators if i.code == code)


@pytest.mark.parametrize("code", HEADLINES)
def test_headline_indicator_is_the_engine_estimate(report_2025: CountyReport, wave_2025: Wave, code: str) -> None:
    ind = indicator(report_2025, code)
    engine = estimate_overall(wave_design(wave_2025, code), code)
    assert ind.label == HEADLINES[code]
    same(ind.overall, engine)
    assert 0 < engine.ci_low < engine.estimate < engine.ci_high < 1
    assert ind.overall.n > 500


@pytest.mark.parametrize("code", HEADLINES)
def test_headline_verdict_follows_the_90_percent_interval_and_the_target(report_2025: CountyReport, wave_2025: Wave, code: str) -> None:
    ind = indicator(report_2025, code)
    narrow = estimate_overall(wave_design(wave_2025, code), code, level=0.90)
    assert (ind.target, ind.target_year) == (pytest.approx(TARGETS[code]), 2025)
    expected = "met" if narrow.ci_low > ind.target else "below" if narrow.ci_high < ind.target else "indistinguishable"
    assert ind.verdict == expected


@pytest.mark.parametrize("code", HEADLINES)
def test_change_and_trend_are_the_engine_estimates_of_earlier_waves(report_2025: CountyReport, wave_2025: Wave, code: str) -> None:
    waves = {w.year: w for w in Wave.objects.filter(county=wave_2025.county)}
    engine = {year: estimate_overall(wave_design(w, code), code) for year, w in waves.items()}
    change = indicator(report_2025, code).change
    assert change is not None and change.previous_year == 2024
    assert change.previous == pytest.approx(engine[2024].estimate, rel=1e-12)
    assert change.difference == pytest.approx(engine[2025].estimate - engine[2024].estimate, rel=1e-9)
    assert change.se == pytest.approx((engine[2025].se ** 2 + engine[2024].se ** 2) ** 0.5, rel=1e-9)
    trend = report_2025.trends[code]
    assert [p.year for p in trend] == [2022, 2023, 2024, 2025]
    for point in trend:
        assert point.estimate == pytest.approx(engine[point.year].estimate, rel=1e-12)
        assert (point.ci_low, point.ci_high) == pytest.approx((engine[point.year].ci_low, engine[point.year].ci_high), rel=1e-12)
        assert point.n == engine[point.year].n


@pytest.mark.parametrize("aspect", ["knowledge", "lifestyle", "skills"])
def test_health_aspects_are_the_engine_estimates(report_2025: CountyReport, wave_2025: Wave, aspect: str) -> None:
    ind = indicator(report_2025, f"health_aspect:{aspect}")
    same(ind.overall, estimate_overall(wave_design(wave_2025, "health_literacy"), "health_aspect", aspect))
    assert ind.label.startswith("健康素养·")
    assert ind.target is None and ind.verdict == "none"


def test_town_breakdown_is_the_engine_estimate_per_town_in_town_order(report_2025: CountyReport, wave_2025: Wave) -> None:
    towns = list(Town.objects.filter(county=wave_2025.county).order_by("order"))
    engine = {c.domain[0]: c for c in estimate_by(wave_design(wave_2025, "science_literacy"), "science_literacy", "town")}
    breakdown = next(b for b in report_2025.breakdowns if b.indicator == "science_literacy" and b.by == "town")
    assert breakdown.title == "公民具备科学素质比例：按乡镇（街道）"
    assert [c.label for c in breakdown.cells] == [t.name_zh for t in towns]
    for town, cell in zip(towns, breakdown.cells):
        same(cell, engine[town.code])
    assert sum(c.n for c in breakdown.cells) == indicator(report_2025, "science_literacy").overall.n


def test_group_breakdown_is_the_engine_estimate_per_population_group(report_2025: CountyReport, wave_2025: Wave) -> None:
    groups = dict(GroupRule.objects.filter(key=wave_key(wave_2025, "demographics")).values_list("name", "label_zh"))
    engine = {c.domain[0]: c for c in estimate_by(wave_design(wave_2025, "health_literacy"), "health_literacy", "group")}
    breakdown = next(b for b in report_2025.breakdowns if b.indicator == "health_literacy" and b.by == "group")
    assert [c.label for c in breakdown.cells] == [groups[name] for name in groups if name in engine]
    assert {c.label for c in breakdown.cells} >= {"农民", "老年人"}
    by_label = {groups[name]: cell for name, cell in engine.items()}
    for cell in breakdown.cells:
        same(cell, by_label[cell.label])


def test_every_headline_has_every_breakdown(report_2025: CountyReport) -> None:
    by = ["group", "town", "urban_rural", "sex", "age_group", "education"]
    for code in HEADLINES:
        assert [b.by for b in report_2025.breakdowns if b.indicator == code] == by
    sex = next(b for b in report_2025.breakdowns if b.indicator == "science_literacy" and b.by == "sex")
    assert sorted(c.label for c in sex.cells) == ["女", "男"]


def test_provenance_names_versions_and_is_stable_for_the_same_data(report_2025: CountyReport, wave_2025: Wave) -> None:
    prov = report_2025.provenance
    assert prov.wave == wave_2025.name_zh
    assert prov.instruments == ("公民科学素质测评 v1", "居民健康素养测评 v1")
    assert len(prov.data_hash) == 64
    assert county_report(wave_2025).provenance.data_hash == prov.data_hash
    stamp = prov.stamp()
    assert wave_2025.name_zh in stamp and f"数据指纹 {prov.data_hash[:12]}" in stamp


def test_methods_report_the_sample_and_response_rate(report_2025: CountyReport, wave_2025: Wave) -> None:
    from assessment.models import Case

    headings = [h for h, _ in report_2025.methods]
    assert headings[:2] == ["抽样设计", "样本与应答"]
    response = dict(report_2025.methods)["样本与应答"]
    cases = Case.objects.filter(wave=wave_2025)
    complete = cases.filter(disposition="complete").count()
    rr1 = complete / cases.exclude(disposition="not_eligible").count()
    assert f"完成调查{complete}户" in response
    assert "RR1" in response and f"应答率为{100 * rr1:.1f}%" in response


def test_education_runs_from_the_lowest_level_up(report_2025: CountyReport) -> None:
    for code in HEADLINES:
        education = next(b for b in report_2025.breakdowns if b.indicator == code and b.by == "education")
        assert [c.label for c in education.cells] == ["小学及以下", "初中", "高中/中专", "大专及以上"]


def test_the_report_stays_chinese_when_asked_for_from_an_english_page(wave_2025: Wave) -> None:
    from django.utils import translation

    with translation.override("en"):
        report = county_report(wave_2025)
    labels = {b.by: [c.label for c in b.cells] for b in report.breakdowns if b.indicator == "science_literacy"}
    assert sorted(labels["sex"]) == ["女", "男"]
    assert sorted(labels["urban_rural"]) == ["农村", "城镇"]
    assert labels["education"][0] == "小学及以下"


def test_methods_name_the_margins_each_instrument_was_calibrated_to(report_2025: CountyReport, wave_2025: Wave) -> None:
    from assessment.models import WeightSet

    weights = dict(report_2025.methods)["权重"]
    for code, label in (("science_literacy", "科学素质"), ("health_literacy", "健康素养")):
        margin = WeightSet.objects.get(wave=wave_2025, instrument__code=code, is_current=True).margin_set
        assert f"{margin.name}（{label}）" in weights
