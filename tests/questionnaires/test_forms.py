"""The compiled form and answer validation: types, options, required, constraint, skip logic."""
from __future__ import annotations

from typing import Any

import pytest

from questionnaires.expressions import parse
from questionnaires.forms import (
    CompiledForm,
    FormItem,
    FormOption,
    SubmissionError,
    compiled_form,
    validate_answers,
)
from questionnaires.models import InstrumentVersion
from questionnaires.services import instrument_import, instrument_publish
from tests.questionnaires.xlsform_tables import FORMS_DIR

VALIDATION_FORM = FORMS_DIR / "validation_test.md"
VALID = {"age": "42", "smokes": "no"}


@pytest.fixture
def version(db: None) -> InstrumentVersion:
    draft = instrument_import(data=VALIDATION_FORM.read_bytes(), filename=VALIDATION_FORM.name)
    return instrument_publish(version=draft)


@pytest.fixture
def form(version: InstrumentVersion) -> CompiledForm:
    return compiled_form(version)


def errors_of(form: CompiledForm, answers: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(SubmissionError) as caught:
        validate_answers(form, answers, **kwargs)
    return caught.value.errors


# --------------------------------------------------------------------------- compiled form


def test_compiled_form_lists_items_in_order_with_their_sections(form: CompiledForm) -> None:
    assert form.instrument_code == "validation_test"
    assert (form.title_zh, form.title_en) == ("校验测试", "Validation test")
    assert [(i.name, i.type, i.section) for i in form.items] == [
        ("intro", "note", None),
        ("age", "integer", "about"),
        ("height", "decimal", "about"),
        ("smokes", "single", "about"),
        ("cigarettes", "integer", "about"),
        ("fruit", "multiple", "about"),
        ("comment", "text", "about"),
        ("pension", "single", "later_life"),
    ]
    assert [s.name for s in form.sections] == ["about", "later_life"]
    assert form.by_name["fruit"].options == (
        FormOption("apple", "苹果", "Apple"), FormOption("pear", "梨", "Pear"), FormOption("peach", "桃", "Peach"),
    )
    assert form.by_name["age"].constraint == parse(". >= 12 and . <= 100")
    assert form.by_name["age"].constraint_message_en == "Age must be between 12 and 100"


def test_item_relevance_includes_its_sections(form: CompiledForm) -> None:
    assert form.by_name["age"].relevant is None
    assert form.by_name["cigarettes"].relevant == parse("${smokes} = 'yes'")
    assert form.by_name["pension"].relevant == ["op", "and", parse("${age} >= 60"), parse("${smokes} = 'no'")]


def test_published_form_is_compiled_once(version: InstrumentVersion) -> None:
    assert compiled_form(version) is compiled_form(version)


def test_draft_form_is_compiled_afresh(db: None) -> None:
    draft = instrument_import(data=VALIDATION_FORM.read_bytes(), filename=VALIDATION_FORM.name)
    first = compiled_form(draft)
    item = draft.items.get(name="comment")
    item.label_en = "Remarks"
    item.save()
    second = compiled_form(draft)
    assert first is not second
    assert second.by_name["comment"].label_en == "Remarks"


# --------------------------------------------------------------------------- cleaned values


def test_answers_are_cleaned_to_their_types(form: CompiledForm) -> None:
    cleaned = validate_answers(
        form,
        {"age": "42", "height": "1.65", "smokes": "no", "fruit": ["pear", "apple"], "comment": "ok", "intro": ""},
    )
    assert cleaned == {"age": 42, "height": 1.65, "smokes": "no", "fruit": ["apple", "pear"], "comment": "ok"}
    assert type(cleaned["age"]) is int and type(cleaned["height"]) is float


@pytest.mark.parametrize(("raw", "value"), [("42", 42), (" 42 ", 42), (42, 42), (42.0, 42), ("０42", 42)])
def test_integer_answers(form: CompiledForm, raw: Any, value: int) -> None:
    assert validate_answers(form, {**VALID, "age": raw})["age"] == value


@pytest.mark.parametrize("raw", ["4.5", 4.5, True, "forty", "1e2", "1234567890", ["42"], {"n": 42}, "--42", "4²"])
def test_integer_answers_refused(form: CompiledForm, raw: Any) -> None:
    assert errors_of(form, {**VALID, "age": raw}) == {"answers.age": "expected a whole number"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [("abc", "expected a number"), ("nan", "expected a finite number"), ("inf", "expected a finite number"),
     (False, "expected a number")],
)
def test_decimal_answers_refused(form: CompiledForm, raw: Any, message: str) -> None:
    assert errors_of(form, {**VALID, "height": raw}) == {"answers.height": message}


def test_multiple_choice_from_a_space_separated_string(form: CompiledForm) -> None:
    assert validate_answers(form, {**VALID, "fruit": "peach  apple"})["fruit"] == ["apple", "peach"]


@pytest.mark.parametrize("empty", [None, "", []])
def test_empty_answer_is_no_answer(form: CompiledForm, empty: Any) -> None:
    assert "fruit" not in validate_answers(form, {**VALID, "fruit": empty})


# --------------------------------------------------------------------------- refusals


def test_unknown_question_is_refused(form: CompiledForm) -> None:
    assert errors_of(form, {**VALID, "shoe_size": 42}) == {"answers.shoe_size": "not a question of this questionnaire"}


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({"smokes": "maybe"}, "smokes", "'maybe' is not an option of this question"),
        ({"smokes": ["no"]}, "smokes", "['no'] is not an option of this question"),
        ({"fruit": ["apple", "kiwi"]}, "fruit", "'kiwi' is not an option of this question"),
        ({"fruit": ["apple", 3]}, "fruit", "expected a list of options"),
        ({"fruit": {"apple": True}}, "fruit", "expected a list of options"),
        ({"fruit": ["apple", "apple"]}, "fruit", "an option is selected twice"),
        ({"comment": 12}, "comment", "expected text of at most 2000 characters"),
        ({"comment": "x" * 2001}, "comment", "expected text of at most 2000 characters"),
        ({"intro": "hello"}, "intro", "this question takes no answer"),
    ],
)
def test_malformed_answer_is_refused(form: CompiledForm, answers: dict[str, Any], field: str, message: str) -> None:
    assert errors_of(form, {**VALID, **answers}) == {f"answers.{field}": message}


@pytest.mark.parametrize("missing", [{}, {"age": ""}, {"age": None}])
def test_required_question_must_be_answered(form: CompiledForm, missing: dict[str, Any]) -> None:
    answers = {"smokes": "no", **missing}
    assert errors_of(form, answers) == {"answers.age": "this question is required"}


def test_constraint_violation_gives_the_form_message(form: CompiledForm) -> None:
    assert errors_of(form, {**VALID, "age": 8}) == {"answers.age": "Age must be between 12 and 100"}
    assert errors_of(form, {**VALID, "age": "101"}) == {"answers.age": "Age must be between 12 and 100"}
    assert validate_answers(form, {**VALID, "age": 12})["age"] == 12


def test_constraint_without_message_has_a_default_one(form: CompiledForm) -> None:
    assert errors_of(form, {**VALID, "height": "3.5"}) == {"answers.height": "the answer is out of range"}
    assert errors_of(form, {**VALID, "comment": "far too long a remark"}) == {
        "answers.comment": "the answer is out of range"
    }


def test_question_skipped_by_relevance_must_not_be_answered(form: CompiledForm) -> None:
    errors = errors_of(form, {**VALID, "cigarettes": 5})
    assert errors == {"answers.cigarettes": "answered although the questionnaire skips this question"}


def test_relevant_required_question_must_be_answered(form: CompiledForm) -> None:
    assert errors_of(form, {"age": 40, "smokes": "yes"}) == {"answers.cigarettes": "this question is required"}
    assert validate_answers(form, {"age": 40, "smokes": "yes", "cigarettes": "10"})["cigarettes"] == 10


def test_section_relevance_applies_to_its_items(form: CompiledForm) -> None:
    # later_life is shown only from 60; pension, inside it, only to non-smokers.
    assert errors_of(form, {"age": 40, "smokes": "no", "pension": "yes"}) == {
        "answers.pension": "answered although the questionnaire skips this question"
    }
    assert errors_of(form, {"age": 65, "smokes": "no"}) == {"answers.pension": "this question is required"}
    assert validate_answers(form, {"age": 65, "smokes": "yes", "cigarettes": 2}) == {
        "age": 65, "smokes": "yes", "cigarettes": 2,
    }
    assert validate_answers(form, {"age": 65, "smokes": "no", "pension": "yes"})["pension"] == "yes"


def test_every_bad_answer_is_reported_at_once(form: CompiledForm) -> None:
    errors = errors_of(form, {"age": 8, "smokes": "maybe", "fruit": ["kiwi"], "shoe_size": 1})
    assert set(errors) == {"answers.age", "answers.smokes", "answers.fruit", "answers.shoe_size"}


@pytest.mark.parametrize("answers", [["age", 42], "age=42", None, 42])
def test_answers_must_be_an_object(form: CompiledForm, answers: Any) -> None:
    assert errors_of(form, answers) == {"answers": "expected an object mapping question names to answers"}


def test_submission_error_names_fields_in_its_message() -> None:
    error = SubmissionError({"answers.age": "this question is required", "case": "already submitted"})
    assert str(error) == "answers.age: this question is required; case: already submitted"
    assert isinstance(error, ValueError)


# --------------------------------------------------------------------------- context


def _item(name: str, relevant: str = "", required: bool = False) -> FormItem:
    return FormItem(
        id=1, name=name, type="single", section=None, required=required,
        relevant=parse(relevant) if relevant else None, constraint=None,
        constraint_message_zh="", constraint_message_en="",
        options=(FormOption("yes", "是", "Yes"), FormOption("no", "否", "No")),
        label_zh=name, label_en=name, hint_zh="", hint_en="", appearance="", randomize=False,
    )


ELDERS_MODULE = CompiledForm(
    version_id=1, instrument_code="elders", title_zh="老年人", title_en="Elders", sections=(),
    items=(_item("smartphone", required=True), _item("pension", "${age} >= 60 and ${sex} = 'female'", True)),
)


def test_context_values_from_demographics_drive_relevance() -> None:
    woman_of_62 = {"age": 62, "sex": "female"}
    assert errors_of(ELDERS_MODULE, {"smartphone": "yes"}, context=woman_of_62) == {
        "answers.pension": "this question is required"
    }
    assert validate_answers(ELDERS_MODULE, {"smartphone": "yes", "pension": "no"}, context=woman_of_62) == {
        "smartphone": "yes", "pension": "no",
    }
    assert errors_of(ELDERS_MODULE, {"smartphone": "yes", "pension": "no"}, context={"age": 45, "sex": "female"}) == {
        "answers.pension": "answered although the questionnaire skips this question"
    }
    # Without the context the question is skipped, and context values are not returned as answers.
    assert validate_answers(ELDERS_MODULE, {"smartphone": "no"}) == {"smartphone": "no"}
    assert validate_answers(ELDERS_MODULE, {"smartphone": "no"}, context={"age": 30}) == {"smartphone": "no"}


def test_answers_cannot_supply_context_values() -> None:
    errors = errors_of(ELDERS_MODULE, {"smartphone": "yes", "age": 62})
    assert errors == {"answers.age": "not a question of this questionnaire"}
