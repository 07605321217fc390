"""Plain data of a report: what the builder returns and every renderer (PDF, CSV, XLSX) draws.

Nothing here knows the database or the drawing; every number is already computed and every
label already in the report's language (Chinese).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cell:
    """One estimated share with its quality figures.

    ``reliable`` is the engine's rule (at least 30 respondents and a coefficient of variation
    of at most 30%).  An unreliable cell with too few respondents is ``suppressed``: renderers
    print its sample size only; one with enough respondents but a large CV is printed and
    flagged.
    """

    label: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    weighted_n: float
    deff: float
    cv: float
    df: float
    reliable: bool
    suppressed: bool = False
    code: str = ""

    @property
    def flagged(self) -> bool:
        return not self.reliable and not self.suppressed


@dataclass(frozen=True)
class Change:
    """The change of an estimate since an earlier wave (independent samples), with its t-test."""

    previous_year: int
    previous: float
    difference: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05


@dataclass(frozen=True)
class Comparison:
    """An area (town, group) against the rest of the county: difference and its t-test."""

    rest_label: str
    difference: float
    se: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05


@dataclass(frozen=True)
class Indicator:
    """One row of the summary: an indicator of the report's area against its target."""

    code: str  # benchmark, or "benchmark:dimension"
    label: str
    population: str  # who it is about, e.g. "18–69岁常住居民"
    overall: Cell | None  # None when the wave has no data for it (see missing)
    target: float | None
    target_year: int | None
    verdict: str  # met | indistinguishable | below | none
    change: Change | None
    county: Cell | None = None  # the county's figure beside a town's or group's
    comparison: Comparison | None = None
    source: str = ""  # the wave the figure comes from
    missing: str = ""  # why there is no figure


@dataclass(frozen=True)
class Breakdown:
    """An indicator by one grouping variable (population group, town, sex, …)."""

    indicator: str
    indicator_label: str
    by: str
    title: str
    cells: tuple[Cell, ...]
    target: float | None = None
    highlight: str = ""  # code of the cell to stand out (the report's own town)


@dataclass(frozen=True)
class TrendPoint:
    year: int
    estimate: float
    ci_low: float
    ci_high: float
    n: int
    suppressed: bool = False


@dataclass(frozen=True)
class Trend:
    """One indicator across waves: the report's area, and the county beside it."""

    indicator: str
    label: str
    points: tuple[TrendPoint, ...]
    county_points: tuple[TrendPoint, ...] = ()
    target: float | None = None


@dataclass(frozen=True)
class Profile:
    """Health literacy by aspect or by problem category: the area's cells and the county's."""

    code: str  # health_aspect | health_category
    title: str
    cells: tuple[Cell, ...]
    county_cells: tuple[Cell, ...] = ()


@dataclass(frozen=True)
class DimensionShare:
    """The weighted share of a dimension's points a group scored (its "correct share")."""

    code: str
    label: str
    share: float
    county_share: float


@dataclass(frozen=True)
class ItemShare:
    """The weighted share of a group answering one item right."""

    name: str
    text: str
    dimension: str
    share: float
    county_share: float


@dataclass(frozen=True)
class GapProfile:
    """What one group lacks on one instrument, and where the plan says to act."""

    group: str
    group_label: str
    instrument: str
    instrument_label: str
    n: int
    action_area: str
    dimensions: tuple[DimensionShare, ...]  # weakest first
    items: tuple[ItemShare, ...]  # weakest first
    focus: tuple[str, ...]


@dataclass(frozen=True)
class TextTable:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class MethodsSection:
    heading: str
    paragraphs: tuple[str, ...]
    table: TextTable | None = None


@dataclass(frozen=True)
class Provenance:
    wave: str
    instruments: tuple[str, ...]
    keys: tuple[str, ...]
    weight_sets: tuple[str, ...]
    data_hash: str
    generated_at: str

    def stamp(self) -> str:
        """Return the footer line: per instrument its questionnaire, key and weight versions."""
        versions = " · ".join(
            f"{instrument}（评分标准 {key}，权重 {weights}）"
            for instrument, key, weights in zip(self.instruments, self.keys, self.weight_sets)
        )
        return f"{self.wave} · {versions} · 数据指纹 {self.data_hash[:12]} · 生成于 {self.generated_at}"


@dataclass(frozen=True)
class Scope:
    kind: str  # county | town | group
    code: str  # "" for the county, the town's code or the group's name
    name: str


@dataclass(frozen=True)
class AssessmentReport:
    """Everything one report says, in the order the PDF tells it."""

    scope: Scope
    title: str
    subtitle: str
    county: str
    year: int
    indicators: tuple[Indicator, ...]
    breakdowns: tuple[Breakdown, ...]
    trends: tuple[Trend, ...]
    profiles: tuple[Profile, ...]
    gaps: tuple[GapProfile, ...]
    methods: tuple[MethodsSection, ...]
    glossary: tuple[tuple[str, str], ...]
    provenance: Provenance
    key_findings: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def indicator(self, code: str) -> Indicator:
        return next(i for i in self.indicators if i.code == code)
