"""Writes for questionnaires: importing and publishing instruments and keys, submissions, scoring."""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial
from typing import Any, NamedTuple

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from assessment.models import AuditEvent, Case, Wave, WaveInstrument
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
from questionnaires.selectors import (
    PlanStep,
    default_key,
    export_filename,
    key_base,
    key_compile,
    key_parsed,
    module_question_names,
    next_step,
    plan_after,
    respondent_plan,
    version_form,
)
from questionnaires.writes import submission_store
from questionnaires.xlsform import (
    SCORED_KINDS,
    ParsedForm,
    ParsedKey,
    XLSFormError,
    parse_levels,
    read_key_file,
    read_xlsform,
    write_xlsform,
)
from reports import jobs
from scoring import keys as key_math
from scoring.adapters import DataProblem, wave_key

logger = logging.getLogger(__name__)


# --- instruments -------------------------------------------------------------------------


class QuestionnaireError(ValueError):
    """An operation refused for reasons a person can act on; `problems` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class PublishError(QuestionnaireError):
    """A version or key that fails the checks for publishing."""


@transaction.atomic
def instrument_import(*, data: bytes, filename: str) -> InstrumentVersion:
    """Store the XLSForm in DATA as a new draft version (or return the identical existing one)."""
    form = read_xlsform(data, filename, modules=module_question_names)
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
        source_name=form.source_name[:255],
        source=form.source,
        source_hash=form.source_hash,
        form_settings=settings,
    )
    _store_structure(version, form)
    if form.is_scored or form.groups:
        _store_key(version, ParsedKey.from_form(form), number=1)
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
            # An unscored question's dimension tags are kept with it (a key tags only what it scores).
            extra={**p.extra, **({"dimension": " ".join(p.dimensions)} if p.points is None and p.dimensions else {})},
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


def _store_key(
    version: InstrumentVersion, parsed: ParsedKey, *, number: int, based_on: ScoringKey | None = None
) -> ScoringKey:
    key = ScoringKey.objects.create(
        instrument_version=version,
        version=number,
        note=parsed.note,
        based_on=based_on,
        excluded=sorted(parsed.excluded),
        source_name=parsed.source_name[:255],
        source=parsed.source,
        source_hash=parsed.content_hash,
    )
    items = {i.name: i for i in version.items.all()}
    dims = {d.code: d for d in version.dimensions.all()}
    item_keys = ItemKey.objects.bulk_create(
        ItemKey(key=key, item=items[p.name], points=p.points, correct=p.correct) for p in parsed.items
    )
    through = ItemKey.dimensions.through
    through.objects.bulk_create(
        through(itemkey_id=ik.pk, dimension_id=dims[code].pk)
        for ik, p in zip(item_keys, parsed.items)
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
        for i, b in enumerate(parsed.benchmarks)
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
        for i, g in enumerate(parsed.groups)
    )
    return key


def _actor(user: AbstractBaseUser | AnonymousUser | None) -> Any:
    return user if user is not None and user.is_authenticated else None


def _export_problems(version: InstrumentVersion, key: ScoringKey | None) -> list[str]:
    """Return the importer's objections to VERSION's XLSForm export (scored by KEY)."""
    try:
        read_xlsform(write_xlsform(version_form(version, key)), export_filename(version, key), modules=module_question_names)
    except XLSFormError as exc:
        return [f"XLSForm {export_filename(version, key)}, {p}" for p in exc.problems]
    return []


def key_problems(key: ScoringKey) -> list[str]:
    """Return what stops KEY from being published (empty when it may be)."""
    version = key.instrument_version
    problems = _export_problems(version, key)
    item_keys = list(key.item_keys.select_related("item").prefetch_related("dimensions"))
    keyed = {ik.item.name for ik in item_keys}
    for ik in item_keys:
        if ik.item.version_id != version.pk:
            problems.append(f"{ik.item.name}: the question belongs to another instrument version")
        if any(d.version_id != version.pk for d in ik.dimensions.all()):
            problems.append(f"{ik.item.name}: a dimension belongs to another instrument version")
    names = set(version.items.values_list("name", flat=True))
    for item in version.items.order_by("order"):
        if _scored_kind(item) and item.name not in keyed and item.name not in key.excluded:
            problems.append(f"{item.name}: a scored question with no key (list it under excluded to leave it out)")
    for name in key.excluded:
        if name not in names:
            problems.append(f"excluded {name!r} is not a question of {version}")
        elif name in keyed:
            problems.append(f"{name}: both keyed and excluded")
    if not problems:
        try:
            key_compile(key)
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def _scored_kind(item: Item) -> bool:
    return item.situational or item.extra.get("kind") in SCORED_KINDS


def version_problems(version: InstrumentVersion) -> list[str]:
    """Return what stops VERSION and its draft keys from being published (empty when they may be)."""
    keys = list(version.scoring_keys.filter(status=PublishState.DRAFT).order_by("version"))
    if not keys:
        return _export_problems(version, None)
    problems: list[str] = []
    for key in keys:
        problems += [p for p in key_problems(key) if p not in problems]
    return problems


@transaction.atomic
def instrument_publish(*, version: InstrumentVersion, user: AbstractBaseUser | AnonymousUser | None = None) -> InstrumentVersion:
    """Publish VERSION with its draft keys after checking them; from now on none of them can change.

    Publishing a published version changes nothing.  Raise PublishError listing every problem.
    """
    if version.status == PublishState.PUBLISHED:
        return version
    if version.status == PublishState.RETIRED:
        raise PublishError([f"{version} is retired"])
    problems = version_problems(version)
    if problems:
        raise PublishError(problems)
    version.status = PublishState.PUBLISHED
    version.published_at = timezone.now()
    version.published_by = _actor(user)
    version.save()
    labels = []
    for key in version.scoring_keys.filter(status=PublishState.DRAFT).order_by("version"):
        key.status = PublishState.PUBLISHED
        key.published_at = version.published_at
        key.published_by = version.published_by
        key.save()
        labels.append(key.label)
    AuditEvent.objects.create(
        actor=version.published_by,
        action="instrument.publish",
        object_type="InstrumentVersion",
        object_id=str(version.pk),
        summary=f"{version} published" + (f" with {', '.join(labels)}" if labels else ""),
        details={"instrument": version.instrument.code, "version": version.version, "keys": labels},
    )
    return version


# --- scoring keys --------------------------------------------------------------------------


@transaction.atomic
def key_import(
    *, version: InstrumentVersion, data: bytes, filename: str, based_on: ScoringKey | None = None
) -> tuple[ScoringKey, bool]:
    """Store the key file in DATA as a new draft key of VERSION; return (key, created).

    The file revises BASED_ON (default: VERSION's latest published key); see
    `questionnaires.xlsform.read_key_file` for its format.  A key with the same content as an
    existing key of VERSION is not stored again: that key is returned with created False.
    """
    if version.status != PublishState.PUBLISHED:
        raise QuestionnaireError([f"{version} is a draft: edit its key in the admin or import a new XLSForm"])
    base = based_on if based_on is not None else default_key(version)
    if base is not None and base.instrument_version_id != version.pk:
        raise QuestionnaireError([f"{base.label} is not a key of {version}"])
    parsed = read_key_file(data, filename, key_base(base, version))
    content = parsed.content()
    for existing in version.scoring_keys.order_by("version"):
        if key_parsed(existing).content() == content:
            return existing, False
    last = version.scoring_keys.order_by("-version").values_list("version", flat=True).first() or 0
    return _store_key(version, parsed, number=last + 1, based_on=base), True


@transaction.atomic
def key_publish(*, key: ScoringKey, user: AbstractBaseUser | AnonymousUser | None = None) -> ScoringKey:
    """Publish KEY after checking it; publishing a published key changes nothing.

    Raise PublishError listing every problem.  Scores under the key are computed on request
    (`responses_rescore`); which key is official for a wave is chosen with `wave_key_select`.
    """
    if key.status == PublishState.PUBLISHED:
        return key
    if key.status == PublishState.RETIRED:
        raise PublishError([f"{key.label} is retired"])
    if key.instrument_version.status != PublishState.PUBLISHED:
        raise PublishError([f"{key.instrument_version} is a draft: publish it, and its keys are published with it"])
    problems = key_problems(key)
    if problems:
        raise PublishError(problems)
    key.status = PublishState.PUBLISHED
    key.published_at = timezone.now()
    key.published_by = _actor(user)
    key.save()
    AuditEvent.objects.create(
        actor=key.published_by,
        action="key.publish",
        object_type="ScoringKey",
        object_id=str(key.pk),
        summary=f"{key.label} published",
        details={"instrument": key.instrument_version.instrument.code, "version": key.instrument_version.version,
                 "key": key.version, "based_on": key.based_on.version if key.based_on else None,
                 "excluded": key.excluded},
    )
    return key


def responses_rescore(
    *, key: ScoringKey, wave: Wave | None = None, county_id: int | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> int:
    """Score the stored responses of KEY's instrument version under KEY: of WAVE only, if given,
    else of COUNTY_ID's waves, if given, else of every county (the command line's rescoring).

    Instruments and keys are shared by counties; a county's admin rescores only their county's
    responses.  Scores under other keys stay as they are; responses already scored under KEY
    are skipped.  Return how many were scored.
    """
    if key.status != PublishState.PUBLISHED:
        raise QuestionnaireError([f"{key.label} is not published: publish it before scoring with it"])
    responses = Response.objects.filter(instrument_version=key.instrument_version).order_by("pk")
    if wave is not None:
        responses = responses.filter(wave=wave)
    elif county_id is not None:
        responses = responses.filter(wave__county_id=county_id)
    scored = responses_score(key=key, responses=responses)
    if scored:  # the report figures of the waves whose official key this is
        waves = Wave.objects.filter(pk__in=responses.values_list("wave_id", flat=True))
        _report_estimates_refresh(w.pk for w in waves if _is_official(key, w))
    AuditEvent.objects.create(
        actor=_actor(user),
        action="responses.rescore",
        object_type="ScoringKey",
        object_id=str(key.pk),
        county_id=wave.county_id if wave is not None else county_id,
        summary=f"{scored} responses scored under {key.label}" + (f" (wave {wave.code})" if wave else ""),
        details={"key": key.label, "wave": wave.code if wave else None, "scored": scored},
    )
    return scored


@transaction.atomic
def wave_key_select(
    *, wave: Wave, instrument_code: str, key: ScoringKey, user: AbstractBaseUser | AnonymousUser | None = None
) -> WaveInstrument:
    """Make KEY the official key of INSTRUMENT_CODE in WAVE, scoring its unscored responses first."""
    fielded = (
        WaveInstrument.objects.select_for_update(of=("self",))
        .filter(wave=wave, instrument_version__instrument__code=instrument_code)
        .select_related("instrument_version", "scoring_key")
        .first()
    )
    if fielded is None:
        raise QuestionnaireError([f"{instrument_code} is not fielded in wave {wave.code}"])
    if key.instrument_version_id != fielded.instrument_version_id:
        raise QuestionnaireError([f"{key.label} is not a key of {fielded.instrument_version}, which wave {wave.code} fields"])
    if key.status != PublishState.PUBLISHED:
        raise QuestionnaireError([f"{key.label} is not published"])
    previous = fielded.scoring_key
    if previous is not None and previous.pk == key.pk:
        return fielded
    scored = responses_rescore(key=key, wave=wave, user=user)
    fielded.scoring_key = key
    fielded.save(update_fields=["scoring_key"])
    _report_estimates_refresh([wave.pk])  # (the rescoring above did not: KEY was not official yet)
    AuditEvent.objects.create(
        actor=_actor(user),
        action="key.select",
        object_type="WaveInstrument",
        object_id=str(fielded.pk),
        county_id=wave.county_id,
        summary=f"wave {wave.code} {instrument_code}: official key {previous.label if previous else 'none'} → {key.label}",
        details={"wave": wave.code, "instrument": instrument_code, "from": previous.label if previous else None,
                 "to": key.label, "scored": scored},
    )
    return fielded


def _is_official(key: ScoringKey, wave: Wave) -> bool:
    try:
        return wave_key(wave, key.instrument_version.instrument.code).pk == key.pk
    except DataProblem:  # not fielded in the wave, or no published key
        return False


def _report_estimates_refresh(wave_ids: Iterable[int]) -> None:
    """Once this transaction commits, recompute and store the report figures of WAVE_IDS (the
    `reports.estimates_store` job), as a weighting run does: their scores or official key changed."""
    for wave_id in sorted(set(wave_ids)):
        transaction.on_commit(partial(jobs.enqueue, "reports.estimates_store", wave_id=wave_id), robust=True)


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


class Stored(NamedTuple):
    """What `response_submit` did: the stored response, whether this call created it, and
    whether it is scored under the key it was given (False when no key was given)."""

    response: Response
    created: bool
    scored: bool


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
    plan: list[PlanStep] | None = None,
    key: ScoringKey | None = None,
) -> Stored:
    """Store a submission once, score it under KEY if given, and say what was done.

    PLAN, when given, is the case's plan as read just before (`respondent_state`): a
    questionnaire it shows as not yet done is stored without first looking for an earlier copy
    (the unique client id and the one-sheet-per-case constraint still catch a concurrent
    retry), and the case's disposition is updated from it without reading it again.

    A retry with the same client id returns the stored response (created False) if the
    answers are the same, and refuses it if they differ; a retry of a response that was
    stored but not scored is scored now.  The response, the case's disposition and the score
    are committed together before this returns, so an acknowledged submission survives a
    crash; a scoring failure is logged and leaves the response stored, unscored (the next
    `responses_score` run over the key picks it up).
    """
    cleaned = validate_answers(compiled_form(version), submission.answers, context=context)
    digest = payload_hash(version, cleaned)
    step = next((s for s in plan if s.version.pk == version.pk), None) if plan is not None else None
    if step is None or step.status == "done":
        existing = Response.objects.filter(client_id=submission.client_id).first()
        if existing is not None:
            return _retry(_same_submission(existing, digest, case), key)
        if case is not None:
            other = Response.objects.filter(case=case, instrument_version=version).first()
            if other is not None and other.client_id == submission.client_id:
                return _retry(_same_submission(other, digest, case), key)  # a concurrent retry stored it meanwhile
            if other is not None:
                raise SubmissionError({"case": "this questionnaire has already been submitted for this household"})
    started = submission.started_at
    if started is not None and timezone.is_naive(started):
        started = timezone.make_aware(started)  # a device that sent no zone: the site's
    submitted = submission.submitted_at or timezone.now()
    duration = int((submitted - started).total_seconds()) if started and submitted > started else None
    if duration is not None and duration > MAX_DURATION_SECONDS:
        duration = None  # a device clock that is decades off; it would not fit the column either
    response = Response(
        client_id=submission.client_id,
        wave_id=wave.pk,
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
    # Scored before anything is written (it needs only the answers and the compiled key), so
    # a scoring failure leaves the response to be stored unscored, and no savepoint is needed.
    score = _score_fresh(response, key) if key is not None else None
    disposition = None  # the case's new disposition, if this submission changes it
    if case is not None:
        after = plan_after(plan if plan is not None else respondent_plan(case), version, cleaned)
        # Complete once every questionnaire the case is eligible for is in, partial before that.
        reached = "complete" if next_step(after) is None else "partial"
        disposition = reached if reached != case.disposition else None
    try:
        submission_store(
            response,
            score=score,
            case=case,
            disposition=disposition,
            # A submission is an opening too, recorded with it (the API opens without writing).
            opened=invitation if invitation is not None and invitation.first_opened_at is None else None,
            now=timezone.now(),
        )
    except IntegrityError:
        # A concurrent retry of the same submission won the race, or another sheet of the
        # same questionnaire for this household did.
        existing = Response.objects.filter(client_id=submission.client_id).first()
        if existing is None:
            raise SubmissionError({"case": "this questionnaire has already been submitted for this household"}) from None
        return _retry(_same_submission(existing, digest, case), key)
    return Stored(response, True, score is not None)


def _score_fresh(response: Response, key: ScoringKey) -> ResponseScore | None:
    """Score a response not yet stored under KEY (unsaved); None (logged) if that fails."""
    if key.instrument_version_id != response.instrument_version_id:
        return None
    try:
        return _scores_build(key, [response])[0]
    except Exception:
        logger.exception("scoring client id %s under key %s failed", response.client_id, key.pk)
        return None


def _retry(response: Response, key: ScoringKey | None) -> Stored:
    """Answer a retry of a stored response, scoring it now if the first attempt did not."""
    if key is None:
        return Stored(response, False, False)
    if not ResponseScore.objects.filter(response=response, key=key).exists():
        responses_score_new(response, key=key)
    return Stored(response, False, ResponseScore.objects.filter(response=response, key=key).exists())


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
    _scores_create(key, todo)
    return len(todo)


def _scores_create(key: ScoringKey, todo: list[Response]) -> None:
    """Score TODO (responses of the key's instrument version, not yet scored under it)."""
    ResponseScore.objects.bulk_create(_scores_build(key, todo))


def _scores_build(key: ScoringKey, todo: list[Response]) -> list[ResponseScore]:
    """Return TODO's scores under KEY, unsaved."""
    compiled = key_compile(key)
    rows = [r.answers for r in todo]
    result = key_math.score(compiled.arrays, key_math.encode_answers(compiled.arrays, rows))
    groups = groups_classify(key, rows)
    benchmarks = result.benchmark_json()
    names = compiled.arrays.item_names
    return [
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
    ]


def groups_classify(key: ScoringKey, rows: list[Mapping[str, Any]]) -> list[list[str]]:
    """Return, per answer row, the names of the key's groups whose rule holds."""
    if key.status == PublishState.PUBLISHED and key.published_at is not None:
        rules = _published_group_rules(key.pk, key.published_at.isoformat(), key.source_hash)
    else:
        rules = _group_rules(key)
    return [[name for name, tree in rules if expressions.holds(tree, row)] for row in rows]


def _group_rules(key: ScoringKey) -> tuple[tuple[str, Any], ...]:
    return tuple((g.name, expressions.parse(g.rule)) for g in key.groups.all())


@lru_cache(maxsize=64)
def _published_group_rules(key_id: int, published_at: str, source_hash: str) -> tuple[tuple[str, Any], ...]:
    # Published keys are immutable (see key_compile), so their parsed rules are kept per process.
    return _group_rules(ScoringKey.objects.get(pk=key_id))


def responses_score_new(response: Response, key: ScoringKey | None = None) -> None:
    """Score a freshly stored response under its wave's official key (if the instrument is scored).

    KEY, when the caller knows the wave's official key (a `PlanStep.key`), saves looking it up.
    """
    from assessment.models import WaveInstrument

    if key is None:
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
