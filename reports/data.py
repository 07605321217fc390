"""Plain data of a report: what the builder returns and every renderer draws."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cell:
    """One estimated share with its quality figures."""

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


@dataclass(frozen=True)
class Change:
    previous_year: int
    previous: float
    difference: float
    se: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str
    overall: Cell
    target: float | None
    target_year: int | None
    verdict: str  # met | indistinguishable | below | none
    change: Change | None


@dataclass(frozen=True)
class Breakdown:
    """An indicator by one grouping variable (population group, town, sex, …)."""

    indicator: str
    indicator_label: str
    by: str
    title: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class TrendPoint:
    year: int
    estimate: float
    ci_low: float
    ci_high: float
    n: int


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
            f"{instrument}（问卷/评分/权重 {key}/{weights}）"
            for instrument, key, weights in zip(self.instruments, self.keys, self.weight_sets)
        )
        return f"{self.wave} · {versions} · 数据指纹 {self.data_hash[:12]} · 生成于 {self.generated_at}"


@dataclass(frozen=True)
class CountyReport:
    title: str
    subtitle: str
    county: str
    year: int
    indicators: tuple[Indicator, ...]
    breakdowns: tuple[Breakdown, ...]
    trends: dict[str, tuple[TrendPoint, ...]]
    methods: tuple[tuple[str, str], ...]  # (heading, paragraph)
    provenance: Provenance
    notes: tuple[str, ...] = field(default=())
