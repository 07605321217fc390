"""Reads for fieldwork: case lists, outcome rates, progress, workload and precision outlook.

Monitoring figures are computed over the cases of the wave's current draws in the towns a
user may watch (`access.monitored_towns`).
"""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet

from assessment import access
from assessment.access import UserLike
from assessment.estimation import wave_design
from assessment.models import Case, SampledUnit, Stratum, Town, Wave, WaveInstrument, Weight, WeightSet
from assessment.names import shown_name
from assessment.precision import ci_width, ci_width_projected
from assessment.rates import (
    DispositionCounts,
    OutcomeRates,
    counts_from_dispositions,
    eligibility_known_share,
    outcome_rates,
)
from assessment.services.designs import DEFAULT_PARAMETERS
from questionnaires.models import Response
from scoring import design_create, estimate_proportion, weights_base
from scoring.adapters import DEMOGRAPHICS, DataProblem, benchmark_values, wave_key

RATE_GROUPS = {"wave": "wave_id", "town": "town_id", "psu": "sampled_unit_id", "enumerator": "assigned_to_id"}


def wave_cases(wave: Wave, towns: Iterable[Town] | QuerySet[Town] | None = None) -> QuerySet[Case]:
    """Return the cases of WAVE's current draws (in TOWNS when given)."""
    cases = Case.objects.filter(wave=wave, draw__is_current=True)
    return cases if towns is None else cases.filter(town__in=towns)


def cases_for(
    user: UserLike,
    *,
    wave: Wave | None = None,
    town: str | None = None,
    psu: int | None = None,
    disposition: str | None = None,
    enumerator: int | None = None,
) -> QuerySet[Case]:
    """Return the cases USER may see, filtered, with what a list shows."""
    cases = access.visible_cases(user).filter(draw__is_current=True)
    if wave is not None:
        cases = cases.filter(wave=wave)
    if town:
        cases = cases.filter(town__code=town)
    if psu:
        cases = cases.filter(sampled_unit_id=psu)
    if disposition:
        cases = cases.filter(disposition=disposition)
    if enumerator:
        cases = cases.filter(assigned_to_id=enumerator)
    return cases.select_related("town", "sampled_unit__unit", "assigned_to", "household").order_by("code")


@dataclass(frozen=True)
class RateRow:
    key: Any
    label: str
    rates: OutcomeRates


def _labels(by: str, keys: Iterable[Any]) -> dict[Any, tuple[Any, str]]:
    """Return {group key: (sort key, label)}: towns in their county order, the rest by label."""
    ids = [k for k in keys if k is not None]
    if by == "town":
        return {t.pk: ((t.order, t.code), shown_name(t.name_zh, t.name_en)) for t in Town.objects.filter(pk__in=ids)}
    if by == "psu":
        units = SampledUnit.objects.filter(pk__in=ids).select_related("unit__town")
        return {s.pk: ((s.unit.town.order, s.unit.code), f"{s.unit.name}（{s.unit.code}）") for s in units}
    if by == "enumerator":
        return {pk: (name, name) for pk, name in get_user_model().objects.filter(pk__in=ids).values_list("pk", "username")}
    if by == "wave":
        return {pk: (zh, shown_name(zh, en)) for pk, zh, en in Wave.objects.filter(pk__in=ids).values_list("pk", "name_zh", "name_en")}
    raise ValueError(f"cannot group rates by {by!r}")


def wave_e(wave: Wave) -> float:
    """Return the wave's e: the eligible share among all its current cases of known eligibility.

    Every view of the wave (a supervisor's town, an enumerator's cases, the county) uses this one
    e, so a town's RR3 is the same number wherever it is shown.
    """
    tally = dict(wave_cases(wave).values_list("disposition").annotate(n=Count("pk")).order_by())
    return eligibility_known_share(counts_from_dispositions(tally))


def rates_by(cases: QuerySet[Case], by: str, *, e: float | None = None) -> tuple[OutcomeRates, list[RateRow]]:
    """Return the AAPOR rates of CASES overall and per group BY (wave, town, psu, enumerator).

    Every group uses the same e: the one given, or the overall estimate (eligible share among
    the cases of known eligibility), so small groups are not left to an unstable e of their own.
    """
    if by not in RATE_GROUPS:
        raise ValueError(f"cannot group rates by {by!r}")
    field = RATE_GROUPS[by]
    groups: dict[Any, dict[str, int]] = defaultdict(dict)
    for key, disposition, n in cases.values_list(field, "disposition").annotate(n=Count("pk")).order_by():
        groups[key][disposition] = groups[key].get(disposition, 0) + n
    counts = {key: counts_from_dispositions(d) for key, d in groups.items()}
    total = sum(counts.values(), DispositionCounts())
    overall = outcome_rates(total, e)
    labels = _labels(by, counts)
    rows = sorted(
        ((labels.get(key, ("~", "—")), key, c) for key, c in counts.items()), key=lambda row: (str(row[0][0]), row[0][0])
    )
    return overall, [RateRow(key, label, outcome_rates(c, overall.e if e is None else e)) for (_, label), key, c in rows]


@dataclass(frozen=True)
class StratumProgress:
    stratum: str
    town: str
    psus: int
    cases: int
    completes: int
    partials: int
    open: int  # pending or not yet final
    target: int
    target_assumed: bool  # no stored target: households × assumed response and eligibility rates

    @property
    def share(self) -> float:
        return self.completes / self.target if self.target else math.nan


def progress_by_stratum(wave: Wave, towns: QuerySet[Town]) -> list[StratumProgress]:
    """Return completed interviews against the target per stratum of the wave's current designs."""
    strata = (
        Stratum.objects.filter(design__wave=wave, design__draws__is_current=True, town__in=towns)
        .select_related("town", "design")
        .distinct()
        .order_by("town__order", "code")
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for stratum_id, disposition, n in (
        wave_cases(wave, towns).values_list("sampled_unit__stratum_id", "disposition").annotate(n=Count("pk")).order_by()
    ):
        counts[stratum_id][disposition] = n
    psus = dict(
        SampledUnit.objects.filter(draw__design__wave=wave, draw__is_current=True, stratum__in=strata)
        .values_list("stratum_id").annotate(n=Count("pk")).order_by()
    )
    rows = []
    for s in strata:
        c = counts.get(s.pk, {})
        assumed = s.target_completes == 0
        params = {**DEFAULT_PARAMETERS, **s.design.parameters}
        target = s.target_completes or round(
            s.psu_allocated * s.design.households_per_psu * float(params["response_rate"]) * float(params["eligibility_rate"])
        )
        rows.append(
            StratumProgress(
                stratum=s.code, town=shown_name(s.town.name_zh, s.town.name_en) if s.town else "", psus=psus.get(s.pk, 0), cases=sum(c.values()),
                completes=c.get("complete", 0), partials=c.get("partial", 0),
                open=c.get("pending", 0) + c.get("unknown", 0), target=target, target_assumed=assumed,
            )
        )
    return rows


@dataclass(frozen=True)
class EnumeratorLoad:
    user_id: int
    username: str
    assigned: int
    completes: int
    interviews: int  # households they interviewed (interviewer-mode responses)
    median_minutes: float  # median over those households of the summed questionnaire durations


def enumerator_workload(wave: Wave, towns: QuerySet[Town]) -> list[EnumeratorLoad]:
    """Return, per enumerator with cases or interviews in TOWNS, their load, completes and interview length."""
    cases = wave_cases(wave, towns)
    assigned: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for user_id, disposition, n in cases.filter(assigned_to__isnull=False).values_list("assigned_to_id", "disposition").annotate(n=Count("pk")).order_by():
        assigned[user_id][0] += n
        if disposition == "complete":
            assigned[user_id][1] += n
    seconds: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for user_id, case_id, d in Response.objects.filter(
        wave=wave, case__in=cases, mode=Response.Mode.INTERVIEWER, enumerator__isnull=False
    ).exclude(review=Response.Review.REJECTED).values_list("enumerator_id", "case_id", "duration_seconds"):
        seconds[user_id][case_id] += float(d or 0)
    names = dict(get_user_model().objects.filter(pk__in=set(assigned) | set(seconds)).values_list("pk", "username"))
    rows = []
    for user_id in set(assigned) | set(seconds):
        durations = [s for s in seconds.get(user_id, {}).values() if s > 0]
        rows.append(
            EnumeratorLoad(
                user_id=user_id, username=names.get(user_id, "?"), assigned=assigned[user_id][0],
                completes=assigned[user_id][1], interviews=len(seconds.get(user_id, {})),
                median_minutes=statistics.median(durations) / 60 if durations else math.nan,
            )
        )
    return sorted(rows, key=lambda r: r.username)


@dataclass(frozen=True)
class PrecisionRow:
    instrument: str
    title: str
    benchmark: str
    town: str  # '' for the county
    n: int
    estimate: float
    se: float
    width: float
    n_target: int
    width_target: float
    gain_per_10: float  # how much 10 more interviews would narrow the interval now
    source: str  # the weights behind the estimate


def headline_instruments(wave: Wave) -> list[tuple[str, str, str]]:
    """Return (instrument code, headline benchmark, instrument name) of the wave's scored instruments, in order."""
    out = []
    for wi in WaveInstrument.objects.filter(wave=wave).select_related("instrument_version__instrument").order_by("order"):
        code = wi.instrument_version.instrument.code
        if code == DEMOGRAPHICS:
            continue
        try:
            key = wave_key(wave, code)
        except DataProblem:
            continue
        rule = key.benchmarks.filter(scope="total").order_by("order").first()
        if rule is not None:
            instrument = wi.instrument_version.instrument
            out.append((code, rule.name, shown_name(instrument.name_zh, instrument.name_en)))
    return out


@dataclass(frozen=True)
class IndicatorData:
    design: Any
    y: np.ndarray
    town: np.ndarray  # town name per row
    source: str  # the weights used: "W2025-1" (current weight set) or "1/π"


def _indicator_data(wave: Wave, code: str, benchmark: str) -> IndicatorData | None:
    """Return the design of CODE's respondents: the current weight set's if it is up to date, else 1/π."""
    names = {code: shown_name(zh, en) for code, zh, en in Town.objects.filter(county_id=wave.county_id).values_list("code", "name_zh", "name_en")}
    try:
        wd = wave_design(wave, code)
    except DataProblem:
        wd = None
    if wd is not None:
        y = benchmark_values(wd.table.response_id, wd.key, benchmark)
        town = np.asarray([names.get(t, t) for t in wd.table.labels["town"].tolist()], dtype=str)
        return IndicatorData(wd.design, y, town, wd.weight_set.label)
    data = list(
        Response.objects.filter(
            wave=wave, instrument_version__instrument__code=code, case__draw__is_current=True, case__prob_person__isnull=False
        )
        .exclude(review=Response.Review.REJECTED)
        .order_by("pk")
        .values_list(
            "pk", "case__code", "case__prob_psu", "case__prob_household", "case__prob_person", "case__town__name_zh",
            "case__sampled_unit__stratum__code", "case__sampled_unit__certainty", "case__sampled_unit__unit__code",
        )
    )
    if not data:
        return None
    ids = np.asarray([r[0] for r in data], dtype=np.int64)
    y = benchmark_values(ids, wave_key(wave, code), benchmark)
    keep = np.isfinite(y)
    if keep.sum() < 2:
        return None
    pi = np.asarray([r[2] * r[3] * r[4] for r in data])
    # As the weights do: a certainty PSU is its own stratum with households as PSUs.
    stratum = np.asarray([f"{r[6]}-{r[8]}" if r[7] else r[6] for r in data], dtype=str)
    psu = np.asarray([r[1] if r[7] else r[8] for r in data], dtype=str)
    town = np.asarray([r[5] for r in data], dtype=str)
    design = design_create(weights_base(pi[keep]), strata=stratum[keep], psu=psu[keep], lonely_psu="adjust")
    return IndicatorData(design, y[keep], town[keep], "1/π")


def precision_outlook(wave: Wave, towns: QuerySet[Town], *, level: float = 0.95) -> list[PrecisionRow]:
    """Return the interval width of each headline indicator now and projected at the target sample.

    The estimate uses the interviews already in: with the current weight set when it is up to
    date, otherwise weighted by 1/π (no nonresponse adjustment or raking yet), with Taylor
    linearisation.  The projection assumes that the design effect and the proportion stay as
    they are, so the standard error falls as 1/√n (`precision.ci_width_projected`); the
    instrument's target is the completed-household target times the share of completed
    households that answered it (e.g. only adults take the science test).
    """
    visible = {shown_name(zh, en) for zh, en in towns.values_list("name_zh", "name_en")}
    targets: dict[str, int] = defaultdict(int)
    for p in progress_by_stratum(wave, Town.objects.filter(county_id=wave.county_id)):
        targets[p.town] += p.target
    households_done: dict[str, int] = {
        shown_name(zh, en): n for zh, en, n in
        wave_cases(wave).filter(disposition__in=("complete", "partial")).values_list("town__name_zh", "town__name_en").annotate(n=Count("pk")).order_by()
    }
    rows: list[PrecisionRow] = []
    order = {shown_name(zh, en): o for zh, en, o in Town.objects.filter(county_id=wave.county_id).values_list("name_zh", "name_en", "order")}
    for code, benchmark, title in headline_instruments(wave):
        data = _indicator_data(wave, code, benchmark)
        if data is None:
            continue
        cells = [("", c) for c in estimate_proportion(data.design, data.y, var=benchmark, level=level)]
        by_town = estimate_proportion(data.design, data.y, var=benchmark, by=data.town, level=level)
        cells += sorted(((str((c.domain or ("",))[0]), c) for c in by_town), key=lambda nc: order.get(nc[0], 999))
        answered = {name: int(n) for name, n in zip(*np.unique(data.town[np.isfinite(data.y)], return_counts=True))}
        for name, cell in cells:
            if name and name not in visible:
                continue
            if name:
                done, target = households_done.get(name, 0), targets.get(name, 0)
                have = answered.get(name, 0)
            else:
                done, target = sum(households_done.values()), sum(targets.values())
                have = sum(answered.values())
            n = cell.n
            n_target = max(n, round(target * have / done) if done else target)
            ok = n >= 2 and math.isfinite(cell.se) and cell.se > 0
            width = ci_width(cell.se, level) if ok else math.nan
            rows.append(
                PrecisionRow(
                    instrument=code, title=title, benchmark=benchmark, town=name, n=n, estimate=cell.estimate, se=cell.se, width=width,
                    n_target=n_target, width_target=ci_width_projected(cell.se, n, n_target, level) if ok else math.nan,
                    gain_per_10=width - ci_width_projected(cell.se, n, n + 10, level) if ok else math.nan,
                    source=data.source,
                )
            )
    return rows


def weights_stale(wave: Wave) -> list[WeightSet]:
    """Return the wave's current weight sets whose respondents are no longer the usable responses."""
    stale = []
    for ws in WeightSet.objects.filter(wave=wave, is_current=True).select_related("instrument"):
        weighted = set(Weight.objects.filter(weight_set=ws).values_list("response_id", flat=True))
        usable = set(
            Response.objects.filter(wave=wave, instrument_version__instrument=ws.instrument, case__isnull=False)
            .exclude(review=Response.Review.REJECTED)
            .values_list("pk", flat=True)
        )
        if weighted != usable:
            stale.append(ws)
    return stale


def review_queue(user: UserLike, wave: Wave, *, status: str = "flagged") -> QuerySet[Response]:
    """Return the responses of WAVE that USER may review, with the given review status."""
    responses = access.visible_responses(user).filter(wave=wave)
    if status:
        responses = responses.filter(review=status)
    return responses.select_related("case__town", "instrument_version__instrument", "enumerator").order_by("case__code", "pk")


def psu_overview(user: UserLike, wave: Wave, *, town: str | None = None) -> list[dict[str, Any]]:
    """Return the sampled PSUs with cases USER may see (in TOWN): counts by disposition and current enumerators."""
    cases = access.visible_cases(user).filter(wave=wave, draw__is_current=True)
    if town:
        cases = cases.filter(town__code=town)
    rows: dict[int, dict[str, Any]] = {}
    for su_id, disposition, user_id, n in cases.values_list("sampled_unit_id", "disposition", "assigned_to_id").annotate(n=Count("pk")).order_by():
        row = rows.setdefault(su_id, {"cases": 0, "complete": 0, "open": 0, "enumerators": set()})
        row["cases"] += n
        row["complete"] += n if disposition == "complete" else 0
        row["open"] += n if disposition == "pending" else 0
        if user_id:
            row["enumerators"].add(user_id)
    units = SampledUnit.objects.filter(pk__in=rows).select_related("unit", "unit__town", "stratum")
    names = dict(get_user_model().objects.filter(pk__in={u for r in rows.values() for u in r["enumerators"]}).values_list("pk", "username"))
    out = []
    for su in units.order_by("unit__town__order", "unit__code"):
        r = rows[su.pk]
        out.append({
            "sampled_unit": su, "cases": r["cases"], "complete": r["complete"], "open": r["open"],
            "enumerators": sorted(names[u] for u in r["enumerators"]),
        })
    return out


def flagged_count(user: UserLike, wave: Wave) -> int:
    return access.visible_responses(user).filter(wave=wave, review=Response.Review.FLAGGED).count()


__all__ = [
    "EnumeratorLoad", "PrecisionRow", "RateRow", "StratumProgress", "cases_for", "enumerator_workload", "flagged_count",
    "headline_instruments", "precision_outlook", "progress_by_stratum", "psu_overview", "rates_by", "review_queue",
    "wave_cases", "wave_e", "weights_stale",
]
