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
from django.utils import timezone, translation
from scipy import stats

from assessment.demography import LEVEL_ORDER
from assessment.demography import label as demographic_label
from assessment.estimation import WaveDesign, estimate_by, estimate_overall, wave_design
from assessment.models import Case, Town, Wave, WeightSet
from questionnaires.models import BenchmarkRule, GroupRule
from reports.data import Breakdown, Cell, Change, CountyReport, Indicator, Provenance, TrendPoint
from scoring import CellEstimate
from scoring.adapters import DataProblem, wave_key


@dataclass(frozen=True)
class IndicatorSpec:
    instrument: str
    benchmark: str
    dimension: str | None = None


# Bump when the builder's output changes for the same data (labels, order, wording), so stored
# reports are built again; pdf.LAYOUT_VERSION does the same for the drawing.
BUILDER_VERSION = 4
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
        # Ordinal and conventional orders (education upwards, men before women), not by code.
        order = list(names) if names else list(LEVEL_ORDER.get(by, ())) or None
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
        # Each instrument is calibrated to the margins of its own age range (18–69, 15–69).
        margins = "和".join(
            f"{w.margin_set.name}（{label}）" for w, label in zip(ws, ("科学素质", "健康素养")) if w.margin_set
        )
        return (
            (
                "抽样设计",
                f"调查按{strata}个乡镇（街道）分层。在每个乡镇（街道）内，按人口多少成比例地抽取村（社区）——人口越多，被抽中的机会越大，"
                f"人口特别多的社区必定入选；再在每个样本村（社区）等距抽取住户，每户用 Kish 随机表选出1名15–69岁常住居民接受调查。"
                f"本轮共抽取{psus}个村（社区）、{cases}户。每位受访者被抽中的概率是各阶段概率的乘积，记录在样本上。",
            ),
            (
                "样本与应答",
                f"完成调查{complete}户；不符合条件（家中没有15–69岁常住居民）{counts.get('not_eligible', 0)}户；"
                f"拒绝{counts.get('refusal', 0)}户，多次上门未遇到{counts.get('non_contact', 0)}户，中途停止{counts.get('partial', 0)}户，"
                f"尚在调查中{counts.get('pending', 0)}户。应答率为{100 * rr1:.1f}%（按国际通行的 AAPOR 标准 RR1 计算，"
                f"情况不明的住户都按符合条件计入分母，结果偏保守）。",
            ),
            (
                "权重",
                f"每位受访者代表的人数（权重）先取其被抽中概率的倒数，再按人口普查数据调整（迭代比例拟合），"
                f"使加权后的乡镇、性别×年龄组、城乡、文化程度构成与{margins or '人口普查'}一致，"
                f"这也减少了部分住户未应答带来的偏差。本报告使用科学素质权重第{ws[0].version}版、健康素养权重第{ws[1].version}版。",
            ),
            (
                "估计与置信区间",
                "达标比例按权重加权计算。标准误考虑了分层、按村（社区）整群抽样和权重调整（泰勒线性化方法，人口特别多的必选社区以住户为单位计算）。"
                "95%置信区间的含义是：按同样方法反复调查，约95%的区间会包含全县真实比例；区间在 logit 尺度上构造，不会超出0%–100%，"
                "结果与国际通用的 R 语言 survey 统计软件包逐项核对一致。设计效应是本调查的方差与同样本量简单随机抽样方差之比。"
                "样本量少于30人或变异系数（标准误÷估计值）超过30%的结果标为“不可靠”，仅供参考。",
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
        return Provenance(
            wave=self.wave.name_zh,
            instruments=tuple(
                f"{wd.key.instrument_version.instrument.name_zh} v{wd.key.instrument_version.version}" for wd in designs
            ),
            keys=tuple(f"k{wd.key.version}" for wd in designs),
            weight_sets=tuple(f"W{wd.weight_set.version}" for wd in designs),
            data_hash=data_fingerprint(self.wave),
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


def data_fingerprint(wave: Wave) -> str:
    """Return the hash of what a wave's report is computed from: its current weight sets and keys.

    Cheap (no estimation), so a stored report can be found before anything is rebuilt.
    """
    digest = hashlib.sha256()
    for spec in HEADLINES:
        weight_set = WeightSet.objects.filter(wave=wave, instrument__code=spec.instrument, is_current=True).first()
        if weight_set is None:
            raise DataProblem(f"wave {wave.code} has no weights for {spec.instrument} yet: run the weighting first")
        digest.update(weight_set.inputs_hash.encode())
        digest.update(str(wave_key(wave, spec.instrument).pk).encode())
    return digest.hexdigest()


def county_report(wave: Wave) -> CountyReport:
    """Return the county report of WAVE as plain data; raise DataProblem if it cannot be made."""
    # The report is Chinese whatever language the requesting page uses: demographic labels are
    # translatable, and the rendered file is shared by everyone who asks for the same data.
    with translation.override("zh-hans"):
        return CountyReportBuilder(wave).build()
