"""Reads for questionnaires: what a respondent has to answer and has answered, instruments and keys
as XLSForm, the API's lists, and the item analysis of a wave."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils.translation import gettext as _

from assessment.models import Case, Wave, WaveInstrument
from questionnaires import expressions
from questionnaires.models import (
    BenchmarkRule,
    Choice,
    ChoiceList,
    Dimension,
    GroupRule,
    Instrument,
    InstrumentVersion,
    Item,
    ItemKey,
    PublishState,
    Response,
    ResponseScore,
    ScoringKey,
    Section,
)
from questionnaires.xlsform import (
    KeyBase,
    ParsedChoice,
    ParsedForm,
    ParsedItem,
    ParsedItemKey,
    ParsedKey,
    ParsedRule,
    ParsedSection,
    form_titles,
    number_text,
    write_key_file,
    write_xlsform,
)
from scoring import keys as key_math
from scoring.arrays import FloatArray
from scoring.item_analysis import (
    DEFAULT_MAX_DIFFICULTY,
    DEFAULT_MIN_DIFFICULTY,
    DEFAULT_MIN_DISCRIMINATION,
    ItemAnalysis,
    item_analysis,
)

DEMOGRAPHICS = "demographics"


class Answered(NamedTuple):
    """One of a case's stored responses, as much of it as its plan needs: `answers` are the
    demographics' answers (eligibility reads them); `invitations.invitation_find` leaves
    them out ({}) for the other questionnaires."""

    version_id: int
    code: str
    answers: Mapping[str, Any]
    received_at: datetime


@dataclass(frozen=True)
class PlanStep:
    version: InstrumentVersion
    status: str  # done | todo | not_eligible | waiting (needs demographics first)
    eligibility: str = ""  # the wave's rule over the demographics answers ("" = everyone)
    key: ScoringKey | None = None  # the key this questionnaire is scored under (`respondent_state`)

    @property
    def code(self) -> str:
        return self.version.instrument.code


def case_answers(case: Case, instrument_code: str) -> dict[str, Any]:
    """Return the case's stored answers to one instrument ({} when not answered)."""
    answers = (
        Response.objects.filter(case=case, instrument_version__instrument__code=instrument_code)
        .order_by("-received_at")
        .values_list("answers", flat=True)
        .first()
    )
    return dict(answers or {})


def respondent_plan(case: Case) -> list[PlanStep]:
    """Return the wave's questionnaires for CASE in order, with what is done and still due."""
    return respondent_state(case)[0]


def respondent_state(
    case: Case, answered: Iterable[Answered] | None = None, plan_revision: int | None = None
) -> tuple[list[PlanStep], dict[str, Any]]:
    """Return CASE's plan and its demographics answers ({} before they are in).

    ANSWERED (the case's responses) and PLAN_REVISION (its wave's), when the caller read them
    already (`invitations.invitation_find` does, with the invitation), save those reads.
    """
    if answered is None:
        answered = [
            Answered(*row)
            for row in Response.objects.filter(case=case).values_list(
                "instrument_version_id", "instrument_version__instrument__code", "answers", "received_at"
            )
        ]
    versions: set[int] = set()
    demographics: dict[str, Any] = {}
    latest = None
    for row in answered:
        versions.add(row.version_id)
        if row.code == DEMOGRAPHICS and (latest is None or row.received_at > latest):
            demographics, latest = dict(row.answers or {}), row.received_at
    return _statuses(fielded_steps(case.wave_id, plan_revision), versions, demographics), demographics


# wave id -> (the wave's plan revision, its plan steps); see fielded_steps
_FIELDED: OrderedDict[int, tuple[int, list[PlanStep]]] = OrderedDict()
_FIELDED_WAVES = 32


def fielded_steps(wave_id: int, plan_revision: int | None = None) -> list[PlanStep]:
    """Return the wave's questionnaires in order as plan steps ("todo"), each with its key.

    The key is the wave's official key, failing that the version's latest published key.
    Steps are kept per process under the wave's `plan_revision`, which every change to what
    the wave fields renews (questionnaires/signals.py); PLAN_REVISION is the revision the caller
    read (with the invitation, say), else it is read here.  The revision is read before the
    steps are loaded, so steps kept under a mark are never older than the mark.
    """
    if plan_revision is None:
        plan_revision = Wave.objects.filter(pk=wave_id).values_list("plan_revision", flat=True).first() or 0
    cached = _FIELDED.get(wave_id)
    if cached is not None and cached[0] == plan_revision:
        with suppress(KeyError):  # another thread (gthread workers) may have just evicted it
            _FIELDED.move_to_end(wave_id)
        return cached[1]
    latest_key = (
        ScoringKey.objects.filter(instrument_version=OuterRef("instrument_version"), status=PublishState.PUBLISHED)
        .order_by("-version")
        .values("pk")[:1]
    )
    fielded = (
        WaveInstrument.objects.filter(wave_id=wave_id)
        .annotate(latest_key_id=Subquery(latest_key))
        .select_related("instrument_version__instrument", "scoring_key__instrument_version__instrument")
        # The uploaded XLSForm and key files are tens of kilobytes each: not needed for a plan.
        .defer("instrument_version__source", "scoring_key__source", "scoring_key__instrument_version__source")
        .order_by("order")
    )
    steps = [
        PlanStep(version=wi.instrument_version, status="todo", eligibility=wi.eligibility,
                 key=wi.scoring_key or _latest_key(wi.latest_key_id))
        for wi in fielded
    ]
    _FIELDED[wave_id] = (plan_revision, steps)
    while len(_FIELDED) > _FIELDED_WAVES:
        with suppress(KeyError):
            _FIELDED.popitem(last=False)
    return steps


def _latest_key(key_id: int | None) -> ScoringKey | None:
    if key_id is None:
        return None  # not a scored questionnaire (demographics)
    return ScoringKey.objects.select_related("instrument_version__instrument").defer(
        "source", "instrument_version__source"
    ).get(pk=key_id)


def plan_after(plan: list[PlanStep], version: InstrumentVersion, answers: Mapping[str, Any]) -> list[PlanStep]:
    """Return PLAN once VERSION has been answered with ANSWERS (demographics decide eligibility)."""
    answered = {s.version.pk for s in plan if s.status == "done"} | {version.pk}
    demographics: dict[str, Any] = {}
    if version.instrument.code == DEMOGRAPHICS:
        demographics = dict(answers)
    elif any(s.code == DEMOGRAPHICS and s.status == "done" for s in plan):
        demographics = {"answered": True}  # only its presence matters for the other steps' statuses
    return _statuses(plan, answered, demographics, keep_eligibility=version.instrument.code != DEMOGRAPHICS)


def _statuses(
    steps: list[PlanStep], answered: set[int], demographics: Mapping[str, Any], *, keep_eligibility: bool = False
) -> list[PlanStep]:
    out = []
    for step in steps:
        if step.version.pk in answered:
            status = "done"
        elif step.code != DEMOGRAPHICS and not demographics:
            status = "waiting"
        elif keep_eligibility and step.status in ("todo", "not_eligible"):
            status = step.status
        elif step.eligibility and not expressions.holds(step.eligibility, demographics):
            status = "not_eligible"
        else:
            status = "todo"
        out.append(replace(step, status=status))
    return out


def next_step(plan: list[PlanStep]) -> PlanStep | None:
    """Return the first questionnaire still to answer (demographics unlock the rest)."""
    return next((s for s in plan if s.status in ("todo", "waiting")), None)


# --- instruments and keys as XLSForm -------------------------------------------------------

# Modules whose answers the respondent pages and the submission API pass to the other
# questionnaires as context (`questionnaires.apis`, `frontend.views.respondent`).
CONTEXT_MODULES = (DEMOGRAPHICS,)


def module_question_names(code: str) -> list[str]:
    """Return the questions of the latest published version of module CODE; raise LookupError why not."""
    if code not in CONTEXT_MODULES:
        raise LookupError(
            f"requires {code!r}: only {', '.join(CONTEXT_MODULES)} can be required "
            "(the respondent pages pass no other module's answers to a questionnaire)"
        )
    version = (
        InstrumentVersion.objects.filter(instrument__code=code, status=PublishState.PUBLISHED)
        .order_by("-version")
        .first()
    )
    if version is None:
        raise LookupError(f"requires {code!r}: no published version of that module yet (import and publish it first)")
    return list(version.items.exclude(type=Item.Type.NOTE).values_list("name", flat=True))


def default_key(version: InstrumentVersion) -> ScoringKey | None:
    """Return VERSION's latest published key, or its latest key when none is published."""
    keys = version.scoring_keys.order_by("-version")
    return keys.filter(status=PublishState.PUBLISHED).first() or keys.first()


def _labels(zh: str, en: str) -> dict[str, str]:
    return {lang: text for lang, text in (("zh", zh), ("en", en)) if text}


def _kind(item: Item) -> str | None:
    """Return the XLSForm `kind` that makes the reader give ITEM its stored type back."""
    kind = item.extra.get("kind")
    if item.situational:
        return "situational"
    if item.type in (Item.Type.TRUE_FALSE, Item.Type.LIKERT):
        return str(item.type)
    if kind in ("true_false", "likert", "situational"):
        return str(item.type) if item.type in (Item.Type.SINGLE, Item.Type.MULTIPLE) else None
    return kind


def _xlsform_type(item: Item) -> str:
    if item.type in (Item.Type.TRUE_FALSE, Item.Type.SINGLE, Item.Type.LIKERT):
        return f"select_one {item.choice_list.name}" if item.choice_list else "select_one"
    if item.type == Item.Type.MULTIPLE:
        return f"select_multiple {item.choice_list.name}" if item.choice_list else "select_multiple"
    return str(item.type)


def _dimension_order(version: InstrumentVersion) -> dict[int, int]:
    return dict(version.dimensions.values_list("pk", "order"))


def key_parsed(key: ScoringKey) -> ParsedKey:
    """Return KEY as the readers describe keys (item order of the form, dimensions in sheet order)."""
    order = _dimension_order(key.instrument_version)
    item_keys = key.item_keys.select_related("item").prefetch_related("dimensions").order_by("item__order")
    return ParsedKey(
        items=[
            ParsedItemKey(
                ik.item.name, ik.points, list(ik.correct),
                [d.code for d in sorted(ik.dimensions.all(), key=lambda d: order.get(d.pk, 0))],
            )
            for ik in item_keys
        ],
        benchmarks=[
            ParsedRule(
                0, b.name, _labels(b.label_zh, b.label_en),
                {
                    "scope": b.scope, "basis": b.basis, "threshold": number_text(b.threshold),
                    **({"levels": " ".join(f"{n}:{number_text(float(c))}" for n, c in b.levels)} if b.levels else {}),
                },
            )
            for b in key.benchmarks.order_by("order")
        ],
        groups=[ParsedRule(0, g.name, _labels(g.label_zh, g.label_en), {"rule": g.rule}) for g in key.groups.order_by("order")],
        excluded=list(key.excluded),
        note=key.note,
    )


def version_form(version: InstrumentVersion, key: ScoringKey | None = None) -> ParsedForm:
    """Return VERSION (scored by KEY, if given) as the XLSForm reader describes forms."""
    code = version.instrument.code
    settings = {"form_id": code, **{k: str(v) for k, v in version.form_settings.items()}}
    parsed_key = key_parsed(key) if key is not None else ParsedKey()
    keyed = {ik.name: ik for ik in parsed_key.items}
    choice_lists = version.choice_lists.prefetch_related("choices").order_by("pk")
    items = version.items.select_related("section", "choice_list").order_by("order")
    return ParsedForm(
        form_id=code,
        version=settings.get("version", "1"),
        titles=form_titles(settings, code),
        settings=settings,
        sections=[
            ParsedSection(0, s.name, _labels(s.label_zh, s.label_en), s.relevant, s.appearance)
            for s in version.sections.order_by("order")
        ],
        items=[
            ParsedItem(
                row=0,
                name=item.name,
                xlsform_type=_xlsform_type(item),
                type=str(item.type),
                list_name=item.choice_list.name if item.choice_list else None,
                section=item.section.name if item.section else None,
                situational=item.situational,
                labels=_labels(item.label_zh, item.label_en),
                hints=_labels(item.hint_zh, item.hint_en),
                constraint_messages=_labels(item.constraint_message_zh, item.constraint_message_en),
                rationales=_labels(item.rationale_zh, item.rationale_en),
                required=item.required,
                relevant=item.relevant,
                constraint=item.constraint,
                appearance=item.appearance,
                choice_filter=item.choice_filter,
                randomize=item.randomize,
                points=keyed[item.name].points if item.name in keyed else None,
                correct=list(keyed[item.name].correct) if item.name in keyed else [],
                dimensions=list(keyed[item.name].dimensions) if item.name in keyed else item.extra.get("dimension", "").split(),
                extra={
                    **{k: str(v) for k, v in item.extra.items() if k in ("parameters", "calculation")},
                    **({"kind": kind} if (kind := _kind(item)) else {}),
                },
            )
            for item in items
        ],
        choice_lists={
            cl.name: [
                ParsedChoice(c.name, _labels(c.label_zh, c.label_en), {k: str(v) for k, v in c.extra.items()})
                for c in sorted(cl.choices.all(), key=lambda c: c.order)
            ]
            for cl in choice_lists
        },
        dimensions=[
            ParsedRule(0, d.code, _labels(d.label_zh, d.label_en), {"family": d.family})
            for d in version.dimensions.order_by("order")
        ],
        benchmarks=parsed_key.benchmarks,
        groups=parsed_key.groups,
    )


def export_filename(version: InstrumentVersion, key: ScoringKey | None = None) -> str:
    if key is None:
        return f"{version.instrument.code}-v{version.version}.xlsx"
    return f"{version.instrument.code}-v{version.version}-key{key.version}.xlsx"


def instrument_export(version: InstrumentVersion, key: ScoringKey | None = None) -> bytes:
    """Return VERSION as an .xlsx XLSForm scored by KEY (default: its latest published key)."""
    return write_xlsform(version_form(version, key if key is not None else default_key(version)))


def key_export(key: ScoringKey) -> bytes:
    """Return KEY as an .xlsx key file (the format `questionnaires.services.key_import` reads)."""
    version = key.instrument_version
    return write_key_file(
        key_parsed(key), form_id=version.instrument.code, version=version.version,
        questions=version.items.order_by("order").values_list("name", flat=True),
    )


def key_base(key: ScoringKey | None, version: InstrumentVersion) -> KeyBase:
    """Return what a key file for VERSION is checked against, revising KEY (None: an empty key)."""
    items = version.items.select_related("choice_list").prefetch_related("choice_list__choices").order_by("order")
    return KeyBase(
        form_id=version.instrument.code,
        version=version.version,
        questions={
            i.name: (str(i.type), tuple(c.name for c in sorted(i.choice_list.choices.all(), key=lambda c: c.order)) if i.choice_list else ())
            for i in items
        },
        dimensions=dict(version.dimensions.order_by("order").values_list("code", "family")),
        key=key_parsed(key) if key is not None else ParsedKey(),
        key_version=key.version if key is not None else 0,
    )


# --- scoring keys as arrays ---------------------------------------------------------------


@dataclass(frozen=True)
class CompiledKey:
    arrays: key_math.KeyArrays
    item_ids: list[int]
    headline: str | None


def key_compile(key: ScoringKey) -> CompiledKey:
    """Return KEY as the arrays the pure scoring functions take.

    A published key and its items are immutable, so its compiled form is kept for the life of
    the process (every submission scores under it); the cache key includes the publication time
    and source hash, so a row id reused by another key (after a rollback) is never confused.
    """
    if key.status == PublishState.PUBLISHED and key.published_at is not None:
        return _published_key(key.pk, key.published_at.isoformat(), key.source_hash)
    return _key_compile(key)


@lru_cache(maxsize=64)
def _published_key(key_id: int, published_at: str, source_hash: str) -> CompiledKey:
    return _key_compile(ScoringKey.objects.select_related("instrument_version").get(pk=key_id))


def _key_compile(key: ScoringKey) -> CompiledKey:
    item_keys = list(
        key.item_keys.select_related("item__choice_list").prefetch_related("dimensions", "item__choice_list__choices").order_by("item__order")
    )
    dims = list(key.instrument_version.dimensions.order_by("family", "order"))
    rules = [
        key_math.BenchmarkSpec(
            name=b.name, scope=b.scope, basis=b.basis, threshold=b.threshold, levels=tuple((n, float(c)) for n, c in b.levels)
        )
        for b in key.benchmarks.all()
    ]
    arrays = key_math.key_arrays(
        item_names=[ik.item.name for ik in item_keys],
        options=[[c.name for c in ik.item.choice_list.choices.all()] if ik.item.choice_list else [] for ik in item_keys],
        correct=[list(ik.correct) for ik in item_keys],
        points=[float(ik.points) for ik in item_keys],
        dimension_codes=[d.code for d in dims],
        dimension_families=[d.family for d in dims],
        item_dimensions=[[d.code for d in ik.dimensions.all()] for ik in item_keys],
        benchmarks=rules,
    )
    headline = next((r.name for r in rules if r.scope == "total"), None)
    return CompiledKey(arrays=arrays, item_ids=[ik.item_id for ik in item_keys], headline=headline)


# --- item analysis ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WaveItemAnalysis:
    """The item analysis of one instrument in one wave (or one group of it), with what it rests on."""

    wave: Wave
    instrument_code: str
    key: ScoringKey
    group: str | None
    weight_set_version: int | None  # None: unweighted
    item_names: tuple[str, ...]
    option_names: tuple[tuple[str, ...], ...]
    correct: tuple[tuple[str, ...], ...]
    max_points: FloatArray
    result: ItemAnalysis

    def as_json(self) -> dict[str, Any]:
        """Return the analysis as JSON-ready data (NaN as None)."""
        r = self.result

        def number(value: float) -> float | None:
            return float(value) if np.isfinite(value) else None

        return {
            "wave": self.wave.code,
            "instrument": self.instrument_code,
            "key": self.key.label,
            "group": self.group,
            "weight_set": self.weight_set_version,
            "weighted": self.weight_set_version is not None,
            "n": r.n,
            "weight_total": number(r.weight_total),
            "alpha": number(r.alpha),
            "total_mean": number(r.total_mean),
            "total_sd": number(r.total_sd),
            "items": [
                {
                    "name": name,
                    "points": float(self.max_points[j]),
                    "correct": list(self.correct[j]),
                    "difficulty": number(r.difficulty[j]),
                    "discrimination": number(r.discrimination[j]),
                    "alpha_if_deleted": number(r.alpha_if_deleted[j]),
                    "options": (
                        {o: number(s) for o, s in zip(self.option_names[j], r.options[j].shares.tolist())}
                        if r.options else {}
                    ),
                    "omitted": number(r.options[j].omitted) if r.options else None,
                    "flags": list(r.flags[j]),
                }
                for j, name in enumerate(self.item_names)
            ],
        }


def _selected(answer: Any, options: Mapping[str, int], m: int) -> npt.NDArray[np.bool_]:
    row = np.zeros(m, dtype=bool)
    if answer is None or answer == "" or answer == []:
        return row
    for option in answer if isinstance(answer, list) else str(answer).split():
        position = options.get(str(option))
        if position is not None:
            row[position] = True
    return row


def wave_item_analysis(
    wave: Wave,
    instrument_code: str,
    *,
    group: str | None = None,
    weighted: bool = True,
    min_discrimination: float = DEFAULT_MIN_DISCRIMINATION,
    min_difficulty: float = DEFAULT_MIN_DIFFICULTY,
    max_difficulty: float = DEFAULT_MAX_DIFFICULTY,
) -> WaveItemAnalysis:
    """Return the item analysis of INSTRUMENT_CODE in WAVE under the wave's official key.

    The respondents are those of the estimates (rejected responses left out), weighted by
    the current weight set (or all 1 when not WEIGHTED); GROUP limits them to one population
    group of the demographics key.  Item scores come from the stored scores (an unanswered
    item scores 0, as in the total), the options chosen from the stored answers.  Raise
    DataProblem when the wave has no weights yet, a response is not scored under the key, or
    the group is unknown.
    """
    from assessment.estimation import wave_design
    from scoring.adapters import DataProblem, respondent_table, wave_key

    weight_set_version: int | None = None
    if weighted:
        design = wave_design(wave, instrument_code)
        table, weights, key = design.table, np.asarray(design.design.weights, dtype=np.float64), design.key
        weight_set_version = design.weight_set.version
    else:
        table = respondent_table(wave, instrument_code)
        weights, key = np.ones(table.n), wave_key(wave, instrument_code)
    ids = table.response_id
    if group is not None:
        if group not in table.groups:
            known = "、".join(table.groups) or "—"
            raise DataProblem(
                _("%(wave)s 轮次没有重点人群“%(group)s”（现有：%(groups)s）。") % {"wave": wave.code, "group": group, "groups": known}
            )
        member = table.groups[group]
        ids, weights = ids[member], weights[member]
    compiled = key_compile(key)
    names = compiled.arrays.item_names
    stored = dict(
        ResponseScore.objects.filter(key=key, response__wave=wave).values_list("response_id", "item_points")
    )
    missing = [int(rid) for rid in ids.tolist() if rid not in stored]
    if missing:
        raise DataProblem(
            _("%(wave)s 轮次有 %(n)d 份答卷尚未按 %(key)s 评分：请运行 %(command)s")
            % {"wave": wave.code, "n": len(missing), "key": key.label,
               "command": f"manage.py rescore --instrument {instrument_code} --key {key.version} --wave {wave.code}"}
        )
    answers = dict(
        Response.objects.filter(wave=wave, pk__in=ids.tolist()).values_list("pk", "answers")
    ) if ids.size else {}
    scores = np.asarray(
        [[float(stored[rid].get(name) or 0.0) for name in names] for rid in ids.tolist()], dtype=np.float64
    ).reshape(ids.size, len(names))
    option_names = tuple(tuple(index) for index in compiled.arrays.option_index)
    selections = [
        np.asarray(
            [_selected(answers[rid].get(name), index, len(index)) for rid in ids.tolist()], dtype=bool
        ).reshape(ids.size, len(index))
        for name, index in zip(names, compiled.arrays.option_index)
    ]
    correct = tuple(
        tuple(o for o in options if compiled.arrays.correct_mask[j] >> index[o] & 1)
        for j, (options, index) in enumerate(zip(option_names, compiled.arrays.option_index))
    )
    result = item_analysis(
        scores, compiled.arrays.points, weights, selections=selections,
        min_discrimination=min_discrimination, min_difficulty=min_difficulty, max_difficulty=max_difficulty,
    )
    return WaveItemAnalysis(
        wave=wave, instrument_code=instrument_code, key=key, group=group, weight_set_version=weight_set_version,
        item_names=names, option_names=option_names, correct=correct, max_points=compiled.arrays.points, result=result,
    )


# --- lists for the API ----------------------------------------------------------------------


def instruments_list(*, kind: str | None = None) -> QuerySet[Instrument]:
    instruments = Instrument.objects.order_by("code")
    return instruments.filter(kind=kind) if kind else instruments


def versions_list(*, instrument: str | None = None, status: str | None = None) -> QuerySet[InstrumentVersion]:
    versions = InstrumentVersion.objects.select_related("instrument").order_by("instrument__code", "version")
    if instrument:
        versions = versions.filter(instrument__code=instrument)
    return versions.filter(status=status) if status else versions


def keys_list(
    *, instrument: str | None = None, version: int | None = None, status: str | None = None
) -> QuerySet[ScoringKey]:
    keys = ScoringKey.objects.select_related("instrument_version__instrument", "based_on").order_by(
        "instrument_version__instrument__code", "instrument_version__version", "version"
    )
    if instrument:
        keys = keys.filter(instrument_version__instrument__code=instrument)
    if version is not None:
        keys = keys.filter(instrument_version__version=version)
    return keys.filter(status=status) if status else keys


def version_detail(pk: int) -> InstrumentVersion:
    """Return a version with everything its detail page shows, in a fixed number of queries."""
    return (
        InstrumentVersion.objects.select_related("instrument")
        .prefetch_related(
            Prefetch("sections", queryset=Section.objects.order_by("order")),
            Prefetch("items", queryset=Item.objects.select_related("section", "choice_list").order_by("order")),
            Prefetch("choice_lists", queryset=ChoiceList.objects.prefetch_related(
                Prefetch("choices", queryset=Choice.objects.order_by("order"))).order_by("pk")),
            Prefetch("dimensions", queryset=Dimension.objects.order_by("order")),
            Prefetch("scoring_keys", queryset=ScoringKey.objects.order_by("version")),
        )
        .get(pk=pk)
    )


def key_detail(pk: int) -> ScoringKey:
    """Return a key with its item keys and rules, in a fixed number of queries."""
    return (
        ScoringKey.objects.select_related("instrument_version__instrument", "based_on")
        .prefetch_related(
            Prefetch("item_keys", queryset=ItemKey.objects.select_related("item").prefetch_related("dimensions").order_by("item__order")),
            Prefetch("benchmarks", queryset=BenchmarkRule.objects.order_by("order")),
            Prefetch("groups", queryset=GroupRule.objects.order_by("order")),
        )
        .get(pk=pk)
    )
