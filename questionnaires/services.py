"""Writes for questionnaires: importing and publishing instruments, keys, submissions, scoring."""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from assessment.models import Case, Wave
from questionnaires import expressions
from questionnaires.forms import SubmissionError, compiled_form, validate_answers
from questionnaires.models import (
    BenchmarkRule,
    Choice,
    ChoiceList,
    Dimension,
    GroupRule,
    Instrument,
    InstrumentVersion,
    Invitation,
    Item,
    ItemKey,
    PublishState,
    Response,
    ResponseScore,
    ScoringKey,
    Section,
)
from questionnaires.xlsform import ParsedForm, parse_levels, read_xlsform
from scoring import keys as key_math

logger = logging.getLogger(__name__)


# --- instruments -------------------------------------------------------------------------


@transaction.atomic
def instrument_import(*, data: bytes, filename: str) -> InstrumentVersion:
    """Store the XLSForm in DATA as a new draft version (or return the identical existing one)."""
    form = read_xlsform(data, filename)
    settings = form.settings
    age_min, _, age_max = settings.get("population", "").partition("-")
    instrument, _ = Instrument.objects.get_or_create(
        code=form.form_id,
        defaults={
            "name_zh": form.titles.get("zh", form.form_id),
            "name_en": form.titles.get("en", form.form_id),
            "kind": settings.get("instrument_kind", Instrument.Kind.TEST),
            "age_min": int(age_min) if age_min.isdigit() else None,
            "age_max": int(age_max) if age_max.isdigit() else None,
        },
    )
    existing = instrument.versions.filter(source_hash=form.source_hash).first()
    if existing is not None:
        return existing
    last = instrument.versions.order_by("-version").values_list("version", flat=True).first() or 0
    version = InstrumentVersion.objects.create(
        instrument=instrument,
        version=last + 1,
        title_zh=form.titles.get("zh", form.form_id),
        title_en=form.titles.get("en", form.titles.get("zh", form.form_id)),
        source_name=form.source_name,
        source=form.source,
        source_hash=form.source_hash,
        form_settings=settings,
    )
    _store_structure(version, form)
    if form.is_scored or form.groups:
        _store_key(version, form)
    return version


def _store_structure(version: InstrumentVersion, form: ParsedForm) -> None:
    sections = {
        s.name: Section(
            version=version,
            name=s.name,
            order=i,
            label_zh=s.labels.get("zh", ""),
            label_en=s.labels.get("en", ""),
            relevant=s.relevant,
            appearance=s.appearance,
        )
        for i, s in enumerate(form.sections)
    }
    Section.objects.bulk_create(sections.values())
    lists = {name: ChoiceList(version=version, name=name) for name in form.choice_lists}
    ChoiceList.objects.bulk_create(lists.values())
    Choice.objects.bulk_create(
        Choice(
            choice_list=lists[list_name],
            order=i,
            name=c.name,
            label_zh=c.labels.get("zh", c.labels.get("en", c.name)),
            label_en=c.labels.get("en", ""),
            extra=c.extra,
        )
        for list_name, options in form.choice_lists.items()
        for i, c in enumerate(options)
    )
    Item.objects.bulk_create(
        Item(
            version=version,
            section=sections.get(p.section) if p.section else None,
            order=i,
            name=p.name,
            type=p.type,
            xlsform_type=p.xlsform_type,
            choice_list=lists.get(p.list_name) if p.list_name else None,
            situational=p.situational,
            label_zh=p.labels.get("zh", ""),
            label_en=p.labels.get("en", ""),
            hint_zh=p.hints.get("zh", ""),
            hint_en=p.hints.get("en", ""),
            required=p.required,
            relevant=p.relevant,
            constraint=p.constraint,
            constraint_message_zh=p.constraint_messages.get("zh", ""),
            constraint_message_en=p.constraint_messages.get("en", ""),
            appearance=p.appearance,
            choice_filter=p.choice_filter,
            randomize=p.randomize,
            rationale_zh=p.rationales.get("zh", ""),
            rationale_en=p.rationales.get("en", ""),
            extra=p.extra,
        )
        for i, p in enumerate(form.items)
    )
    Dimension.objects.bulk_create(
        Dimension(
            version=version,
            code=d.name,
            family=d.values.get("family", ""),
            order=i,
            label_zh=d.labels.get("zh", d.name),
            label_en=d.labels.get("en", d.name),
        )
        for i, d in enumerate(form.dimensions)
    )


def _store_key(version: InstrumentVersion, form: ParsedForm) -> ScoringKey:
    key_source = json.dumps(
        {
            "items": [[p.name, str(p.points), p.correct, p.dimensions] for p in form.items if p.points],
            "benchmarks": [[b.name, b.values] for b in form.benchmarks],
            "groups": [[g.name, g.values] for g in form.groups],
        },
        sort_keys=True,
    ).encode()
    key = ScoringKey.objects.create(
        instrument_version=version, version=1, source_hash=hashlib.sha256(key_source).hexdigest()
    )
    items = {i.name: i for i in version.items.all()}
    dims = {d.code: d for d in version.dimensions.all()}
    item_keys = ItemKey.objects.bulk_create(
        ItemKey(key=key, item=items[p.name], points=p.points, correct=p.correct)
        for p in form.items
        if p.points is not None
    )
    through = ItemKey.dimensions.through
    scored = [p for p in form.items if p.points is not None]
    through.objects.bulk_create(
        through(itemkey_id=ik.pk, dimension_id=dims[code].pk)
        for ik, p in zip(item_keys, scored)
        for code in p.dimensions
    )
    BenchmarkRule.objects.bulk_create(
        BenchmarkRule(
            key=key,
            name=b.name,
            label_zh=b.labels.get("zh", b.name),
            label_en=b.labels.get("en", b.name),
            scope=b.values.get("scope", "total"),
            basis=b.values["basis"],
            threshold=float(b.values["threshold"]),
            levels=[list(level) for level in parse_levels(b.values.get("levels", ""))],
            order=i,
        )
        for i, b in enumerate(form.benchmarks)
    )
    GroupRule.objects.bulk_create(
        GroupRule(
            key=key,
            name=g.name,
            label_zh=g.labels.get("zh", g.name),
            label_en=g.labels.get("en", g.name),
            rule=g.values["rule"],
            order=i,
        )
        for i, g in enumerate(form.groups)
    )
    return key


@transaction.atomic
def instrument_publish(*, version: InstrumentVersion, user: AbstractBaseUser | None = None) -> InstrumentVersion:
    """Publish VERSION and its first key; from now on neither can change."""
    if version.status != PublishState.PUBLISHED:
        version.status = PublishState.PUBLISHED
        version.published_at = timezone.now()
        version.published_by = user if user is not None and user.is_authenticated else None
        version.save()
    for key in version.scoring_keys.filter(status=PublishState.DRAFT):
        key.status = PublishState.PUBLISHED
        key.published_at = version.published_at
        key.published_by = version.published_by
        key.save()
    return version


# --- submissions -------------------------------------------------------------------------


MAX_DURATION_SECONDS = 2**31 - 1  # Response.duration_seconds is a 32-bit integer on PostgreSQL


@dataclass(frozen=True)
class Submission:
    client_id: uuid.UUID
    answers: Mapping[str, Any]
    language: str = "zh-hans"
    started_at: datetime | None = None
    submitted_at: datetime | None = None


def payload_hash(version: InstrumentVersion, answers: Mapping[str, Any]) -> str:
    body = json.dumps({"v": version.pk, "a": answers}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def response_submit(
    *,
    wave: Wave,
    version: InstrumentVersion,
    submission: Submission,
    case: Case | None = None,
    invitation: Invitation | None = None,
    mode: str = Response.Mode.SELF,
    enumerator: AbstractBaseUser | None = None,
    context: Mapping[str, Any] | None = None,
) -> tuple[Response, bool]:
    """Store a submission once; return (response, created).

    A retry with the same client id returns the stored response (created False) if the
    answers are the same, and refuses it if they differ.  The response is committed before
    this returns, so an acknowledged submission survives a crash.
    """
    existing = Response.objects.filter(client_id=submission.client_id).first()
    cleaned = validate_answers(compiled_form(version), submission.answers, context=context)
    digest = payload_hash(version, cleaned)
    if existing is not None:
        return _same_submission(existing, digest, case), False
    if case is not None:
        other = Response.objects.filter(case=case, instrument_version=version).first()
        if other is not None and other.client_id == submission.client_id:
            return _same_submission(other, digest, case), False  # a concurrent retry stored it meanwhile
        if other is not None:
            raise SubmissionError({"case": "this questionnaire has already been submitted for this household"})
    started = submission.started_at
    submitted = submission.submitted_at or timezone.now()
    duration = int((submitted - started).total_seconds()) if started and submitted > started else None
    if duration is not None and duration > MAX_DURATION_SECONDS:
        duration = None  # a device clock that is decades off; it would not fit the column either
    try:
        with transaction.atomic():
            response = Response.objects.create(
                client_id=submission.client_id,
                wave=wave,
                instrument_version=version,
                case=case,
                invitation=invitation,
                mode=mode,
                enumerator=enumerator,
                language=submission.language[:8],
                started_at=started,
                submitted_at=submitted,
                duration_seconds=duration,
                answers=cleaned,
                payload_hash=digest,
            )
            if case is not None:
                case_disposition_update(case)
    except IntegrityError:
        # A concurrent retry of the same submission won the race.
        existing = Response.objects.filter(client_id=submission.client_id).first()
        if existing is None:
            raise SubmissionError({"case": "this questionnaire has already been submitted for this household"}) from None
        return _same_submission(existing, digest, case), False
    return response, True


def case_disposition_update(case: Case) -> None:
    """Mark CASE complete once every questionnaire it is eligible for is in, partial before that."""
    from questionnaires.selectors import next_step, respondent_plan

    disposition = "complete" if next_step(respondent_plan(case)) is None else "partial"
    if case.disposition != disposition:
        case.disposition = disposition
        case.disposition_at = timezone.now()
        case.save(update_fields=["disposition", "disposition_at"])


def _same_submission(existing: Response, digest: str, case: Case | None) -> Response:
    # The same answers from another household are another submission, not a retry of this one.
    if existing.payload_hash != digest or existing.case_id != (case.pk if case is not None else None):
        raise SubmissionError({"client_id": "already used for a different submission"})
    return existing


# --- scoring -----------------------------------------------------------------------------


@transaction.atomic
def responses_score(*, key: ScoringKey, responses: Iterable[Response] | None = None) -> int:
    """Score RESPONSES (default: all of the key's instrument version) under KEY; return how many.

    Scores are stamped with the key; a response already scored under this key is skipped,
    so re-running is safe and older keys' scores are kept.
    """
    version = key.instrument_version
    if responses is None:
        responses = Response.objects.filter(instrument_version=version)
    todo = [r for r in responses if r.instrument_version_id == version.pk]
    done = set(ResponseScore.objects.filter(key=key, response__in=todo).values_list("response_id", flat=True))
    todo = [r for r in todo if r.pk not in done]
    if not todo:
        return 0
    compiled = key_compile(key)
    rows = [r.answers for r in todo]
    result = key_math.score(compiled.arrays, key_math.encode_answers(compiled.arrays, rows))
    groups = groups_classify(key, rows)
    benchmarks = result.benchmark_json()
    names = compiled.arrays.item_names
    ResponseScore.objects.bulk_create(
        ResponseScore(
            response=r,
            key=key,
            total_points=float(result.total[i]),
            max_points=compiled.arrays.max_points,
            level=result.levels.get(compiled.headline, [""] * len(todo))[i] if compiled.headline else "",
            benchmarks={name: flags[i] for name, flags in benchmarks.items()},
            dimension_points={code: float(result.dimension_points[i, j]) for j, code in enumerate(compiled.arrays.dimension_codes)},
            item_points={
                name: float(result.item_points[i, j]) if result.answered[i, j] else None
                for j, name in enumerate(names)
            },
            groups=groups[i],
        )
        for i, r in enumerate(todo)
    )
    return len(todo)


@dataclass(frozen=True)
class CompiledKey:
    arrays: key_math.KeyArrays
    item_ids: list[int]
    headline: str | None


def key_compile(key: ScoringKey) -> CompiledKey:
    """Return KEY as the arrays the pure scoring functions take."""
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


def groups_classify(key: ScoringKey, rows: list[Mapping[str, Any]]) -> list[list[str]]:
    """Return, per answer row, the names of the key's groups whose rule holds."""
    rules = [(g.name, expressions.parse(g.rule)) for g in key.groups.all()]
    return [[name for name, tree in rules if expressions.holds(tree, row)] for row in rows]


def responses_score_new(response: Response) -> None:
    """Score a freshly stored response under its wave's official key (if the instrument is scored)."""
    from assessment.models import WaveInstrument

    fielded = WaveInstrument.objects.filter(wave_id=response.wave_id, instrument_version_id=response.instrument_version_id).first()
    key = fielded.scoring_key if fielded else None
    if key is None:
        key = response.instrument_version.scoring_keys.filter(status=PublishState.PUBLISHED).order_by("-version").first()
    if key is None:
        return
    try:
        responses_score(key=key, responses=[response])
    except Exception:
        # The response is stored and acknowledged whatever happens here; an unscored response
        # is picked up by the next `responses_score` run over the key.
        logger.exception("scoring response %s under key %s failed", response.pk, key.pk)
