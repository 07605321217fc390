"""Item scoring and benchmark classification against a versioned scoring key.

Answers are encoded as option bit masks, one column per scored item, so a whole wave is
scored with a few array operations:

* an item earns its points when the selected option set equals the keyed set exactly
  (single choice: the one right option; multiple choice: all right options and no wrong
  one, otherwise 0 — the all-or-nothing rule of the national health-literacy monitoring
  questionnaire);
* dimension points are item points summed over the items tagged with the dimension (an item
  may count toward several);
* a benchmark holds when the points (or the share of the maximum) on its scope reach the
  threshold: the total, one dimension, or every dimension of a family.

References: 中国科协《中国公民科学素质基准》 scoring conventions (100-point scale, literate at 70);
国家卫生健康委 全国居民健康素养监测 (66 points, literate at 80% of the maximum).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

UNANSWERED = -1
# Scores are sums of item points; compare with a tolerance so 0.8 × 20 = 16 counts as 16.
_EPS = 1e-9


@dataclass(frozen=True)
class BenchmarkSpec:
    """A literacy rule. `scope` is 'total', 'family:NAME' or 'dimension:CODE'."""

    name: str
    scope: str
    basis: str  # "points" or "share"
    threshold: float
    levels: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class KeyArrays:
    item_names: tuple[str, ...]
    option_index: tuple[Mapping[str, int], ...]
    correct_mask: npt.NDArray[np.int64]
    points: npt.NDArray[np.float64]
    dimension_codes: tuple[str, ...]
    dimension_families: tuple[str, ...]
    incidence: npt.NDArray[np.float64]  # (items, dimensions) 0/1
    benchmarks: tuple[BenchmarkSpec, ...]

    @property
    def max_points(self) -> float:
        return float(self.points.sum())

    @property
    def dimension_max(self) -> npt.NDArray[np.float64]:
        return np.asarray(self.points @ self.incidence, dtype=np.float64)


def key_arrays(
    *,
    item_names: Sequence[str],
    options: Sequence[Sequence[str]],
    correct: Sequence[Sequence[str]],
    points: Sequence[float],
    dimension_codes: Sequence[str],
    dimension_families: Sequence[str],
    item_dimensions: Sequence[Sequence[str]],
    benchmarks: Sequence[BenchmarkSpec] = (),
) -> KeyArrays:
    """Return the arrays for a key; raise ValueError on an inconsistent key."""
    k = len(item_names)
    if not (len(options) == len(correct) == len(points) == len(item_dimensions) == k):
        raise ValueError("every scored item needs options, a correct set, points and dimensions")
    option_index: list[dict[str, int]] = []
    masks = np.zeros(k, dtype=np.int64)
    for j, (name, opts, right) in enumerate(zip(item_names, options, correct)):
        if len(opts) > 62:
            raise ValueError(f"item {name}: at most 62 options can be scored")
        index = {opt: i for i, opt in enumerate(opts)}
        missing = [c for c in right if c not in index]
        if missing or not right:
            raise ValueError(f"item {name}: correct answer {missing or right!r} is not among its options")
        option_index.append(index)
        masks[j] = sum(1 << index[c] for c in set(right))
    dim_pos = {code: i for i, code in enumerate(dimension_codes)}
    incidence = np.zeros((k, len(dimension_codes)), dtype=np.float64)
    for j, codes in enumerate(item_dimensions):
        for code in codes:
            if code not in dim_pos:
                raise ValueError(f"item {item_names[j]}: unknown dimension {code!r}")
            incidence[j, dim_pos[code]] = 1.0
    for bench in benchmarks:
        kind, _, ref = bench.scope.partition(":")
        if bench.scope != "total" and not (
            (kind == "family" and ref in dimension_families) or (kind == "dimension" and ref in dim_pos)
        ):
            raise ValueError(f"benchmark {bench.name}: scope {bench.scope!r} matches no dimension")
        if bench.basis not in ("points", "share"):
            raise ValueError(f"benchmark {bench.name}: basis must be 'points' or 'share'")
    return KeyArrays(
        item_names=tuple(item_names),
        option_index=tuple(option_index),
        correct_mask=masks,
        points=np.asarray(points, dtype=np.float64),
        dimension_codes=tuple(dimension_codes),
        dimension_families=tuple(dimension_families),
        incidence=incidence,
        benchmarks=tuple(benchmarks),
    )


def encode_answers(key: KeyArrays, rows: Sequence[Mapping[str, Any]]) -> npt.NDArray[np.int64]:
    """Return the (respondents, items) option bit masks; UNANSWERED where no answer was given.

    An answer naming an option the item does not have encodes as 0 (never correct).
    """
    out = np.full((len(rows), len(key.item_names)), UNANSWERED, dtype=np.int64)
    for i, row in enumerate(rows):
        for j, name in enumerate(key.item_names):
            value = row.get(name)
            if value is None or value == "" or value == []:
                continue
            chosen = value if isinstance(value, list) else str(value).split()
            index = key.option_index[j]
            mask = 0
            for option in chosen:
                position = index.get(str(option))
                if position is None:
                    mask = 0
                    break
                mask |= 1 << position
            out[i, j] = mask
    return out


@dataclass(frozen=True)
class ScoreResult:
    item_points: npt.NDArray[np.float64]  # (n, items)
    answered: npt.NDArray[np.bool_]  # (n, items)
    total: npt.NDArray[np.float64]  # (n,)
    dimension_points: npt.NDArray[np.float64]  # (n, dimensions)
    flags: Mapping[str, npt.NDArray[np.bool_]]  # benchmark -> (n,) or (n, dimensions in scope)
    flag_dimensions: Mapping[str, tuple[str, ...]]  # benchmark -> dimension codes ('' for total)
    levels: Mapping[str, list[str]]

    def benchmark_json(self) -> dict[str, list[Any]]:
        """Return per benchmark a list over respondents: a bool, or {dimension: bool}."""
        out: dict[str, list[Any]] = {}
        for name, flags in self.flags.items():
            dims = self.flag_dimensions[name]
            if flags.ndim == 1:
                out[name] = [bool(v) for v in flags]
            else:
                out[name] = [{d: bool(v) for d, v in zip(dims, row)} for row in flags]
        return out


def score(key: KeyArrays, answers: npt.NDArray[np.int64]) -> ScoreResult:
    """Return item, total and dimension points and benchmark flags for encoded ANSWERS."""
    answers = np.asarray(answers, dtype=np.int64)
    if answers.ndim != 2 or answers.shape[1] != len(key.item_names):
        raise ValueError(f"answers must have shape (n, {len(key.item_names)})")
    answered = answers != UNANSWERED
    correct = answered & (answers == key.correct_mask[np.newaxis, :])
    item_points = np.where(correct, key.points[np.newaxis, :], 0.0)
    total = item_points.sum(axis=1)
    dimension_points = item_points @ key.incidence
    dim_max = key.dimension_max
    flags: dict[str, npt.NDArray[np.bool_]] = {}
    flag_dims: dict[str, tuple[str, ...]] = {}
    levels: dict[str, list[str]] = {}
    for bench in key.benchmarks:
        got: npt.NDArray[np.float64]
        top: npt.NDArray[np.float64]
        dims: tuple[str, ...]
        if bench.scope == "total":
            got, top, dims = total, np.asarray(key.max_points), ("",)
        else:
            kind, _, ref = bench.scope.partition(":")
            cols = [
                j for j, (code, family) in enumerate(zip(key.dimension_codes, key.dimension_families))
                if (kind == "family" and family == ref) or (kind == "dimension" and code == ref)
            ]
            got, top = dimension_points[:, cols], dim_max[cols]
            dims = tuple(key.dimension_codes[j] for j in cols)
        flags[bench.name] = _meets(got, top, bench.basis, bench.threshold)
        flag_dims[bench.name] = dims
        if bench.levels and bench.scope == "total":
            levels[bench.name] = classify_levels(total, key.max_points, bench.basis, bench.levels)
    return ScoreResult(item_points, answered, total, dimension_points, flags, flag_dims, levels)


def _meets(
    got: npt.NDArray[np.float64], top: npt.NDArray[np.float64], basis: str, threshold: float
) -> npt.NDArray[np.bool_]:
    if basis == "share":
        return np.asarray(got >= threshold * top - _EPS)
    return np.asarray(got >= threshold - _EPS)


def classify_levels(
    total: npt.NDArray[np.float64], max_points: float, basis: str, levels: Sequence[tuple[str, float]]
) -> list[str]:
    """Return the name of the highest level each total reaches (levels are name, cut-off)."""
    ordered = sorted(levels, key=lambda level: -level[1])
    out = [""] * len(total)
    for i, value in enumerate(total):
        for name, cut in ordered:
            if _meets(np.asarray(value), np.asarray(max_points), basis, cut):
                out[i] = name
                break
    return out
