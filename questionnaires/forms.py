"""A published instrument version compiled once for validation and rendering.

Published versions never change, so their compiled form is cached per process; drafts are
compiled afresh each time.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from questionnaires import expressions
from questionnaires.expressions import Node
from questionnaires.models import InstrumentVersion, Item, PublishState

SELECT_TYPES = (Item.Type.TRUE_FALSE, Item.Type.SINGLE, Item.Type.LIKERT, Item.Type.MULTIPLE)


@dataclass(frozen=True)
class FormOption:
    name: str
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class FormItem:
    id: int
    name: str
    type: str
    section: str | None
    required: bool
    relevant: Node | None  # the item's own relevance and its section's, combined
    constraint: Node | None
    constraint_message_zh: str
    constraint_message_en: str
    options: tuple[FormOption, ...]
    label_zh: str
    label_en: str
    hint_zh: str
    hint_en: str
    appearance: str
    randomize: bool

    @property
    def option_names(self) -> frozenset[str]:
        return frozenset(o.name for o in self.options)


@dataclass(frozen=True)
class FormSection:
    name: str
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class CompiledForm:
    version_id: int
    instrument_code: str
    title_zh: str
    title_en: str
    items: tuple[FormItem, ...]
    sections: tuple[FormSection, ...]

    @property
    def by_name(self) -> Mapping[str, FormItem]:
        return {i.name: i for i in self.items}


def _tree(text: str) -> Node | None:
    return expressions.parse(text) if text and text.strip() else None


def _both(a: Node | None, b: Node | None) -> Node | None:
    if a is None:
        return b
    if b is None:
        return a
    return ["op", "and", a, b]


def _compile(version: InstrumentVersion) -> CompiledForm:
    items = version.items.select_related("section", "choice_list").prefetch_related("choice_list__choices")
    compiled = []
    for item in items.order_by("order"):
        section_relevant = _tree(item.section.relevant) if item.section else None
        options = tuple(
            FormOption(c.name, c.label_zh, c.label_en) for c in item.choice_list.choices.all()
        ) if item.choice_list else ()
        compiled.append(
            FormItem(
                id=item.pk,
                name=item.name,
                type=item.type,
                section=item.section.name if item.section else None,
                required=item.required,
                relevant=_both(section_relevant, _tree(item.relevant)),
                constraint=_tree(item.constraint),
                constraint_message_zh=item.constraint_message_zh,
                constraint_message_en=item.constraint_message_en,
                options=options,
                label_zh=item.label_zh,
                label_en=item.label_en,
                hint_zh=item.hint_zh,
                hint_en=item.hint_en,
                appearance=item.appearance,
                randomize=item.randomize,
            )
        )
    sections = tuple(FormSection(s.name, s.label_zh, s.label_en) for s in version.sections.order_by("order"))
    return CompiledForm(
        version_id=version.pk,
        instrument_code=version.instrument.code,
        title_zh=version.title_zh,
        title_en=version.title_en,
        items=tuple(compiled),
        sections=sections,
    )


@lru_cache(maxsize=64)
def _published(version_id: int) -> CompiledForm:
    return _compile(InstrumentVersion.objects.select_related("instrument").get(pk=version_id))


def compiled_form(version: InstrumentVersion) -> CompiledForm:
    """Return VERSION compiled; cached when published (published versions are immutable)."""
    if version.status == PublishState.PUBLISHED:
        return _published(version.pk)
    return _compile(version)


class SubmissionError(ValueError):
    """A submission that cannot be stored; `errors` maps a field (e.g. "answers.age") to a message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def _normalise(item: FormItem, raw: Any) -> Any:
    if item.type in (Item.Type.TRUE_FALSE, Item.Type.SINGLE, Item.Type.LIKERT):
        if not isinstance(raw, str) or raw not in item.option_names:
            raise ValueError(f"{raw!r} is not an option of this question")
        return raw
    if item.type == Item.Type.MULTIPLE:
        if isinstance(raw, str):
            raw = raw.split()
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise ValueError("expected a list of options")
        unknown = [v for v in raw if v not in item.option_names]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not an option of this question")
        if len(set(raw)) != len(raw):
            raise ValueError("an option is selected twice")
        return sorted(raw)
    if item.type == Item.Type.INTEGER:
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise ValueError("expected a whole number")
        text = str(raw).strip()
        if isinstance(raw, float):
            if not raw.is_integer():
                raise ValueError("expected a whole number")
            text = str(int(raw))
        if not text.lstrip("-").isdigit() or len(text) > 9:
            raise ValueError("expected a whole number")
        try:
            return int(text)
        except ValueError:  # isdigit() also admits digits int() cannot read, e.g. "²", and "--1"
            raise ValueError("expected a whole number") from None
    if item.type == Item.Type.DECIMAL:
        if isinstance(raw, bool):
            raise ValueError("expected a number")
        try:
            number = float(str(raw).strip())
        except ValueError:
            raise ValueError("expected a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("expected a finite number")
        return number
    if item.type == Item.Type.TEXT:
        if not isinstance(raw, str) or len(raw) > 2000:
            raise ValueError("expected text of at most 2000 characters")
        return raw
    raise ValueError("this question takes no answer")


def validate_answers(
    form: CompiledForm, raw_answers: Mapping[str, Any], *, context: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return the cleaned answers; raise SubmissionError naming every bad answer.

    Applies the rules the respondent page applies: skip logic (`relevant`), `required` and
    `constraint`.  CONTEXT supplies values other modules collected (e.g. demographics).
    """
    if not isinstance(raw_answers, Mapping):
        raise SubmissionError({"answers": "expected an object mapping question names to answers"})
    by_name = form.by_name
    errors = {f"answers.{name}": "not a question of this questionnaire" for name in raw_answers if name not in by_name}
    values: dict[str, Any] = dict(context or {})
    cleaned: dict[str, Any] = {}
    for item in form.items:
        if item.type == Item.Type.NOTE:
            if raw_answers.get(item.name) not in (None, ""):
                errors[f"answers.{item.name}"] = "this question takes no answer"
            continue
        raw = raw_answers.get(item.name)
        value = None
        if raw not in (None, "", []):
            try:
                value = _normalise(item, raw)
            except ValueError as exc:
                errors[f"answers.{item.name}"] = str(exc)
                continue
        if item.relevant is not None and not expressions.holds(item.relevant, values):
            if value is not None:
                errors[f"answers.{item.name}"] = "answered although the questionnaire skips this question"
            continue
        if value is None:
            if item.required:
                errors[f"answers.{item.name}"] = "this question is required"
            continue
        if item.constraint is not None and not expressions.holds(item.constraint, values, current=value):
            errors[f"answers.{item.name}"] = item.constraint_message_en or "the answer is out of range"
            continue
        values[item.name] = value
        cleaned[item.name] = value
    if errors:
        raise SubmissionError(errors)
    return cleaned
