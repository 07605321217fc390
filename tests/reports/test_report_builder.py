"""The reports' numbers are the estimation engine's numbers (demo county, 2025).

Every figure is recomputed here from `assessment.estimation` and `scoring` directly, along a
path that shares nothing with reports.estimates (its caches, its score arrays, its snapshots).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.conf import settings

from assessment import rates
from assessment.estimation import benchmark_indicator, estimate_by, estimate_overall, wave_design
from assessment.models import Case, Town, Wave, WeightSet
from questionnaires.models import GroupRule, ResponseScore
from questionnaires.services import key_compile
from reports.builders import build_report
from reports.data import AssessmentReport, Cell
from reports.estimates import Estimates, Measure
from scoring import CellEstimate, estimate_difference, estimate_domain_differences, estimate_mean, estimate_proportion
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
    assert cell.deff == pytest.approx(engine.deff, rel=1e-12, nan_ok=True)
    assert cell.cv == pytest.approx(engine.cv, rel=1e-12, nan_ok=True)
    assert cell.df == engine.df
    assert cell.reliable == engine.reliable
    assert cell.suppressed == (not engine.reliable and engine.n < settings.SUYANG_RELIABILITY_MIN_N)


def enterprise(wave: Wave) -> Wave:
    return Wave.objects.get(county=wave.county, year=wave.year, kind=Wave.Kind.ENTERPRISE)


# -- the county report ------------------------------------------------------------------------


@pytest.mark.parametrize("code", HEADLINES)
def test_headline_indicator_is_the_engine_estimate(report_2025: AssessmentReport, wave_2025: Wave, code: str) -> None:
    ind = report_2025.indicator(code)
    engine = estimate_overall(wave_design(wave_2025, code), code)
    assert ind.label == HEADLINES[code]
    same(ind.overall, engine)
    assert 0 < engine.ci_low < engine.estimate < engine.ci_high < 1
    assert ind.overall.n > 500
    assert ind.source == wave_2025.name_zh


@pytest.mark.parametrize("code", HEADLINES)
def test_headline_verdict_follows_the_90_percent_interval_and_the_target(report_2025: AssessmentReport, wave_2025: Wave, code: str) -> None:
    ind = report_2025.indicator(code)
    narrow = estimate_overall(wave_design(wave_2025, code), code, level=0.90)
    assert (ind.target, ind.target_year) == (pytest.approx(TARGETS[code]), 2025)
    expected = "met" if narrow.ci_low > ind.target else "below" if narrow.ci_high < ind.target else "indistinguishable"
    assert ind.verdict == expected


@pytest.mark.parametrize("code", HEADLINES)
def test_change_and_trend_are_the_engine_estimates_of_earlier_waves(report_2025: AssessmentReport, wave_2025: Wave, code: str) -> None:
    waves = {w.year: w for w in Wave.objects.filter(county=wave_2025.county, kind=Wave.Kind.HOUSEHOLD)}
    engine = {year: estimate_overall(wave_design(w, code), code) for year, w in waves.items()}
    change = report_2025.indicator(code).change
    assert change is not None and change.previous_year == 2024
    expected = estimate_difference(engine[2025], engine[2024])
    assert change.previous == pytest.approx(engine[2024].estimate, rel=1e-12)
    assert change.difference == pytest.approx(engine[2025].estimate - engine[2024].estimate, rel=1e-9)
    assert change.se == pytest.approx((engine[2025].se ** 2 + engine[2024].se ** 2) ** 0.5, rel=1e-9)
    assert (change.df, change.p_value) == pytest.approx((expected.df, expected.p_value), rel=1e-9)
    assert change.significant == (expected.p_value < 0.05)
    trend = next(t for t in report_2025.trends if t.indicator == code)
    assert [p.year for p in trend.points] == [2022, 2023, 2024, 2025]
    assert trend.county_points == ()
    for point in trend.points:
        assert point.estimate == pytest.approx(engine[point.year].estimate, rel=1e-12)
        assert (point.ci_low, point.ci_high) == pytest.approx((engine[point.year].ci_low, engine[point.year].ci_high), rel=1e-12)
        assert point.n == engine[point.year].n


@pytest.mark.parametrize("aspect", ["knowledge", "lifestyle", "skills"])
def test_health_aspects_are_the_engine_estimates(report_2025: AssessmentReport, wave_2025: Wave, aspect: str) -> None:
    ind = report_2025.indicator(f"health_aspect:{aspect}")
    same(ind.overall, estimate_overall(wave_design(wave_2025, "health_literacy"), "health_aspect", aspect))
    assert ind.label.startswith("健康素养·")
    assert ind.target is None and ind.verdict == "none"


def test_health_profiles_hold_every_aspect_and_problem_category(report_2025: AssessmentReport, wave_2025: Wave) -> None:
    wd = wave_design(wave_2025, "health_literacy")
    families = {p.code: p for p in report_2025.profiles}
    assert set(families) == {"health_aspect", "health_category"}
    assert [c.code for c in families["health_aspect"].cells] == ["knowledge", "lifestyle", "skills"]
    categories = families["health_category"]
    assert [c.code for c in categories.cells] == ["scientific_view", "infectious", "chronic", "safety", "medical", "information"]
    for cell in categories.cells:
        same(cell, estimate_overall(wd, "health_category", cell.code))
    assert categories.county_cells == ()


def test_occupational_health_comes_from_the_enterprise_wave_of_the_same_year(report_2025: AssessmentReport, wave_2025: Wave) -> None:
    ind = report_2025.indicator("occupational_health")
    survey = enterprise(wave_2025)
    engine = estimate_overall(wave_design(survey, "occupational_health"), "occupational_health")
    same(ind.overall, engine)
    assert ind.source == survey.name_zh
    assert ind.population == "重点行业企业16–59岁职工"
    assert (ind.target, ind.target_year) == (pytest.approx(0.90), 2025)
    earlier = estimate_overall(wave_design(Wave.objects.get(county=wave_2025.county, code="2024-enterprise"), "occupational_health"), "occupational_health")
    assert ind.change is not None and ind.change.previous_year == 2024
    assert ind.change.difference == pytest.approx(engine.estimate - earlier.estimate, rel=1e-9)
    trend = next(t for t in report_2025.trends if t.indicator == "occupational_health")
    assert [p.year for p in trend.points] == [2022, 2023, 2024, 2025]


def test_town_breakdown_is_the_engine_estimate_per_town_in_town_order(report_2025: AssessmentReport, wave_2025: Wave) -> None:
    towns = list(Town.objects.filter(county=wave_2025.county).order_by("order"))
    engine = {c.domain[0]: c for c in estimate_by(wave_design(wave_2025, "science_literacy"), "science_literacy", "town")}
    breakdown = next(b for b in report_2025.breakdowns if b.indicator == "science_literacy" and b.by == "town")
    assert breakdown.title == "公民具备科学素质比例：按乡镇（街道）"
    assert [c.label for c in breakdown.cells] == [t.name_zh for t in towns]
    assert [c.code for c in breakdown.cells] == [t.code for t in towns]
    for town, cell in zip(towns, breakdown.cells):
        same(cell, engine[town.code])
    assert sum(c.n for c in breakdown.cells) == report_2025.indicator("science_literacy").overall.n


def test_group_breakdown_is_the_engine_estimate_per_population_group(report_2025: AssessmentReport, wave_2025: Wave) -> None:
    groups = dict(GroupRule.objects.filter(key=wave_key(wave_2025, "demographics")).values_list("name", "label_zh"))
    engine = {c.domain[0]: c for c in estimate_by(wave_design(wave_2025, "health_literacy"), "health_literacy", "group")}
    breakdown = next(b for b in report_2025.breakdowns if b.indicator == "health_literacy" and b.by == "group")
    assert [c.label for c in breakdown.cells] == [groups[name] for name in groups if name in engine]
    assert {c.label for c in breakdown.cells} >= {"农民", "老年人"}
    for cell in breakdown.cells:
        same(cell, engine[cell.code])


def test_every_headline_has_every_breakdown_and_occupational_health_those_its_sample_supports(report_2025: AssessmentReport) -> None:
    by = ["group", "town", "urban_rural", "sex", "age_group", "education"]
    for code in HEADLINES:
        assert [b.by for b in report_2025.breakdowns if b.indicator == code] == by
    # The enterprise sample has too few enterprises per town for town estimates.
    assert [b.by for b in report_2025.breakdowns if b.indicator == "occupational_health"] == ["sex", "age_group", "education"]
    sex = next(b for b in report_2025.breakdowns if b.indicator == "science_literacy" and b.by == "sex")
    assert [c.label for c in sex.cells] == ["男", "女"]


def test_occupational_health_breakdowns_are_the_engine_estimates(report_2025: AssessmentReport, wave_2025: Wave) -> None:
    wd = wave_design(enterprise(wave_2025), "occupational_health")
    for breakdown in (b for b in report_2025.breakdowns if b.indicator == "occupational_health"):
        engine = {c.domain[0]: c for c in estimate_by(wd, "occupational_health", breakdown.by)}
        assert {c.code for c in breakdown.cells} == set(engine)
        for cell in breakdown.cells:
            same(cell, engine[cell.code])


def test_cells_are_flagged_or_suppressed_by_the_reliability_rule(report_2025: AssessmentReport, town_2025: AssessmentReport) -> None:
    cells = [c for r in (report_2025, town_2025) for b in r.breakdowns for c in b.cells]
    assert any(c.flagged for c in cells) and any(c.suppressed for c in cells) and any(c.reliable for c in cells)
    minimum = settings.SUYANG_RELIABILITY_MIN_N
    for c in cells:
        assert c.suppressed == (not c.reliable and c.n < minimum)
        assert c.flagged == (not c.reliable and c.n >= minimum)


def test_provenance_names_versions_and_is_stable_for_the_same_data(report_2025: AssessmentReport, wave_2025: Wave) -> None:
    prov = report_2025.provenance
    assert prov.wave == wave_2025.name_zh
    assert prov.instruments == ("公民科学素质测评 v1", "居民健康素养测评 v1", "职业健康知识测评 v1")
    assert len(prov.keys) == len(prov.weight_sets) == 3
    assert len(prov.data_hash) == 64
    assert build_report(wave_2025).provenance.data_hash == prov.data_hash
    stamp = prov.stamp()
    assert wave_2025.name_zh in stamp and f"数据指纹 {prov.data_hash[:12]}" in stamp


def test_methods_report_the_sample_by_stratum_and_the_aapor_rates(report_2025: AssessmentReport, wave_2025: Wave) -> None:
    sections = {s.heading: s for s in report_2025.methods}
    assert list(sections)[:4] == ["调查对象与抽样设计", "样本与应答", "权重", "估计方法与置信区间"]
    assert {"设计效应", "评分标准", "企业职工调查（职业健康知识）", "软件"} <= set(sections)
    cases = Case.objects.filter(wave=wave_2025)
    counts = rates.counts_from_dispositions(list(cases.values_list("disposition", flat=True)))
    complete = cases.filter(disposition="complete").count()
    response = " ".join(sections["样本与应答"].paragraphs)
    assert f"完成调查{complete}户" in response
    assert "RR1" in response and f"{100 * rates.rr1(counts):.1f}%" in response
    assert "RR3" in response and "COOP1" in response
    table = sections["调查对象与抽样设计"].table
    assert table is not None and len(table.rows) == 10  # nine towns and the total
    assert table.rows[-1][:4] == ("合计", "222", "72", str(cases.count()))
    assert sum(int(r[4]) for r in table.rows[:-1]) == complete


def test_methods_name_the_weights_and_margins_each_instrument_was_calibrated_to(report_2025: AssessmentReport, wave_2025: Wave) -> None:
    weights = next(s for s in report_2025.methods if s.heading == "权重")
    rows = {row[0]: row for row in weights.table.rows}
    for code, label in (("science_literacy", "科学素质"), ("health_literacy", "健康素养")):
        current = WeightSet.objects.get(wave=wave_2025, instrument__code=code, is_current=True)
        assert rows[label][1] == f"第{current.version}版"
        assert rows[label][2] == current.margin_set.name
    scoring = " ".join(next(s for s in report_2025.methods if s.heading == "评分标准").paragraphs)
    assert "得分≥70分" in scoring and "≥53分" in scoring


def test_education_runs_from_the_lowest_level_up(report_2025: AssessmentReport) -> None:
    for code in HEADLINES:
        education = next(b for b in report_2025.breakdowns if b.indicator == code and b.by == "education")
        assert [c.label for c in education.cells] == ["小学及以下", "初中", "高中/中专", "大专及以上"]


def test_the_report_stays_chinese_when_asked_for_from_an_english_page(wave_2025: Wave) -> None:
    from django.utils import translation

    with translation.override("en"):
        report = build_report(wave_2025)
    labels = {b.by: [c.label for c in b.cells] for b in report.breakdowns if b.indicator == "science_literacy"}
    assert labels["sex"] == ["男", "女"]
    assert labels["urban_rural"] == ["城镇", "农村"]
    assert labels["education"][0] == "小学及以下"


# -- knowledge gaps ---------------------------------------------------------------------------


def scores_of(wd: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return each respondent's item points and dimension points, read straight from the database."""
    rows = dict(
        (rid, (items, dims))
        for rid, items, dims in ResponseScore.objects.filter(key=wd.key, response_id__in=wd.table.response_id.tolist()).values_list(
            "response_id", "item_points", "dimension_points"
        )
    )
    return [rows[r][0] for r in wd.table.response_id.tolist()], [rows[r][1] for r in wd.table.response_id.tolist()]


@pytest.mark.parametrize("code", HEADLINES)
def test_gaps_are_the_engine_weighted_shares_of_each_group(report_2025: AssessmentReport, wave_2025: Wave, code: str) -> None:
    wd = wave_design(wave_2025, code)
    arrays = key_compile(wd.key).arrays
    items, dims = scores_of(wd)
    maximum = dict(zip(arrays.dimension_codes, arrays.dimension_max))
    points = dict(zip(arrays.item_names, arrays.points))
    profiles = [g for g in report_2025.gaps if g.instrument == code]
    assert [g.group for g in profiles] == [g for g in ("youth", "farmer", "worker", "elder", "cadre") if wd.table.groups[g].sum() >= 30]
    for profile in profiles:
        member = wd.table.groups[profile.group]
        assert profile.n == int(member.sum())
        shares = [d.share for d in profile.dimensions]
        assert shares == sorted(shares)
        for d in profile.dimensions:
            y = np.asarray([row[d.code] / maximum[d.code] for row in dims])
            engine = {c.domain: c for c in estimate_mean(wd.design, y, by=member)}
            assert d.share == pytest.approx(engine[(True,)].estimate, rel=1e-9)
            assert d.county_share == pytest.approx(estimate_mean(wd.design, y)[0].estimate, rel=1e-9)
        for item in profile.items:
            y = np.asarray([np.nan if row[item.name] is None else float(row[item.name] >= points[item.name]) for row in items])
            engine = {c.domain: c for c in estimate_mean(wd.design, y, by=member)}
            assert item.share == pytest.approx(engine[(True,)].estimate, rel=1e-9)
        assert len(profile.items) == 3 and len(profile.focus) == 2
        assert profile.dimensions[0].label in profile.focus[0]


def test_gaps_name_the_plan_action_of_each_group(report_2025: AssessmentReport) -> None:
    science = {g.group: g.action_area for g in report_2025.gaps if g.instrument == "science_literacy"}
    assert science["farmer"] == "农民科学素质提升行动"
    assert science["elder"] == "老年人科学素质提升行动"
    assert {g.action_area for g in report_2025.gaps if g.instrument == "health_literacy"} == {"健康中国·健康知识普及行动"}
    workers = [g for g in report_2025.gaps if g.group == "worker"]
    assert [g.instrument for g in workers] == ["science_literacy", "health_literacy", "occupational_health"]
    assert workers[-1].action_area == "健康中国·职业健康保护行动"
    assert "企业岗前培训" in workers[-1].focus[0]


# -- a town's report --------------------------------------------------------------------------


def town_labels(wd: Any, code: str) -> np.ndarray:
    return np.where(wd.table.labels["town"] == code, "in", "out")


@pytest.mark.parametrize("code", HEADLINES)
def test_a_town_report_sets_the_town_beside_the_county(town_2025: AssessmentReport, wave_2025: Wave, code: str) -> None:
    wd = wave_design(wave_2025, code)
    ind = town_2025.indicator(code)
    same(ind.overall, next(c for c in estimate_by(wd, code, "town") if c.domain == ("yushan",)))
    same(ind.county, estimate_overall(wd, code))
    y = benchmark_indicator(wd, code)
    diff = estimate_domain_differences(wd.design, y, by=town_labels(wd, "yushan"), statistic="proportion", reference="out")[0]
    assert ind.comparison is not None and ind.comparison.rest_label == "县内其他乡镇（街道）"
    assert (ind.comparison.difference, ind.comparison.p_value) == pytest.approx((diff.estimate, diff.p_value), rel=1e-9)
    trend = next(t for t in town_2025.trends if t.indicator == code)
    assert [p.year for p in trend.points] == [p.year for p in trend.county_points] == [2022, 2023, 2024, 2025]


def test_a_town_report_breaks_the_town_down_with_the_engine_numbers(town_2025: AssessmentReport, wave_2025: Wave) -> None:
    wd = wave_design(wave_2025, "science_literacy")
    y = benchmark_indicator(wd, "science_literacy")
    inside = wd.table.labels["town"] == "yushan"
    combined = np.where(inside, np.char.add("yushan|", wd.table.labels["sex"]), "-")
    engine = {
        c.domain[0]: c
        for c in estimate_proportion(
            wd.design, np.where(inside, y, np.nan), var="science_literacy", by=combined,
            min_n=settings.SUYANG_RELIABILITY_MIN_N, max_cv=settings.SUYANG_RELIABILITY_MAX_CV,
        )
    }
    sex = next(b for b in town_2025.breakdowns if b.indicator == "science_literacy" and b.by == "sex")
    for cell in sex.cells:
        same(cell, engine[f"yushan|{cell.code}"])
    assert {b.by for b in town_2025.breakdowns if not b.highlight} == {"group", "urban_rural", "sex", "age_group", "education"}
    towns = next(b for b in town_2025.breakdowns if b.indicator == "science_literacy" and b.highlight)
    assert towns.highlight == "yushan" and len(towns.cells) == 9


def test_a_town_report_gives_the_county_figure_for_occupational_health(town_2025: AssessmentReport, report_2025: AssessmentReport) -> None:
    ind = town_2025.indicator("occupational_health")
    assert ind.overall is None and "不足以分乡镇" in ind.missing
    assert ind.county.estimate == report_2025.indicator("occupational_health").overall.estimate
    assert [t.indicator for t in town_2025.trends] == ["science_literacy", "health_literacy"]
    assert town_2025.gaps[0].group == "all" and town_2025.gaps[0].group_label == "榆山街道全体居民"


# -- a group's report -------------------------------------------------------------------------


def test_a_group_report_sets_the_group_beside_the_rest_of_the_county(group_2025: AssessmentReport, wave_2025: Wave) -> None:
    for code in HEADLINES:
        wd = wave_design(wave_2025, code)
        ind = group_2025.indicator(code)
        same(ind.overall, next(c for c in estimate_by(wd, code, "group") if c.domain == ("worker",)))
        member = np.where(wd.table.groups["worker"], "in", "out")
        diff = estimate_domain_differences(wd.design, benchmark_indicator(wd, code), by=member, statistic="proportion", reference="out")[0]
        assert ind.comparison.rest_label == "其他居民"
        assert ind.comparison.difference == pytest.approx(diff.estimate, rel=1e-9)
    # The workers' report has the whole enterprise survey.
    assert group_2025.indicator("occupational_health").overall.n > 400
    assert {b.by for b in group_2025.breakdowns if b.indicator == "science_literacy"} == {"town", "urban_rural", "sex", "age_group", "education"}
    assert [g.group for g in group_2025.gaps] == ["worker"] * 3
    assert all(len(g.items) == 5 for g in group_2025.gaps)


def test_only_the_workers_report_has_occupational_health(wave_2025: Wave, estimates: Estimates) -> None:
    farmers = build_report(wave_2025, "group", "farmer", estimates=estimates)
    assert "occupational_health" not in [i.code for i in farmers.indicators]
    assert farmers.title == "平阴县2025年农民科学素质与健康素养评估报告"


# -- the shared estimates ---------------------------------------------------------------------


def test_stored_snapshots_give_the_same_cells_without_loading_the_wave(wave_2025: Wave) -> None:
    earlier = Wave.objects.get(county=wave_2025.county, code="2024")
    measure = Measure("science_literacy", "science_literacy")
    first = Estimates()
    computed = first.cells(earlier, measure, ("town",))
    first.save()
    second = Estimates()
    stored = second.cells(earlier, measure, ("town",))
    assert stored == computed
    assert (earlier.pk, "science_literacy") not in second._designs  # read from the snapshot
    # New weights are new inputs: the snapshot no longer applies.
    WeightSet.objects.filter(wave=earlier, instrument__code="science_literacy", is_current=True).update(inputs_hash="changed")
    third = Estimates()
    assert third.cells(earlier, measure, ("town",)) == computed
    assert (earlier.pk, "science_literacy") in third._designs
