"""Build a report (the county's, a town's or a population group's) as plain data (reports.data).

Every number comes from the estimation engine through `reports.estimates.Estimates`, which a
batch shares between its reports.  Labels are Chinese whatever the request's language.
"""
from __future__ import annotations

import hashlib
import math
import platform
from dataclasses import dataclass

import django
import numpy as np
import openpyxl
import reportlab
import scipy
from django.conf import settings
from django.utils import timezone, translation

from assessment import rates
from assessment.demography import LEVEL_ORDER
from assessment.demography import label as demographic_label
from assessment.estimation import WaveDesign, weights_missing
from assessment.models import Town, Wave, WeightSet
from reports import actions
from reports.data import (
    AssessmentReport,
    Breakdown,
    Cell,
    Change,
    Comparison,
    DimensionShare,
    GapProfile,
    Indicator,
    ItemShare,
    MethodsSection,
    Profile,
    Provenance,
    Scope,
    TextTable,
    Trend,
    TrendPoint,
)
from reports.estimates import INSIDE, Estimates, Measure
from reports.selectors import (
    county_towns,
    enterprise_wave_of,
    population_groups,
    sample_strata,
    scores_marks,
    wave_dispositions,
)
from scoring import CellEstimate, estimate_difference
from scoring.adapters import DataProblem, wave_key

# Bump when the builder's output changes for the same data (labels, order, wording), so stored
# reports are built again; pdf.LAYOUT_VERSION does the same for the drawing.
BUILDER_VERSION = 5

SCIENCE = Measure("science_literacy", "science_literacy")
HEALTH = Measure("health_literacy", "health_literacy")
OCCUPATIONAL = Measure("occupational_health", "occupational_health")
HEADLINES = (SCIENCE, HEALTH)
HEADLINE_LABELS = {
    "science_literacy": "公民具备科学素质比例",
    "health_literacy": "居民健康素养水平",
    "occupational_health": "重点行业职工职业健康知识知晓率",
}
SHORT_LABELS = {"science_literacy": "科学素质", "health_literacy": "健康素养", "occupational_health": "职业健康知识"}
HEALTH_ASPECTS = ("knowledge", "lifestyle", "skills")
BREAKDOWNS = (
    ("group", "重点人群"),
    ("town", "乡镇（街道）"),
    ("urban_rural", "城乡"),
    ("sex", "性别"),
    ("age_group", "年龄组"),
    ("education", "文化程度"),
)
# The enterprise sample has 2 to 5 enterprises per town: too few PSUs for town estimates.
OCCUPATIONAL_BREAKDOWNS = ("sex", "age_group", "education")
ALL_RESIDENTS = "全体居民"


@dataclass(frozen=True)
class Area:
    """The report's population as estimation domains: BY variables and the domain they select."""

    by: tuple[str, ...]
    domain: tuple[str, ...]


def verdict(design_cell: CellEstimate, one_sided_90: CellEstimate, target: float | None) -> str:
    """Return met / below / indistinguishable by a one-sided 5% test against TARGET.

    The test inverts the 90% two-sided interval (so each side is a 5% one-sided test):
    the whole interval above the target means met, the whole interval below means below.
    """
    if target is None:
        return "none"
    if one_sided_90.ci_low > target:
        return "met"
    if one_sided_90.ci_high < target:
        return "below"
    return "indistinguishable"


def change_between(current: CellEstimate, previous: CellEstimate, previous_year: int) -> Change:
    """Return the change between two independent waves: the engine's difference and its t-test."""
    diff = estimate_difference(current, previous)
    p_value = diff.p_value if math.isfinite(diff.p_value) else 1.0
    return Change(
        previous_year=previous_year,
        previous=previous.estimate,
        difference=diff.estimate,
        se=diff.se,
        df=diff.df,
        ci_low=diff.ci_low,
        ci_high=diff.ci_high,
        p_value=p_value,
    )


def pct(value: float, digits: int = 1) -> str:
    """Return VALUE as a percentage ("—" when undefined)."""
    if value is None or value != value:
        return "—"
    return f"{100 * value:.{digits}f}%"


def points(value: float) -> str:
    return f"{abs(100 * value):.1f}个百分点"


class ReportBuilder:
    """Build one report of a household wave for a SCOPE (county, town or group)."""

    def __init__(self, wave: Wave, scope: Scope, estimates: Estimates | None = None) -> None:
        self.wave = wave
        self.scope = scope
        self.est = estimates if estimates is not None else Estimates()
        self.enterprise = enterprise_wave_of(wave)
        self.towns = county_towns(wave)
        self.town_names = {t.code: t.name_zh for t in self.towns}
        self.groups = population_groups(wave)
        self.min_n = int(settings.SUYANG_RELIABILITY_MIN_N)
        if scope.kind == "town":
            self.area = Area(("town",), (scope.code,))
        elif scope.kind == "group":
            self.area = Area((f"group:{scope.code}",), (INSIDE,))
        else:
            self.area = Area((), ())

    # -- helpers ------------------------------------------------------------------------------

    def wave_of(self, measure: Measure) -> Wave | None:
        return self.enterprise if measure.instrument == "occupational_health" else self.wave

    def applies(self, measure: Measure) -> bool:
        """Occupational health is about workers: in a group report, only the workers' one has it."""
        return measure.instrument != "occupational_health" or self.scope.kind != "group" or self.scope.code == "worker"

    def shows_detail(self, measure: Measure) -> bool:
        """Breakdowns and trends of occupational health need the county's (or the workers') whole sample."""
        return self.applies(measure) and not (measure.instrument == "occupational_health" and self.scope.kind == "town")

    def cell(self, estimate: CellEstimate, label: str, code: str = "") -> Cell:
        return Cell(
            label=label,
            estimate=estimate.estimate,
            se=estimate.se,
            ci_low=estimate.ci_low,
            ci_high=estimate.ci_high,
            n=estimate.n,
            weighted_n=estimate.weighted_n,
            deff=estimate.deff,
            cv=estimate.cv,
            df=float(estimate.df),
            reliable=estimate.reliable,
            suppressed=not estimate.reliable and estimate.n < self.min_n,
            code=code,
        )

    def area_estimate(self, wave: Wave, measure: Measure, *, level: float = 0.95) -> CellEstimate | None:
        if self.scope.kind == "group" and measure.instrument == "occupational_health":
            # Every respondent of the enterprise survey is a key-industry worker.
            return self.est.cell(wave, measure, level=level)
        return self.est.cell(wave, measure, self.area.by, self.area.domain, level=level)

    def target_of(self, wave: Wave, measure: Measure) -> tuple[float | None, int | None]:
        if measure.dimension is not None:
            return None, None
        row = self.est.targets(wave).get(measure.benchmark) or self.est.targets(self.wave).get(measure.benchmark)
        return row if row is not None else (None, None)

    def population_of(self, wave: Wave, measure: Measure) -> str:
        labels = self.est.key_labels(wave, measure.instrument)
        ages = f"{labels.age_min}–{labels.age_max}岁" if labels.age_min is not None else ""
        if measure.instrument == "occupational_health":
            return f"重点行业企业{ages}职工"
        return f"{ages}常住居民"

    def dimension_label(self, wave: Wave, measure: Measure) -> str:
        labels = self.est.key_labels(wave, measure.instrument)
        return labels.dimensions.get(measure.dimension or "", ("", measure.dimension or ""))[1]

    def indicator_label(self, measure: Measure) -> str:
        if measure.dimension is None:
            return HEADLINE_LABELS.get(measure.benchmark, measure.benchmark)
        return f"健康素养·{self.dimension_label(self.wave, measure)}"

    def level_label(self, by: str, code: str) -> str:
        if by == "town":
            return self.town_names.get(code, code)
        if by == "group":
            return self.groups.get(code, code)
        if by == "age_group":
            return f"{code.replace('-', '–')}岁"
        return demographic_label(code)

    # -- the summary --------------------------------------------------------------------------

    def indicator(self, measure: Measure) -> Indicator:
        label = self.indicator_label(measure)
        wave = self.wave_of(measure)
        if wave is None or not self.est.available(wave, measure.instrument):
            what = "企业职工职业健康知识调查" if measure.instrument == "occupational_health" else "本项调查"
            return Indicator(
                code=measure.code, label=label, population="", overall=None, target=None, target_year=None,
                verdict="none", change=None, missing=f"{self.wave.year}年没有可用的{what}数据",
            )
        target, target_year = self.target_of(wave, measure)
        if self.scope.kind == "town" and measure.instrument == "occupational_health":
            whole = self.est.cell(wave, measure)
            return Indicator(
                code=measure.code, label=label, population=self.population_of(wave, measure), overall=None,
                target=target, target_year=target_year, verdict="none", change=None,
                county=self.cell(whole, self.wave.county.name_zh) if whole is not None else None, source=wave.name_zh,
                missing="企业调查样本不足以分乡镇（街道）估计",
            )
        found = self.area_estimate(wave, measure)
        if found is None:
            return Indicator(
                code=measure.code, label=label, population=self.population_of(wave, measure), overall=None,
                target=target, target_year=target_year, verdict="none", change=None,
                source=wave.name_zh, missing=f"{self.scope.name}在本次调查中没有样本",
            )
        overall = self.cell(found, self.scope.name)
        narrow = self.area_estimate(wave, measure, level=0.90)
        judged = verdict(found, narrow, target) if narrow is not None and not overall.suppressed else "none"
        county = comparison = None
        if self.scope.kind != "county":
            whole = self.est.cell(wave, measure)
            county = self.cell(whole, self.wave.county.name_zh) if whole is not None else None
            comparison = self.comparison(wave, measure)
        return Indicator(
            code=measure.code,
            label=label,
            population=self.population_of(wave, measure),
            overall=overall,
            target=target,
            target_year=target_year,
            verdict=judged,
            change=self.change(wave, measure, found),
            county=county,
            comparison=comparison,
            source=wave.name_zh,
        )

    def change(self, wave: Wave, measure: Measure, current: CellEstimate) -> Change | None:
        for earlier in reversed(self.est.earlier(wave)):
            if not self.est.available(earlier, measure.instrument):
                continue
            previous = self.area_estimate(earlier, measure)
            if previous is None or previous.n < self.min_n or current.n < self.min_n:
                return None
            return change_between(current, previous, earlier.year)
        return None

    def comparison(self, wave: Wave, measure: Measure) -> Comparison | None:
        if self.scope.kind == "group" and measure.instrument == "occupational_health":
            return None
        by, code = (("town", self.scope.code) if self.scope.kind == "town" else (f"group:{self.scope.code}", INSIDE))
        found = self.est.difference_from_rest(wave, measure, by, code)
        if found is None:
            return None
        rest = "县内其他乡镇（街道）" if self.scope.kind == "town" else "其他居民"
        p_value = found.p_value if math.isfinite(found.p_value) else 1.0
        return Comparison(rest_label=rest, difference=found.estimate, se=found.se, p_value=p_value)

    # -- breakdowns, trends, profiles ---------------------------------------------------------

    def breakdown(self, measure: Measure, by: str, title: str, area: Area | None = None) -> Breakdown | None:
        """Return MEASURE by the levels of BY within AREA (default: the report's area)."""
        wave = self.wave_of(measure)
        if wave is None or not self.est.available(wave, measure.instrument):
            return None
        area = area if area is not None else self.area
        if self.scope.kind == "group" and measure.instrument == "occupational_health":
            area = Area((), ())
        rows: list[tuple[int, Cell]] = []
        if by == "group":
            order = list(self.groups)
            for name in self.groups:
                found = self.est.cell(wave, measure, area.by + (f"group:{name}",), area.domain + (INSIDE,))
                if found is not None:
                    rows.append((order.index(name), self.cell(found, self.groups[name], name)))
        else:
            order = list(self.town_names) if by == "town" else list(LEVEL_ORDER.get(by, ()))
            for domain, found in self.est.cells(wave, measure, area.by + (by,)).items():
                if domain[: len(area.domain)] != area.domain:
                    continue
                code = domain[-1]
                position = order.index(code) if code in order else len(order) + len(rows)
                rows.append((position, self.cell(found, self.level_label(by, code), code)))
        if len(rows) < 2:
            return None
        rows.sort(key=lambda r: r[0])
        label = self.indicator_label(measure)
        target, _ = self.target_of(wave, measure)
        whole = not area.by
        return Breakdown(
            indicator=measure.code,
            indicator_label=label,
            by=by,
            title=f"{label}：{'全县各乡镇（街道）' if whole and self.scope.kind == 'town' else '按' + title}",
            cells=tuple(c for _, c in rows),
            target=target,
            highlight=self.scope.code if by == "town" and self.scope.kind == "town" else "",
        )

    def trend(self, measure: Measure) -> Trend | None:
        wave = self.wave_of(measure)
        if wave is None:
            return None
        area_points, county_points = [], []
        for w in self.est.earlier(wave) + [wave]:
            if not self.est.available(w, measure.instrument):
                continue
            found = self.area_estimate(w, measure)
            if found is not None:
                c = self.cell(found, str(w.year))
                area_points.append(TrendPoint(w.year, c.estimate, c.ci_low, c.ci_high, c.n, c.suppressed))
            if self.scope.kind != "county" and not (self.scope.kind == "group" and measure.instrument == "occupational_health"):
                whole = self.est.cell(w, measure)
                if whole is not None:
                    county_points.append(TrendPoint(w.year, whole.estimate, whole.ci_low, whole.ci_high, whole.n))
        if not area_points:
            return None
        target, _ = self.target_of(wave, measure)
        return Trend(measure.code, self.indicator_label(measure), tuple(area_points), tuple(county_points), target)

    def profile(self, family: str, benchmark: str, title: str) -> Profile | None:
        if not self.est.available(self.wave, "health_literacy"):
            return None
        labels = self.est.key_labels(self.wave, "health_literacy")
        cells, county_cells = [], []
        for code, (fam, label) in labels.dimensions.items():
            if fam != family:
                continue
            measure = Measure("health_literacy", benchmark, code)
            found = self.area_estimate(self.wave, measure)
            if found is None:
                continue
            cells.append(self.cell(found, label, code))
            if self.scope.kind != "county":
                whole = self.est.cell(self.wave, measure)
                if whole is not None:
                    county_cells.append(self.cell(whole, label, code))
        if not cells:
            return None
        return Profile(benchmark, title, tuple(cells), tuple(county_cells))

    # -- knowledge gaps -----------------------------------------------------------------------

    def gap_profile(self, wave: Wave, instrument: str, group: str, group_label: str, member: np.ndarray, items: int) -> GapProfile | None:
        scores = self.est.items(wave, instrument)
        answered = member & ~np.all(np.isnan(scores.item_correct), axis=1)
        n = int(answered.sum())
        if n < self.min_n:
            return None
        labels = self.est.key_labels(wave, instrument)
        family = actions.FOCUS_FAMILY.get(instrument, "area")
        dim_share = self.est.weighted_shares(wave, instrument, scores.dimension_share, answered)
        dim_county = self.est.weighted_shares(wave, instrument, scores.dimension_share)
        dims = sorted(
            (
                DimensionShare(code, labels.dimensions.get(code, ("", code))[1], float(dim_share[j]), float(dim_county[j]))
                for j, code in enumerate(scores.dimension_codes)
                if scores.dimension_families[j] == family and np.isfinite(dim_share[j])
            ),
            key=lambda d: d.share,
        )
        item_share = self.est.weighted_shares(wave, instrument, scores.item_correct, answered)
        item_county = self.est.weighted_shares(wave, instrument, scores.item_correct)
        dim_names = {code: label for code, (_, label) in labels.dimensions.items()}
        ranked = sorted((j for j in range(len(scores.item_names)) if np.isfinite(item_share[j])), key=lambda j: item_share[j])
        weakest = []
        for j in ranked[:items]:
            name = scores.item_names[j]
            text, dims_of = labels.items.get(name, (name, ()))
            area_dims = [dim_names[d] for d in dims_of if labels.dimensions.get(d, ("",))[0] == family]
            weakest.append(ItemShare(name, question_text(text), "、".join(area_dims), float(item_share[j]), float(item_county[j])))
        focus = tuple(
            actions.focus_point(instrument, group, d.code, d.label, pct(d.share, 0), pct(d.county_share, 0)) for d in dims[:2]
        )
        return GapProfile(
            group=group,
            group_label=group_label,
            instrument=instrument,
            instrument_label=SHORT_LABELS.get(instrument, labels.instrument),
            n=n,
            action_area=actions.action_area(instrument, group),
            dimensions=tuple(dims),
            items=tuple(weakest),
            focus=focus,
        )

    def gaps(self) -> tuple[GapProfile, ...]:
        profiles: list[GapProfile | None] = []
        instruments = [m.instrument for m in HEADLINES if self.est.available(self.wave, m.instrument)]
        if self.scope.kind == "group":
            targets = [(self.scope.code, self.scope.name)]
        elif self.scope.kind == "town":
            targets = [(actions.ALL, f"{self.scope.name}{ALL_RESIDENTS}")] + list(self.groups.items())
        else:
            targets = list(self.groups.items())
        items = 5 if self.scope.kind == "group" else 3
        for group, label in targets:
            for instrument in instruments:
                table = self.est.design(self.wave, instrument).table
                member = np.ones(table.n, dtype=bool) if group == actions.ALL else table.groups.get(group, np.zeros(table.n, dtype=bool))
                if self.scope.kind == "town":
                    member = member & (table.labels["town"] == self.scope.code)
                profiles.append(self.gap_profile(self.wave, instrument, group, label, member, items))
            if group == "worker" and self.scope.kind != "town" and self.est.available(self.enterprise, "occupational_health"):
                assert self.enterprise is not None
                table = self.est.design(self.enterprise, "occupational_health").table
                profiles.append(
                    self.gap_profile(self.enterprise, "occupational_health", group, label, np.ones(table.n, dtype=bool), items)
                )
        return tuple(p for p in profiles if p is not None)

    # -- methods ------------------------------------------------------------------------------

    def methods(self, indicators: tuple[Indicator, ...], breakdowns: tuple[Breakdown, ...]) -> tuple[MethodsSection, ...]:
        wave = self.wave
        counts = wave_dispositions(wave)
        strata = sample_strata(wave)
        cases = sum(counts.values())
        aapor = rates.outcome_rates(rates.counts_from_dispositions(counts))
        psus = sum(s.psu_sampled for s in strata)
        designs = {m.instrument: self.est.design(wave, m.instrument) for m in HEADLINES if self.est.available(wave, m.instrument)}
        sections = [
            MethodsSection(
                "调查对象与抽样设计",
                (
                    f"入户调查的对象是全县15–69岁常住居民（科学素质测评为其中18–69岁的居民）。调查按{len(strata)}个乡镇（街道）分层：在每个乡镇（街道）内，"
                    "按人口多少成比例地抽取村（社区）——人口越多，被抽中的机会越大，人口特别多的社区必定入选；再在每个样本村（社区）按住户名单等距抽取住户，"
                    "每户用 Kish 随机表选出1名15–69岁常住居民接受调查。"
                    f"本轮共抽取{psus}个村（社区）、{cases}户。每位受访者被抽中的概率是各阶段概率的乘积，记录在样本上，是计算权重的依据。",
                ),
                TextTable(
                    ("乡镇（街道）", "村（社区）总数", "抽中村（社区）", "抽样户数", "完成调查", "应答率"),
                    tuple(
                        (
                            s.town, str(s.frame_units), str(s.psu_sampled), str(s.cases), str(s.dispositions.get("complete", 0)),
                            pct(rates.rr1(rates.counts_from_dispositions(s.dispositions))),
                        )
                        for s in strata
                    )
                    + (("合计", str(sum(s.frame_units for s in strata)), str(psus), str(cases), str(counts.get("complete", 0)), pct(aapor["RR1"])),),
                    note="应答率按 AAPOR 的 RR1 计算（完成调查户数÷可能符合条件的全部户数）。",
                ),
            ),
            MethodsSection(
                "样本与应答",
                (
                    f"完成调查{counts.get('complete', 0)}户；不符合条件（家中没有15–69岁常住居民）{counts.get('not_eligible', 0)}户；"
                    f"拒绝{counts.get('refusal', 0)}户，多次上门未遇到{counts.get('non_contact', 0)}户，中途停止{counts.get('partial', 0)}户，"
                    f"尚在调查中{counts.get('pending', 0)}户。",
                    f"应答率（AAPOR RR1）为{pct(aapor['RR1'])}：完成调查户数除以所有可能符合条件的户数，情况不明的住户都按符合条件计入分母，结果偏保守。"
                    f"按情况已知住户中符合条件的比例（e = {pct(aapor.e)}）估计情况不明住户后，应答率（RR3）为{pct(aapor['RR3'])}。"
                    f"接触到的符合条件住户中同意接受调查的比例（合作率 COOP1）为{pct(aapor['COOP1'])}，拒绝率（REF1）为{pct(aapor['REF1'])}，"
                    f"接触率（CON1）为{pct(aapor['CON1'])}。以上比率按美国民意研究协会（AAPOR）《标准定义》（2023年第10版）计算。",
                ),
            ),
        ]
        if self.scope.kind == "town":
            own = next((r for r in strata if r.code == self.scope.code), None)
            if own is not None:
                rate = pct(rates.rr1(rates.counts_from_dispositions(own.dispositions)))
                sections[0] = MethodsSection(
                    sections[0].heading,
                    sections[0].paragraphs
                    + (
                        f"{own.town}是其中一层：从{own.frame_units}个村（社区）中抽取{own.psu_sampled}个、{own.cases}户，"
                        f"完成调查{own.dispositions.get('complete', 0)}户，应答率{rate}。本报告{own.town}的结果只用这些样本；"
                        "全县的结果用全部样本。",
                    ),
                    sections[0].table,
                )
        sections.append(self.weighting_section(designs))
        deffs = [b_cell.deff for b in breakdowns for b_cell in b.cells if not b_cell.suppressed and math.isfinite(b_cell.deff)]
        headline_deffs = "，".join(
            f"{SHORT_LABELS.get(i.code, i.label)}{i.overall.deff:.2f}" for i in indicators if i.overall is not None and ":" not in i.code
        )
        sections.append(
            MethodsSection(
                "估计方法与置信区间",
                (
                    "达标比例按权重加权计算：每位受访者按他所代表的人数计入。标准误（衡量抽样误差的大小）考虑了分层、按村（社区）整群抽样和权重调整"
                    "（技术上称泰勒线性化方法；必选社区以住户为抽样单位）。95%置信区间的算法保证区间不会超出0%–100%（logit 变换；估计值为0%或100%时"
                    "改用 Korn–Graubard 精确方法）。所有计算与国际通用的 R 语言 survey 统计软件包逐项核对一致。",
                    "“判断”回答“能否认为已达到目标”：90%置信区间整体高于目标，判为“已达到目标”；整体低于目标，判为“低于目标”；"
                    "否则判为“与目标无显著差异”，即样本还不足以下结论（这相当于显著性水平5%的单侧检验）。与上一年比较时，两年样本相互独立，"
                    "用两年估计值之差除以它的标准误作 t 检验，p<0.05 称为“变化显著”，即变化大于抽样误差能解释的范围。"
                    "乡镇（街道）或人群与县内其余部分的比较，用同一调查中两部分之差及其标准误作同样的检验。",
                    f"样本少于{self.min_n}人或变异系数（标准误÷估计值）超过{pct(float(settings.SUYANG_RELIABILITY_MAX_CV), 0)}的结果不够可靠："
                    f"样本少于{self.min_n}人的不公布估计值，只列样本量；样本够但变异系数过大的照常列出，标注“†”，仅供参考。",
                ),
            )
        )
        sections.append(
            MethodsSection(
                "设计效应",
                (
                    f"设计效应是本调查估计值的方差与同样样本量的简单随机抽样方差之比，反映整群抽样和权重带来的精度损失。全县主要指标的设计效应为{headline_deffs}。"
                    + (
                        f"本报告各分组结果的设计效应在{min(deffs):.2f}到{max(deffs):.2f}之间（中位数{float(np.median(deffs)):.2f}）。"
                        if deffs else ""
                    )
                    + "例如设计效应为2，意味着800人的样本提供的信息约相当于400人的简单随机样本（有效样本量=样本量÷设计效应）。",
                ),
            )
        )
        sections.append(self.scoring_section(designs))
        if self.enterprise is not None and self.est.available(self.enterprise, "occupational_health"):
            sections += self.enterprise_sections()
        sections.append(
            MethodsSection(
                "软件",
                (
                    f"素养 Suyang；Python {platform.python_version()}，Django {django.get_version()}，NumPy {np.__version__}，"
                    f"SciPy {scipy.__version__}，ReportLab {reportlab.Version}，openpyxl {openpyxl.__version__}。"
                    "估计方法与 R survey 包的结果逐项核对一致；报告的每个数字都可由页脚标注的问卷、评分标准和权重版本重新算出。",
                ),
            )
        )
        return tuple(sections)

    def weighting_section(self, designs: dict[str, WaveDesign]) -> MethodsSection:
        paragraphs = [
            "每位受访者代表的人数（权重）分三步得到：第一步，取其被抽中概率的倒数（基础权重）；第二步，在乡镇（街道）×城乡的调整组内，"
            "把未应答住户的权重分给同组的应答者（无回答调整，过小的组逐级合并）；第三步，按人口普查数据对乡镇（街道）、性别×年龄组、城乡、文化程度"
            "四个方面同时校准（迭代比例拟合，即“raking”），使加权后的人口构成与普查一致。校准既纠正了抽样和应答造成的构成偏差，也提高了精度。"
        ]
        rows = []
        for instrument, wd in designs.items():
            ws: WeightSet = wd.weight_set
            diag = ws.diagnostics or {}
            nonresponse = (ws.method or {}).get("nonresponse")
            classes = diag.get("nonresponse_classes")
            factors = (
                f"{diag.get('nonresponse_factor_min', 1):.2f}–{diag.get('nonresponse_factor_max', 1):.2f}"
                if isinstance(nonresponse, dict) and "factors" in nonresponse else "未调整"
            )
            rows.append(
                (
                    SHORT_LABELS.get(instrument, instrument),
                    f"第{ws.version}版",
                    ws.margin_set.name if ws.margin_set else "—",
                    f"{classes}组，系数{factors}" if classes else factors,
                    f"{diag.get('min_final', float('nan')):.0f}–{diag.get('max_final', float('nan')):.0f}",
                    f"{diag.get('deff_weighting', float('nan')):.2f}",
                )
            )
        paragraphs.append(
            "下表列出本报告所用的权重版本、校准所依据的人口控制数、无回答调整组数和调整系数范围、最终权重范围，以及权重不等造成的设计效应"
            "（Kish 公式 1+权重变异系数²）。"
        )
        return MethodsSection(
            "权重",
            tuple(paragraphs),
            TextTable(("指标", "权重版本", "人口控制数", "无回答调整", "权重范围", "权重设计效应"), tuple(rows)),
        )

    def scoring_section(self, designs: dict[str, WaveDesign]) -> MethodsSection:
        parts = []
        for instrument, wd in designs.items():
            key = wd.key
            rule = key.benchmarks.filter(scope="total").order_by("order").first()
            maximum = float(sum(float(p) for p in key.item_keys.values_list("points", flat=True)))
            items = key.item_keys.count()
            if rule is None:
                continue
            cut = rule.threshold * maximum if rule.basis == "share" else rule.threshold
            if rule.basis == "share":
                # Points are whole numbers, so "at least 80% of 66" means at least 53.
                shown = math.ceil(cut - 1e-9) if float(maximum).is_integer() else cut
                rule_text = f"得分达到满分的{100 * rule.threshold:.0f}%（≥{shown:g}分）"
            else:
                rule_text = f"得分≥{cut:g}分"
            parts.append(f"{SHORT_LABELS.get(instrument, instrument)}：{items}题、满分{maximum:g}分，{rule_text}为达标")
        text = "；".join(parts) + "。健康素养三个方面和六类问题分别按该部分满分的80%判定。各题答案、分值和判定规则以版本化的评分标准保存，可追溯、可重算。"
        return MethodsSection("评分标准", (text,))

    def enterprise_sections(self) -> list[MethodsSection]:
        assert self.enterprise is not None
        wave = self.enterprise
        counts = wave_dispositions(wave)
        strata = sample_strata(wave)
        aapor = rates.outcome_rates(rates.counts_from_dispositions(counts))
        wd = self.est.design(wave, "occupational_health")
        units = sum(s.psu_sampled for s in strata)
        return [
            MethodsSection(
                "企业职工调查（职业健康知识）",
                (
                    f"职业健康知识知晓率来自{wave.name_zh}。调查对象是全县重点行业企业16–59岁职工，抽样框是企业职业病危害项目申报名录及其职工人数。"
                    f"按乡镇（街道）分层，每层至少抽2家企业，按职工人数成比例抽取企业（规模大的企业必定入选），本轮共抽取{units}家企业；"
                    f"再按职工名册等距抽取职工。完成调查{counts.get('complete', 0)}人，应答率（RR1）{pct(aapor['RR1'])}。"
                    f"权重同样由基础权重、无回答调整和校准三步得到，校准依据是{wd.weight_set.margin_set.name if wd.weight_set.margin_set else '职工名册汇总数'}"
                    "（乡镇（街道）、性别×年龄组、企业所在城乡、文化程度）。职工得分达到满分的80%即为“知晓”。",
                ),
                TextTable(
                    ("乡镇（街道）", "企业总数", "抽中企业", "抽取职工", "完成调查", "应答率"),
                    tuple(
                        (
                            s.town, str(s.frame_units), str(s.psu_sampled), str(s.cases), str(s.dispositions.get("complete", 0)),
                            pct(rates.rr1(rates.counts_from_dispositions(s.dispositions))),
                        )
                        for s in strata
                    ),
                ),
            )
        ]

    # -- the whole report ---------------------------------------------------------------------

    def provenance(self) -> Provenance:
        designs = [self.est.design(self.wave, m.instrument) for m in HEADLINES]
        if self.enterprise is not None and self.est.available(self.enterprise, "occupational_health"):
            designs.append(self.est.design(self.enterprise, "occupational_health"))
        return Provenance(
            wave=self.wave.name_zh,
            instruments=tuple(
                f"{wd.key.instrument_version.instrument.name_zh} v{wd.key.instrument_version.version}" for wd in designs
            ),
            keys=tuple(f"k{wd.key.version}" for wd in designs),
            weight_sets=tuple(f"W{wd.weight_set.version}" for wd in designs),
            data_hash=self.est.fingerprint(self.wave),
            generated_at=timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        )

    def title(self) -> tuple[str, str]:
        county, year = self.wave.county.name_zh, self.wave.year
        if self.scope.kind == "town":
            return f"{county}{self.scope.name}{year}年公民科学素质与健康素养评估报告", f"{self.wave.name_zh} · 本乡镇（街道）与全县对照"
        if self.scope.kind == "group":
            return f"{county}{year}年{self.scope.name}科学素质与健康素养评估报告", f"{self.wave.name_zh} · 本人群与全县对照"
        return f"{county}{year}年公民科学素质与健康素养评估报告", self.wave.name_zh

    def build(self) -> AssessmentReport:
        for m in HEADLINES:
            self.est.design(self.wave, m.instrument)  # the report needs both headline designs
        measures = [m for m in (SCIENCE, HEALTH, *[Measure("health_literacy", "health_aspect", a) for a in HEALTH_ASPECTS], OCCUPATIONAL) if self.applies(m)]
        indicators = tuple(self.indicator(m) for m in measures)
        breakdowns: list[Breakdown | None] = []
        for measure in HEADLINES:
            for by, title in BREAKDOWNS:
                if (by == "town" and self.scope.kind == "town") or (by == "group" and self.scope.kind == "group"):
                    continue
                breakdowns.append(self.breakdown(measure, by, title))
        if self.shows_detail(OCCUPATIONAL):
            for by, title in BREAKDOWNS:
                if by in OCCUPATIONAL_BREAKDOWNS:
                    breakdowns.append(self.breakdown(OCCUPATIONAL, by, title))
        if self.scope.kind == "town":
            breakdowns += [self.breakdown(m, "town", "乡镇（街道）", Area((), ())) for m in HEADLINES]
        kept = tuple(b for b in breakdowns if b is not None)
        trends = tuple(t for t in (self.trend(m) for m in (SCIENCE, HEALTH, OCCUPATIONAL) if self.shows_detail(m)) if t is not None)
        profiles = tuple(
            p
            for p in (
                self.profile("aspect", "health_aspect", "健康素养：三个方面"),
                self.profile("category", "health_category", "健康素养：六类健康问题"),
            )
            if p is not None
        )
        gaps = self.gaps()
        title, subtitle = self.title()
        report = AssessmentReport(
            scope=self.scope,
            title=title,
            subtitle=f"{subtitle} · 生成于{timezone.localtime():%Y年%m月%d日}",
            county=self.wave.county.name_zh,
            year=self.wave.year,
            indicators=indicators,
            breakdowns=kept,
            trends=trends,
            profiles=profiles,
            gaps=gaps,
            methods=self.methods(indicators, kept),
            glossary=GLOSSARY,
            provenance=self.provenance(),
        )
        return AssessmentReport(**{**report.__dict__, "key_findings": key_findings(report)})


GLOSSARY: tuple[tuple[str, str], ...] = (
    ("估计值", "根据样本推算出的全县（或某乡镇、某人群）达标人口比例。"),
    ("95%置信区间", "估计值可能的误差范围。按同样方法反复调查，约95%的区间会包含真实比例。区间越窄，结果越精确。"),
    ("目标判断（单侧检验）", "看置信区间是否整体高于或低于目标：整体高于为“已达到目标”，整体低于为“低于目标”，包含目标值则“与目标无显著差异”，即还不能下结论。"),
    ("变化显著", "与上一年相比的差异大于抽样误差可以解释的范围（p<0.05）；“不显著”表示差异可能只是抽样造成的。"),
    ("样本量", "实际接受调查并完成测评的人数。"),
    ("设计效应", "本调查的误差与同样人数的简单随机抽样误差（方差）之比。设计效应为2，相当于样本信息量打了对折。"),
    ("变异系数", "标准误与估计值之比，衡量相对误差。超过30%的结果标“†”，仅供参考。"),
    ("权重", "每位受访者代表的人数。按被抽中的概率、未应答情况和人口普查构成计算，使样本能代表全县人口。"),
    ("应答率", "完成调查的住户占应调查住户的比例，按国际通行的 AAPOR 标准计算。"),
    ("得分率", "某一方面的题目中答对得分占该方面满分的比例（按权重加权），用来比较各方面知识的掌握程度。"),
    ("正确率", "按权重加权后答对某道题的人所占比例。"),
    ("数据指纹", "本报告所用数据（权重和评分标准版本）的校验码。数据一变，指纹就变；指纹相同的报告数字完全相同。"),
)


def question_text(text: str, limit: int = 38) -> str:
    """Return a question's text shortened to LIMIT characters for a table."""
    clean = " ".join(text.split())
    return clean if len(clean) <= limit else clean[: limit - 1].rstrip("，、；：,;:") + "…"


def key_findings(report: AssessmentReport) -> tuple[str, ...]:
    """Return the few sentences the first page leads with."""
    found = []
    for ind in report.indicators:
        if ":" in ind.code:
            continue
        o = ind.overall
        if o is None:
            county = f"，全县为{pct(ind.county.estimate)}" if ind.county is not None else ""
            found.append(f"{ind.label}：{ind.missing}{county}。")
            continue
        if o.suppressed:
            found.append(f"{ind.label}：样本只有{o.n}人，不足以可靠估计。")
            continue
        text = f"{ind.label}为{pct(o.estimate)}（95%置信区间{pct(o.ci_low)}–{pct(o.ci_high)}）"
        if ind.target is not None:
            text += {
                "met": f"，已达到{ind.target_year}年目标{pct(ind.target)}",
                "below": f"，低于{ind.target_year}年目标{pct(ind.target)}",
                "indistinguishable": f"，与{ind.target_year}年目标{pct(ind.target)}无显著差异",
                "none": "",
            }[ind.verdict]
        if ind.change is not None:
            direction = "提高" if ind.change.difference >= 0 else "下降"
            significance = "变化显著" if ind.change.significant else "变化不显著"
            text += f"；比{ind.change.previous_year}年{direction}{points(ind.change.difference)}，{significance}"
        if ind.comparison is not None:
            higher = "高" if ind.comparison.difference >= 0 else "低"
            significance = "差异显著" if ind.comparison.significant else "差异不显著"
            text += f"；比{ind.comparison.rest_label}{higher}{points(ind.comparison.difference)}，{significance}"
        found.append(text + "。")
    for b in report.breakdowns:
        if b.by not in ("group", "town") or b.indicator not in ("science_literacy", "health_literacy") or b.highlight:
            continue
        usable = [c for c in b.cells if not c.suppressed]
        if len(usable) < 3:
            continue
        low, high = min(usable, key=lambda c: c.estimate), max(usable, key=lambda c: c.estimate)
        what = "重点人群" if b.by == "group" else "乡镇（街道）"
        caveat = "，该结果仅供参考" if low.flagged or high.flagged else ""
        found.append(f"{SHORT_LABELS[b.indicator]}：各{what}中{low.label}最低（{pct(low.estimate)}），{high.label}最高（{pct(high.estimate)}）{caveat}。")
    for p in report.profiles:
        if p.code == "health_category" and p.cells:
            weakest = min(p.cells, key=lambda c: c.estimate)
            found.append(f"健康素养六类问题中，“{weakest.label}”最薄弱，具备该类素养的比例为{pct(weakest.estimate)}。")
    return tuple(found)


def data_fingerprint(wave: Wave) -> str:
    """Return the hash of what a wave's reports are computed from: the current weight sets, keys and
    scores (`scores_mark`) of the wave, of the enterprise survey of its year, and of the earlier
    waves its trends show.

    Cheap (no estimation), so a stored report can be found before anything is rebuilt.
    """
    digest = hashlib.sha256()
    years = Wave.objects.filter(county_id=wave.county_id, year__lte=wave.year, kind__in=[Wave.Kind.HOUSEHOLD, Wave.Kind.ENTERPRISE])
    rows = list(
        WeightSet.objects.filter(wave__in=years, is_current=True)
        .select_related("wave", "instrument")
        .order_by("wave__year", "wave__code", "instrument__code")
    )
    weighted = {ws.instrument.code for ws in rows if ws.wave_id == wave.pk}
    for measure in HEADLINES:
        if measure.instrument not in weighted:
            raise weights_missing(wave, measure.instrument)
    shown: list[tuple[WeightSet, int | None]] = []
    for weight_set in rows:
        try:
            shown.append((weight_set, wave_key(weight_set.wave, weight_set.instrument.code).pk))
        except DataProblem:
            shown.append((weight_set, None))
    marks = scores_marks({(ws.wave_id, key_id) for ws, key_id in shown if key_id is not None})
    for ws, key_id in shown:
        digest.update(f"{ws.wave.code}|{ws.instrument.code}|{ws.inputs_hash}|".encode())
        digest.update(f"{key_id}|{marks[(ws.wave_id, key_id)]}".encode() if key_id is not None else b"-")
    return digest.hexdigest()


def build_report(wave: Wave, kind: str = "county", code: str = "", *, estimates: Estimates | None = None) -> AssessmentReport:
    """Return the report of WAVE for the county, a town (CODE) or a population group (CODE).

    Raises DataProblem when the wave cannot be reported yet, ReportRequestError for an unknown
    town or group.  The report is Chinese whatever language the request uses: demographic labels
    are translatable, and a stored file is shared by everyone who asks for the same data.
    """
    from reports.selectors import report_group, report_town

    with translation.override("zh-hans"):
        if kind == "town":
            town: Town = report_town(wave, code)
            scope = Scope("town", town.code, town.name_zh)
        elif kind == "group":
            name, label = report_group(wave, code)
            scope = Scope("group", name, label)
        else:
            scope = Scope("county", "", wave.county.name_zh)
        return ReportBuilder(wave, scope, estimates).build()


def county_report(wave: Wave) -> AssessmentReport:
    """Return the county report of WAVE as plain data; raise DataProblem if it cannot be made."""
    return build_report(wave)
