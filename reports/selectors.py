"""Reads for reports: which waves and scopes can be reported, and who may see which report.

Also the score arrays of a wave's respondents (benchmarks, items, dimensions) in one query:
reports need every benchmark and every item of tens of thousands of responses, and one
`scoring.adapters.benchmark_values` call per benchmark would read the same rows again and again.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db.models import Count, Max, QuerySet, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from assessment import access
from assessment.models import Case, County, Role, SampledUnit, Stratum, Town, Wave, WeightSet
from assessment.names import shown_name
from questionnaires.models import GroupRule, Item, ResponseScore, ScoringKey
from scoring.adapters import DataProblem, wave_key
from scoring.keys import KeyArrays

FloatArray = npt.NDArray[np.float64]


class ReportRequestError(ValueError):
    """A report asked for that does not exist (unknown wave, town or group); the message says which."""


# -- waves and scopes -------------------------------------------------------------------------


def household_waves(county_id: int) -> QuerySet[Wave]:
    """Return the county's household waves, newest first: each has a county report."""
    return Wave.objects.filter(county_id=county_id, kind=Wave.Kind.HOUSEHOLD).order_by("-year", "code")


def report_county_id(code: str | None) -> int | None:
    """Return the id of the county CODE (None for no code); raise ReportRequestError if there is none."""
    if not code:
        return None
    found = County.objects.filter(code=code).values_list("pk", flat=True).first()
    if found is None:
        raise ReportRequestError(_("没有代码为“%(code)s”的县。") % {"code": code})
    return found


def report_wave(*, code: str, county_id: int | None = None) -> Wave:
    """Return the household wave CODE; raise ReportRequestError naming the known waves otherwise."""
    waves = Wave.objects.filter(code=code).select_related("county")
    if county_id is not None:
        waves = waves.filter(county_id=county_id)
    found = list(waves[:2])
    known_waves = Wave.objects.filter(kind=Wave.Kind.HOUSEHOLD)
    if county_id is not None:
        known_waves = known_waves.filter(county_id=county_id)
    known = "、".join(sorted(set(known_waves.values_list("code", flat=True)))) or "—"
    if not found:
        raise ReportRequestError(_("没有代码为“%(code)s”的调查轮次（现有：%(known)s）。") % {"code": code, "known": known})
    if len(found) > 1:
        raise ReportRequestError(_("多个县都有代码为“%(code)s”的调查轮次：请指明县。") % {"code": code})
    wave = found[0]
    if wave.kind != Wave.Kind.HOUSEHOLD:
        raise ReportRequestError(
            _("“%(code)s”是%(kind)s：其结果在 %(year)s 年入户调查的县报告中（现有轮次：%(known)s）。")
            % {"code": code, "kind": wave.get_kind_display(), "year": wave.year, "known": known}
        )
    return wave


def enterprise_wave_of(wave: Wave) -> Wave | None:
    """Return the enterprise (occupational health) wave of the same county and year, if any."""
    return Wave.objects.filter(county_id=wave.county_id, year=wave.year, kind=Wave.Kind.ENTERPRISE).order_by("code").first()


def earlier_waves(wave: Wave, kind: str = Wave.Kind.HOUSEHOLD) -> list[Wave]:
    """Return the county's waves of KIND before WAVE's year that have current weights, oldest first."""
    return list(
        Wave.objects.filter(county_id=wave.county_id, kind=kind, year__lt=wave.year, weight_sets__is_current=True)
        .distinct()
        .order_by("year")
    )


def county_towns(wave: Wave) -> list[Town]:
    return list(Town.objects.filter(county_id=wave.county_id).order_by("order", "code"))


def report_town(wave: Wave, code: str) -> Town:
    town = Town.objects.filter(county_id=wave.county_id, code=code).first()
    if town is None:
        known = "、".join(t.code for t in county_towns(wave))
        raise ReportRequestError(
            _("%(county)s没有代码为“%(code)s”的乡镇（街道）（现有：%(known)s）。")
            % {"county": shown_name(wave.county.name_zh, wave.county.name_en), "code": code, "known": known}
        )
    return town


def population_group_labels(wave: Wave) -> list[tuple[str, str, str]]:
    """Return (name, Chinese label, English label) of the wave's demographics key's groups, in the key's order."""
    key = wave_key(wave, "demographics")
    return list(GroupRule.objects.filter(key=key).order_by("order").values_list("name", "label_zh", "label_en"))


def population_groups(wave: Wave) -> dict[str, str]:
    """Return {group name: Chinese label} of the wave's demographics key, in the key's order."""
    return {name: zh for name, zh, _en in population_group_labels(wave)}


def report_group(wave: Wave, name: str) -> tuple[str, str]:
    groups = population_groups(wave)
    if name not in groups:
        raise ReportRequestError(_("没有代码为“%(code)s”的重点人群（现有：%(known)s）。") % {"code": name, "known": "、".join(groups)})
    return name, groups[name]


# -- who may see what ---------------------------------------------------------------------------


def can_view_report(user: access.UserLike, wave: Wave, kind: str, town: Town | None = None) -> bool:
    """Return whether USER may open the report: county and group reports need the whole county in
    scope (group reports cover every town); a town's report needs that town (assessment.access)."""
    if kind == "town":
        return town is not None and access.can_view_town_report(user, wave, town)
    if kind == "group":
        return access.can_view_county_report(user, wave) and access.town_scope(user) is None
    return access.can_view_county_report(user, wave)


def can_run_batch(user: access.UserLike, wave: Wave) -> bool:
    """A batch holds every town's report, so it needs the whole county in scope."""
    return can_view_report(user, wave, "group")


def has_report_rights(user: access.UserLike) -> bool:
    profile = access.profile_of(user)
    return profile is not None and profile.role in (Role.ADMIN, Role.OFFICIAL, Role.SUPERVISOR)


@dataclass(frozen=True)
class ReportEntry:
    """One report a user may download: its kind, scope and title."""

    kind: str
    code: str  # town code or group name ("" for the county)
    title: str


def visible_reports(user: access.UserLike, wave: Wave) -> list[ReportEntry]:
    """Return the reports of WAVE that USER may download: county, then towns, then groups, titled
    in the request's language (the reports themselves are Chinese)."""
    if not access.can_view_county_report(user, wave):
        return []
    entries = [ReportEntry("county", "", _("%(county)s全县报告") % {"county": shown_name(wave.county.name_zh, wave.county.name_en)})]
    scope = access.town_scope(user)
    towns = county_towns(wave) if scope is None else list(scope.order_by("order", "code"))
    entries += [
        ReportEntry("town", t.code, _("%(town)s报告") % {"town": shown_name(t.name_zh, t.name_en)})
        for t in towns if t.county_id == wave.county_id
    ]
    if scope is None:
        try:
            rules = population_group_labels(wave)
        except DataProblem:
            rules = []
        entries += [ReportEntry("group", rule, _("%(group)s报告") % {"group": shown_name(zh, english)}) for rule, zh, english in rules]
    return entries


# -- score arrays -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchmarkArrays:
    """Benchmark flags of a design's respondents (rows in response-id order): 1, 0 or NaN (not scored)."""

    flags: dict[tuple[str, str], FloatArray]  # (benchmark, dimension or "")

    def benchmark(self, name: str, dimension: str | None = None) -> FloatArray:
        found = self.flags.get((name, dimension or ""))
        if found is None:
            raise DataProblem(_("没有达标规则“%(benchmark)s”的得分。") % {"benchmark": f"{name}:{dimension}" if dimension else name})
        return found


def _score_rows(wave_id: int, key: ScoringKey) -> QuerySet[ResponseScore]:
    # By wave, not by a list of response ids: an IN list of 10,000 ids is slow on SQLite.
    return ResponseScore.objects.filter(key=key, response__wave_id=wave_id)


def scores_marks(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """Return, per (wave id, key id), how many of the wave's responses are scored under the key
    and the newest score's id, in one query.

    Scores are only added (once per response and key: a submission, a rescoring) or deleted
    with their response, so the mark changes whenever figures computed from them could, e.g.
    when responses whose scoring failed are scored later under the same key and weights.
    """
    marks = dict.fromkeys(pairs, "0:None")
    if pairs:
        rows = (
            ResponseScore.objects.filter(key_id__in={k for _, k in pairs}, response__wave_id__in={w for w, _ in pairs})
            .values_list("response__wave_id", "key_id")
            .annotate(n=Count("pk"), last=Max("pk"))
            .order_by()
        )
        for wave_id, key_id, n, last in rows:
            if (wave_id, key_id) in marks:
                marks[(wave_id, key_id)] = f"{n}:{last}"
    return marks


def scores_mark(wave_id: int, key_id: int) -> str:
    """Return `scores_marks` of one wave and key."""
    return scores_marks({(wave_id, key_id)})[(wave_id, key_id)]


def benchmark_arrays(wave_id: int, response_ids: npt.NDArray[np.int64], key: ScoringKey, arrays: KeyArrays) -> BenchmarkArrays:
    """Return every benchmark flag under KEY (compiled as ARRAYS) of RESPONSE_IDS of a wave, in one query.

    The database extracts each flag from the JSON (SQLite json_extract, PostgreSQL ->>), which
    is several times faster than decoding every response's JSON in Python.
    """
    columns: list[tuple[str, str]] = []
    for rule in arrays.benchmarks:
        if rule.scope == "total":
            columns.append((rule.name, ""))
        elif rule.scope.startswith("family:"):
            family = rule.scope.removeprefix("family:")
            columns += [(rule.name, code) for code, fam in zip(arrays.dimension_codes, arrays.dimension_families) if fam == family]
        elif rule.scope.startswith("dimension:"):
            columns.append((rule.name, rule.scope.removeprefix("dimension:")))
    position = {rid: i for i, rid in enumerate(response_ids.tolist())}
    flags = np.full((len(columns), response_ids.size), np.nan)
    if columns and position:
        paths = [KT(f"benchmarks__{name}__{dim}" if dim else f"benchmarks__{name}") for name, dim in columns]
        for rid, *values in _score_rows(wave_id, key).values_list("response_id", *paths).iterator(chunk_size=5000):
            i = position.get(rid)
            if i is None:
                continue
            for j, value in enumerate(values):
                if value is not None:
                    flags[j, i] = 1.0 if value in ("true", "1", True, 1) else 0.0
    return BenchmarkArrays({column: flags[j] for j, column in enumerate(columns)})


@dataclass(frozen=True)
class ItemArrays:
    """Item and dimension scores of a design's respondents (rows in response-id order; NaN: none)."""

    item_names: tuple[str, ...]
    item_correct: FloatArray  # (respondents, items): 1 for full points, else 0
    dimension_codes: tuple[str, ...]
    dimension_families: tuple[str, ...]
    dimension_share: FloatArray  # (respondents, dimensions): points / the dimension's maximum


def item_arrays(wave_id: int, response_ids: npt.NDArray[np.int64], key: ScoringKey, arrays: KeyArrays) -> ItemArrays:
    """Return the item and dimension scores under KEY (compiled as ARRAYS) of RESPONSE_IDS of a wave, in one query.

    Items score all or nothing, so a dimension's points are the points of its items answered right.
    """
    position = {rid: i for i, rid in enumerate(response_ids.tolist())}
    n, names = response_ids.size, arrays.item_names
    item_rows: list[list[Any]] = [[None] * len(names)] * n
    # Read the JSON as text and decode it here: Django's JSONField conversion costs several times more.
    rows = _score_rows(wave_id, key).values_list("response_id", Cast("item_points", TextField()))
    for rid, item_text in rows.iterator(chunk_size=5000):
        i = position.get(rid)
        if i is not None:
            items = json.loads(item_text or "{}")
            item_rows[i] = [items.get(name) for name in names]
    got = np.array(item_rows, dtype=np.float64).reshape(n, len(names))  # None becomes NaN
    correct = np.where(np.isnan(got), np.nan, (got >= arrays.points - 1e-9).astype(np.float64))
    scored = ~np.all(np.isnan(got), axis=1)
    dim_max = arrays.dimension_max
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = (np.nan_to_num(got) @ arrays.incidence) / np.where(dim_max > 0, dim_max, np.nan)
    shares[~scored] = np.nan
    return ItemArrays(
        item_names=names,
        item_correct=correct,
        dimension_codes=arrays.dimension_codes,
        dimension_families=arrays.dimension_families,
        dimension_share=shares,
    )


@dataclass(frozen=True)
class KeyLabels:
    """Chinese labels of a key's instrument, items and dimensions."""

    instrument: str
    age_min: int | None
    age_max: int | None
    items: dict[str, tuple[str, tuple[str, ...]]]  # name -> (question text, dimension codes)
    dimensions: dict[str, tuple[str, str]]  # code -> (family, label)


def key_labels(key: ScoringKey) -> KeyLabels:
    version = key.instrument_version
    instrument = version.instrument
    dims = {
        code: (family, label)
        for code, family, label in version.dimensions.order_by("family", "order").values_list("code", "family", "label_zh")
    }
    item_dims: dict[str, list[str]] = defaultdict(list)
    for name, code in key.item_keys.values_list("item__name", "dimensions__code"):
        if code:
            item_dims[name].append(code)
    texts = dict(Item.objects.filter(version=version).values_list("name", "label_zh"))
    return KeyLabels(
        instrument=instrument.name_zh,
        age_min=instrument.age_min,
        age_max=instrument.age_max,
        items={name: (texts.get(name, name), tuple(item_dims.get(name, ()))) for name in texts},
        dimensions=dims,
    )


# -- sample and weights -------------------------------------------------------------------------


@dataclass(frozen=True)
class StratumRow:
    code: str
    town: str
    frame_units: int
    psu_allocated: int
    psu_sampled: int
    cases: int
    dispositions: dict[str, int]


def sample_strata(wave: Wave) -> list[StratumRow]:
    """Return the wave's strata (towns) with frame and sample sizes and case outcomes."""
    strata = list(
        Stratum.objects.filter(design__wave=wave, design__draws__is_current=True)
        .select_related("town")
        .distinct()
        .order_by("town__order", "code")
    )
    sampled = dict(
        SampledUnit.objects.filter(draw__design__wave=wave, draw__is_current=True)
        .values_list("stratum_id")
        .annotate(n=Count("pk"))
    )
    outcomes: dict[str, dict[str, int]] = defaultdict(dict)
    for town_code, disposition, n in (
        Case.objects.filter(wave=wave).values_list("town__code", "disposition").annotate(n=Count("pk"))
    ):
        outcomes[town_code][disposition] = n
    rows = []
    for s in strata:
        code = s.town.code if s.town else s.code
        counts = outcomes.get(code, {})
        rows.append(
            StratumRow(
                code=code,
                town=s.town.name_zh if s.town else s.code,
                frame_units=s.frame_units,
                psu_allocated=s.psu_allocated,
                psu_sampled=int(sampled.get(s.pk, 0)),
                cases=sum(counts.values()),
                dispositions=counts,
            )
        )
    return rows


def wave_dispositions(wave: Wave) -> dict[str, int]:
    return dict(Case.objects.filter(wave=wave).values_list("disposition").annotate(n=Count("pk")))


def current_weight_sets(wave: Wave) -> list[WeightSet]:
    return list(
        WeightSet.objects.filter(wave=wave, is_current=True).select_related("instrument", "margin_set").order_by("instrument__code")
    )
