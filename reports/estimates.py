"""The estimates reports are made of, each computed once per run and shared by every report.

A county report, nine town reports and five group reports ask the same waves for the same
designs and often for the same cells (every town report shows the county beside the town).
`Estimates` loads each wave's calibrated design and score arrays once and keeps every cell it
has computed, so a batch costs little more than its largest report.  Cells can also be read
from and saved to `EstimateSnapshot` rows, keyed by the wave's current weights and key: a
report's trend then takes the earlier waves' figures without loading those waves again.  The
numbers are the estimation engine's (`assessment.estimation`: logit intervals with the
Korn–Graubard fallback, the reliability rule from settings).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import transaction

from assessment.estimation import WaveDesign, _proportion, wave_design
from assessment.models import Wave, WeightSet
from questionnaires.models import ScoringKey
from questionnaires.services import key_compile
from reports.selectors import (
    BenchmarkArrays,
    ItemArrays,
    KeyLabels,
    benchmark_arrays,
    earlier_waves,
    item_arrays,
    key_labels,
    scores_mark,
)
from scoring import CellEstimate, ContrastEstimate, estimate_domain_differences
from scoring.adapters import DataProblem, wave_key
from scoring.keys import KeyArrays

FloatArray = npt.NDArray[np.float64]
Domain = tuple[str, ...]
NO_LABEL = "-"
INSIDE, OUTSIDE = "in", "out"
# Bump when the estimation changes for the same inputs, so stored snapshots are not used.
ESTIMATES_VERSION = 1


@dataclass(frozen=True)
class Measure:
    """A benchmark of an instrument, on the total or on one dimension."""

    instrument: str
    benchmark: str
    dimension: str | None = None

    @property
    def code(self) -> str:
        return self.benchmark if self.dimension is None else f"{self.benchmark}:{self.dimension}"


class Estimates:
    """Designs, scores and estimate cells of a county's waves, each computed once.

    With SNAPSHOTS, cells are looked up in the stored snapshots before a wave is loaded, and
    `save` stores the cells computed since.
    """

    def __init__(self, *, snapshots: bool = True) -> None:
        self.snapshots = snapshots
        self._stored: dict[tuple[int, str], tuple[str, dict[str, Any]] | None] = {}
        self._new: dict[tuple[int, str], dict[str, Any]] = {}
        self._designs: dict[tuple[int, str], WaveDesign | DataProblem] = {}
        self._benchmarks: dict[tuple[int, str], BenchmarkArrays] = {}
        self._items: dict[tuple[int, str], ItemArrays] = {}
        self._labels: dict[int, KeyLabels] = {}
        self._keys: dict[tuple[int, str], ScoringKey | DataProblem] = {}
        self._targets: dict[int, dict[str, tuple[float, int]]] = {}
        self._fingerprints: dict[int, str] = {}
        self._earlier: dict[int, list[Wave]] = {}
        self._inputs: dict[tuple[int, str], str | None] = {}
        self._compiled: dict[int, KeyArrays] = {}
        self._cells: dict[tuple[Any, ...], dict[Domain, CellEstimate]] = {}

    # -- inputs -------------------------------------------------------------------------------

    def design(self, wave: Wave, instrument: str) -> WaveDesign:
        """Return the calibrated design (raises DataProblem, also on later calls, if there is none)."""
        key = (wave.pk, instrument)
        if key not in self._designs:
            # What the cells computed from this design will be stored under, read before any of
            # its data: what is loaded next can only be as new or newer, never older, so cells
            # are never stored under inputs they were not computed from (a weighting run
            # committing during a long batch leaves them under the old inputs, unused).
            self._inputs[key] = snapshot_inputs(wave, instrument)
            try:
                self._designs[key] = wave_design(wave, instrument)
            except DataProblem as exc:
                self._designs[key] = exc
        found = self._designs[key]
        if isinstance(found, DataProblem):
            raise found
        return found

    def available(self, wave: Wave | None, instrument: str) -> bool:
        """Return whether WAVE has usable estimates of INSTRUMENT (a stored snapshot, or a design)."""
        if wave is None:
            return False
        if (wave.pk, instrument) not in self._designs and self._snapshot(wave, instrument) is not None:
            return True
        try:
            self.design(wave, instrument)
        except DataProblem:
            return False
        return True

    def benchmarks(self, wave: Wave, instrument: str) -> BenchmarkArrays:
        key = (wave.pk, instrument)
        if key not in self._benchmarks:
            wd = self.design(wave, instrument)
            self._benchmarks[key] = benchmark_arrays(wave.pk, wd.table.response_id, wd.key, self.compiled(wd))
        return self._benchmarks[key]

    def items(self, wave: Wave, instrument: str) -> ItemArrays:
        """Return the item and dimension scores (read only for the waves whose gaps are shown)."""
        key = (wave.pk, instrument)
        if key not in self._items:
            wd = self.design(wave, instrument)
            self._items[key] = item_arrays(wave.pk, wd.table.response_id, wd.key, self.compiled(wd))
        return self._items[key]

    def compiled(self, wd: WaveDesign) -> KeyArrays:
        if wd.key.pk not in self._compiled:
            self._compiled[wd.key.pk] = key_compile(wd.key).arrays
        return self._compiled[wd.key.pk]

    def key(self, wave: Wave, instrument: str) -> ScoringKey:
        """Return the wave's official key of INSTRUMENT (`wave_key`, raising DataProblem likewise)."""
        found = self._keys.get((wave.pk, instrument))
        if found is None:
            try:
                found = wave_key(wave, instrument)
            except DataProblem as exc:
                found = exc
            self._keys[(wave.pk, instrument)] = found
        if isinstance(found, DataProblem):
            raise found
        return found

    def targets(self, wave: Wave) -> dict[str, tuple[float, int]]:
        """Return the wave's plan targets: {indicator: (value, target year)}."""
        if wave.pk not in self._targets:
            self._targets[wave.pk] = {t.indicator: (float(t.value), t.target_year) for t in wave.targets.order_by("pk")}
        return self._targets[wave.pk]

    def earlier(self, wave: Wave) -> list[Wave]:
        """Return `reports.selectors.earlier_waves` of WAVE's kind, oldest first."""
        if wave.pk not in self._earlier:
            self._earlier[wave.pk] = earlier_waves(wave, wave.kind)
        return self._earlier[wave.pk]

    def fingerprint(self, wave: Wave) -> str:
        """Return `reports.builders.data_fingerprint` of WAVE (once per run: its reports share it)."""
        from reports.builders import data_fingerprint  # the builders import this module

        if wave.pk not in self._fingerprints:
            self._fingerprints[wave.pk] = data_fingerprint(wave)
        return self._fingerprints[wave.pk]

    def key_labels(self, wave: Wave, instrument: str) -> KeyLabels:
        key = self.key(wave, instrument)
        if key.pk not in self._labels:
            self._labels[key.pk] = key_labels(key)
        return self._labels[key.pk]

    def labels(self, wave: Wave, instrument: str, by: str) -> npt.NDArray[np.str_]:
        """Return each respondent's level of BY: a demographic label, or in/out for 'group:NAME'."""
        table = self.design(wave, instrument).table
        if by.startswith("group:"):
            member = table.groups.get(by.removeprefix("group:"))
            if member is None:
                return np.full(table.n, OUTSIDE)
            return np.where(member, INSIDE, OUTSIDE)
        return np.where(table.labels[by] != "", table.labels[by], NO_LABEL)

    def weights(self, wave: Wave, instrument: str) -> FloatArray:
        return np.asarray(self.design(wave, instrument).design.weights, dtype=np.float64)

    # -- estimates ----------------------------------------------------------------------------

    def cells(
        self, wave: Wave, measure: Measure, by: tuple[str, ...] = (), *, level: float = 0.95
    ) -> dict[Domain, CellEstimate]:
        """Return the share of MEASURE per domain of the BY variables ({(): cell} overall).

        Respondents without a level of some BY variable are left out of every domain, as
        `assessment.estimation.estimate_by` does.
        """
        key = (wave.pk, measure, by, level)
        if key in self._cells:
            return self._cells[key]
        name = _cell_key(measure, by, level)
        if self.snapshots and (wave.pk, measure.instrument) not in self._designs:
            stored = self._snapshot(wave, measure.instrument)
            if stored is not None and name in stored[1]:
                self._cells[key] = {tuple(domain.split("|")) if domain else (): _decode(row) for domain, row in stored[1][name].items()}
                return self._cells[key]
        wd = self.design(wave, measure.instrument)
        y = self.benchmarks(wave, measure.instrument).benchmark(measure.benchmark, measure.dimension)
        if not by:
            found = _proportion(wd.design, y, measure.benchmark, None, level)
            self._cells[key] = {(): found[0]}
        else:
            columns = [self.labels(wave, measure.instrument, b) for b in by]
            missing = np.zeros(y.size, dtype=bool)
            for column in columns:
                missing |= column == NO_LABEL
            y = np.where(missing, np.nan, y)
            grouping: object = columns[0] if len(columns) == 1 else columns
            found = _proportion(wd.design, y, measure.benchmark, grouping, level)
            self._cells[key] = {
                tuple(str(part) for part in (c.domain or ())): c
                for c in found
                if c.domain is not None and NO_LABEL not in [str(part) for part in c.domain]
            }
        self._new.setdefault((wave.pk, measure.instrument), {})[name] = {
            "|".join(domain): _encode(c) for domain, c in self._cells[key].items()
        }
        return self._cells[key]

    def cell(self, wave: Wave, measure: Measure, by: tuple[str, ...] = (), domain: Domain = (), *, level: float = 0.95) -> CellEstimate | None:
        return self.cells(wave, measure, by, level=level).get(domain)

    def difference_from_rest(self, wave: Wave, measure: Measure, by: str, level_code: str) -> ContrastEstimate | None:
        """Return the share in BY = LEVEL_CODE minus the share in the rest of the county (t-test on the design df)."""
        wd = self.design(wave, measure.instrument)
        y = self.benchmarks(wave, measure.instrument).benchmark(measure.benchmark, measure.dimension)
        labels = self.labels(wave, measure.instrument, by)
        inside = labels == (INSIDE if by.startswith("group:") else level_code)
        if inside.sum() == 0 or inside.all():
            return None
        area = np.where(inside, INSIDE, OUTSIDE)
        try:
            found = estimate_domain_differences(
                wd.design, y, by=area, statistic="proportion", var=measure.benchmark, reference=OUTSIDE
            )
        except ValueError:
            return None
        return found[0] if found else None

    def weighted_shares(
        self, wave: Wave, instrument: str, matrix: FloatArray, member: npt.NDArray[np.bool_] | None = None
    ) -> FloatArray:
        """Return the weighted mean of each column of MATRIX among MEMBER (NaN entries left out)."""
        w = self.weights(wave, instrument)
        if member is not None:
            w = np.where(member, w, 0.0)
        present = ~np.isnan(matrix)
        totals = (w[:, None] * present).sum(axis=0)
        sums = (w[:, None] * np.where(present, matrix, 0.0)).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, sums / np.where(totals > 0, totals, 1.0), np.nan)

    # -- snapshots ----------------------------------------------------------------------------

    def _snapshot(self, wave: Wave, instrument: str) -> tuple[str, dict[str, Any]] | None:
        """Return (inputs, cells) of the stored snapshot for WAVE's current weights, or None."""
        from reports.models import EstimateSnapshot

        key = (wave.pk, instrument)
        if key not in self._stored:
            inputs = snapshot_inputs(wave, instrument)
            found = None
            if inputs is not None:
                row = EstimateSnapshot.objects.filter(wave=wave, instrument=instrument, inputs=inputs).values_list("cells", flat=True).first()
                found = (inputs, row if row is not None else {})
            self._stored[key] = found
        stored = self._stored[key]
        return stored if stored is not None and stored[1] else None

    def save(self) -> int:
        """Store the cells computed since the last save in the waves' snapshots, under the inputs
        read when their design was loaded; return how many tables of cells (a measure by a
        breakdown) were not stored before."""
        from reports.models import EstimateSnapshot

        stored = 0
        for (wave_pk, instrument), cells in self._new.items():
            if not cells:
                continue
            inputs = self._inputs.get((wave_pk, instrument))
            if inputs is None:
                continue
            with transaction.atomic():
                row, _ = EstimateSnapshot.objects.select_for_update().get_or_create(wave_id=wave_pk, instrument=instrument, inputs=inputs)
                stored += len(cells.keys() - row.cells.keys())
                row.cells = {**row.cells, **cells}
                row.save(update_fields=["cells", "updated_at"])
            self._stored[(wave_pk, instrument)] = (inputs, row.cells)
        self._new = {}
        return stored


def snapshot_inputs(wave: Wave, instrument: str) -> str | None:
    """Return the hash of what a wave's cells depend on, or None when it has no current weights."""
    weight_set = WeightSet.objects.filter(wave=wave, instrument__code=instrument, is_current=True).values_list("pk", "inputs_hash").first()
    if weight_set is None:
        return None
    try:
        key = wave_key(wave, instrument).pk
    except DataProblem:
        return None
    scores = scores_mark(wave.pk, key)
    text = f"{weight_set[0]}|{weight_set[1]}|{key}|{scores}|{settings.SUYANG_RELIABILITY_MIN_N}|{settings.SUYANG_RELIABILITY_MAX_CV}|{ESTIMATES_VERSION}"
    return hashlib.sha256(text.encode()).hexdigest()


def _cell_key(measure: Measure, by: tuple[str, ...], level: float) -> str:
    return f"{measure.benchmark}|{measure.dimension or ''}|{','.join(by)}|{level:g}"


def _encode(cell: CellEstimate) -> dict[str, Any]:
    """Return CELL as JSON (NaN as null: PostgreSQL's jsonb has no NaN)."""
    out: dict[str, Any] = {}
    for name, value in asdict(cell).items():
        if isinstance(value, float) and not math.isfinite(value):
            value = None if math.isnan(value) else ("inf" if value > 0 else "-inf")
        elif isinstance(value, tuple):
            value = [str(part) for part in value]
        out[name] = value
    return out


def _decode(row: dict[str, Any]) -> CellEstimate:
    values = dict(row)
    for name in ("estimate", "se", "ci_low", "ci_high", "weighted_n", "n_eff", "cv", "deff", "deff_replace", "level"):
        value = values.get(name)
        values[name] = math.nan if value is None else float(value)
    values["domain"] = tuple(values["domain"]) if values.get("domain") is not None else None
    return CellEstimate(**values)
