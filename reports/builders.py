"""Build a county report as plain data (reports.data) from the estimation engine's results."""
from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass

import django
import numpy as np
import reportlab
import scipy
from django.db.models import Count
from django.utils import timezone
from scipy import stats

from assessment.demography import label as demographic_label
from assessment.estimation import WaveDesign, estimate_by, estimate_overall, wave_design
from assessment.models import Case, Town, Wave
from questionnaires.models import BenchmarkRule, GroupRule
from reports.data import Breakdown, Cell, Change, CountyReport, Indicator, Provenance, TrendPoint
from scoring import CellEstimate
from scoring.adapters import DataProblem, wave_key


@dataclass(frozen=True)
class IndicatorSpec:
    instrument: str
    benchmark: str
    dimension: str | None = None


HEADLINES = (
    IndicatorSpec("science_literacy", "science_literacy"),
    IndicatorSpec("health_literacy", "health_literacy"),
)
HEALTH_ASPECTS = ("knowledge", "lifestyle", "skills")
BREAKDOWNS = (
    ("group", "重点人群"),
    ("town", "乡镇（街道）"),
    ("urban_rural", "城乡"),
    ("sex", "性别"),
    ("age_group", "年龄组"),
    ("education", "文化程度"),
)


def _cell(estimate: CellEstimate, label: str) -> Cell:
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
    )


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
    """Return the change between two independent waves with its normal-theory p-value."""
    diff = current.estimate - previous.estimate
    se = float(np.hypot(current.se, previous.se))
    p_value = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else 1.0
    return Change(previous_year=previous_year, previous=previous.estimate, difference=diff, se=se, p_value=p_value)


class CountyReportBuilder:
    def __init__(self, wave: Wave) -> None:
        self.wave = wave
        self.designs: dict[str, WaveDesign] = {}

    def design(self, wave: Wave, instrument: str) -> WaveDesign:
        key = f"{wave.pk}:{instrument}"
        if key not in self.designs:
            self.designs[key] = wave_design(wave, instrument)
        return self.designs[key]

    def label_of(self, spec: IndicatorSpec) -> str:
        key = wave_key(self.wave, spec.instrument)
        rule = BenchmarkRule.objects.filter(key=key, name=spec.benchmark).first()
        if rule is None:
            raise DataProblem(f"the key of {spec.instrument} has no benchmark {spec.benchmark}")
        if spec.dimension is None:
            return {"science_literacy": "公民具备科学素质比例", "health_literacy": "居民健康素养水平"}.get(spec.benchmark, rule.label_zh)
        dimension = key.instrument_version.dimensions.filter(code=spec.dimension).first()
        return f"健康素养·{dimension.label_zh if dimension else spec.dimension}"

    def previous_waves(self) -> list[Wave]:
        return list(
            Wave.objects.filter(county=self.wave.county, year__lt=self.wave.year, weight_sets__is_current=True)
            .distinct()
            .order_by("year")
        )

    def indicator(self, spec: IndicatorSpec) -> Indicator:
        wd = self.design(self.wave, spec.instrument)
        overall = estimate_overall(wd, spec.benchmark, spec.dimension)
        target_row = self.wave.targets.filter(indicator=spec.benchmark).first() if spec.dimension is None else None
        target = float(target_row.value) if target_row else None
        narrow = estimate_overall(wd, spec.benchmark, spec.dimension, level=0.90)
        change = None
        earlier = self.previous_waves()
        if earlier:
            prev_wave = earlier[-1]
            try:
                previous = estimate_overall(self.design(prev_wave, spec.instrument), spec.benchmark, spec.dimension)
            except DataProblem:
                previous = None
            if previous is not None:
                change = change_between(overall, previous, prev_wave.year)
        return Indicator(
            code=spec.benchmark if spec.dimension is None else f"{spec.benchmark}:{spec.dimension}",
            label=self.label_of(spec),
            overall=_cell(overall, "全县"),
            target=target,
            target_year=target_row.target_year if target_row else None,
            verdict=verdict(overall, narrow, target),
            change=change,
        )

    def breakdown_labels(self, by: str) -> dict[str, str]:
        if by == "group":
            key = wave_key(self.wave, "demographics")
            return dict(GroupRule.objects.filter(key=key).values_list("name", "label_zh"))
        if by == "town":
            return dict(Town.objects.filter(county=self.wave.county).values_list("code", "name_zh"))
        return {}

    def breakdown(self, spec: IndicatorSpec, by: str, title: str, indicator_label: str) -> Breakdown:
        wd = self.design(self.wave, spec.instrument)
        names = self.breakdown_labels(by)
        cells = estimate_by(wd, spec.benchmark, by, spec.dimension)
        order = list(names) if names else None
        rows = []
        for c in cells:
            code = str(c.domain[0]) if c.domain else ""
            if by == "age_group":
                label = f"{code.replace('-', '–')}岁"
            else:
                label = names.get(code) or demographic_label(code)
            rows.append((order.index(code) if order and code in order else len(rows), _cell(c, label)))
        rows.sort(key=lambda r: r[0])
        return Breakdown(
            indicator=spec.benchmark,
            indicator_label=indicator_label,
            by=by,
            title=f"{indicator_label}：按{title}",
            cells=tuple(cell for _, cell in rows),
        )

    def trend(self, spec: IndicatorSpec) -> tuple[TrendPoint, ...]:
        points = []
        for wave in self.previous_waves() + [self.wave]:
            try:
                cell = estimate_overall(self.design(wave, spec.instrument), spec.benchmark, spec.dimension)
            except DataProblem:
                continue
            points.append(TrendPoint(wave.year, cell.estimate, cell.ci_low, cell.ci_high, cell.n))
        return tuple(points)

    def methods(self) -> tuple[tuple[str, str], ...]:
        wave = self.wave
        counts = dict(Case.objects.filter(wave=wave).values_list("disposition").annotate(n=Count("pk")))
        cases = sum(counts.values())
        complete = counts.get("complete", 0)
        eligible_unknown = cases - counts.get("not_eligible", 0)
        rr1 = complete / eligible_unknown if eligible_unknown else 0.0
        psus = Case.objects.filter(wave=wave).values("sampled_unit").distinct().count()
        strata = Case.objects.filter(wave=wave).values("sampled_unit__stratum").distinct().count()
        ws = [self.design(wave, s.instrument).weight_set for s in HEADLINES]
        margin = ws[0].margin_set
        return (
            (
                "抽样设计",
                f"采用分层多阶段概率抽样：以{strata}个乡镇（街道）为层，在层内按人口规模成比例（PPS）系统抽取村（社区），"
                f"规模超过抽样间距的社区作为必选单位；每个样本村（社区）等距抽取住户，户内用 Kish 表随机选取1名15–69岁常住居民。"
                f"本轮共抽取{psus}个村（社区）、{cases}户。每个样本的入样概率为各阶段概率之积，记录在样本上。",
            ),
            (
                "样本与应答",
                f"完成调查{complete}户；不符合条件（无15–69岁常住居民）{counts.get('not_eligible', 0)}户；"
                f"拒访{counts.get('refusal', 0)}户，未接触{counts.get('non_contact', 0)}户，部分完成{counts.get('partial', 0)}户，"
                f"尚在调查中{counts.get('pending', 0)}户。按 AAPOR RR1 计算的应答率为{100 * rr1:.1f}%（资格未知的样本全部计为符合条件，即 e=1）。",
            ),
            (
                "权重",
                f"基础权重为入样概率的倒数；再以迭代比例拟合（raking）校准到{margin.name if margin else '人口普查'}的乡镇、性别×年龄组、城乡、文化程度四组边际总数，"
                f"同时校正无应答偏差。科学素质权重集 v{ws[0].version}（{ws[0].diagnostics.get('iterations')} 次迭代收敛），"
                f"健康素养权重集 v{ws[1].version}（{ws[1].diagnostics.get('iterations')} 次迭代收敛）。",
            ),
            (
                "估计与置信区间",
                "比例用加权估计；标准误用泰勒线性化方法，按层和村（社区）计算（最终抽样单元、放回近似），并使用校准残差以反映权重校准带来的精度提高。"
                "95%置信区间在 logit 尺度上构造（与 R survey 包 svyciprop 的 xlogit 方法一致），自由度为样本村（社区）数减层数。"
                "设计效应相对于同样本量的简单随机抽样。样本量少于30人或变异系数超过30%的类别标为不可靠。",
            ),
            (
                "评分标准",
                "科学素质：50题、满分100分，得分≥70分为具备科学素质。健康素养：50题、满分66分，得分达到满分的80%（≥53分）为具备健康素养；"
                "三个方面分别按该方面满分的80%判定。各题答案、分值和判定规则以版本化的评分标准保存，可追溯、可重算。",
            ),
            (
                "软件",
                f"素养 Suyang；Python {platform.python_version()}，Django {django.get_version()}，NumPy {np.__version__}，"
                f"SciPy {scipy.__version__}，ReportLab {reportlab.Version}。估计方法与 R survey 包的结果逐项核对一致。",
            ),
        )

    def provenance(self) -> Provenance:
        designs = [self.design(self.wave, s.instrument) for s in HEADLINES]
        digest = hashlib.sha256()
        for wd in designs:
            digest.update(wd.weight_set.inputs_hash.encode())
            digest.update(str(wd.key.pk).encode())
        return Provenance(
            wave=self.wave.name_zh,
            instruments=tuple(f"{wd.key.instrument_version.instrument.code}-v{wd.key.instrument_version.version}" for wd in designs),
            keys=tuple(f"k{wd.key.version}" for wd in designs),
            weight_sets=tuple(f"W{wd.weight_set.version}" for wd in designs),
            data_hash=digest.hexdigest(),
            generated_at=timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        )

    def build(self) -> CountyReport:
        headlines = [self.indicator(spec) for spec in HEADLINES]
        aspects = [self.indicator(IndicatorSpec("health_literacy", "health_aspect", a)) for a in HEALTH_ASPECTS]
        breakdowns = []
        for spec, ind in zip(HEADLINES, headlines):
            for by, title in BREAKDOWNS:
                breakdowns.append(self.breakdown(spec, by, title, ind.label))
        return CountyReport(
            title=f"{self.wave.county.name_zh}{self.wave.year}年公民科学素质与居民健康素养评估报告",
            subtitle=f"{self.wave.name_zh} · 生成于{timezone.localtime():%Y年%m月%d日}",
            county=self.wave.county.name_zh,
            year=self.wave.year,
            indicators=tuple(headlines + aspects),
            breakdowns=tuple(breakdowns),
            trends={spec.benchmark: self.trend(spec) for spec in HEADLINES},
            methods=self.methods(),
            provenance=self.provenance(),
        )


def county_report(wave: Wave) -> CountyReport:
    """Return the county report of WAVE as plain data; raise DataProblem if it cannot be made."""
    return CountyReportBuilder(wave).build()
