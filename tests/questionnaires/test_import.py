"""Importing and publishing instruments: what is stored, versions, immutability, atomicity."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum

from questionnaires import services
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
    ScoringKey,
    Section,
)
from questionnaires.services import instrument_import, instrument_publish
from questionnaires.xlsform import XLSFormError
from tests.questionnaires.builders import bank_import, key_of, mini_import
from tests.questionnaires.xlsform_tables import BANKS_DIR, MINI_FORM, changed, read_tables, set_cell, to_markdown

pytestmark = pytest.mark.django_db

STORED_MODELS = (
    Instrument, InstrumentVersion, Section, ChoiceList, Choice, Item, Dimension, ScoringKey, ItemKey,
    ItemKey.dimensions.through, BenchmarkRule, GroupRule,
)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in STORED_MODELS}


def test_import_stores_version_sections_choices_and_items() -> None:
    version = mini_import(publish=False)
    assert version.instrument.code == "mini_test"
    assert (version.instrument.name_zh, version.instrument.name_en) == ("小测验", "Mini test")
    assert version.instrument.kind == Instrument.Kind.TEST
    assert (version.instrument.age_min, version.instrument.age_max) == (18, 69)
    assert (version.version, version.status) == (1, PublishState.DRAFT)
    assert (version.title_zh, version.title_en) == ("小测验", "Mini test")
    assert bytes(version.source) == MINI_FORM.read_bytes()
    assert version.source_name == "mini_test.md"
    assert [s.name for s in version.sections.order_by("order")] == ["kn", "sk"]
    items = list(version.items.select_related("section", "choice_list").order_by("order"))
    assert [(i.name, i.type, i.section.name if i.section else None) for i in items] == [
        ("q1", "true_false", "kn"), ("q2", "single", "kn"), ("q3", "multiple", "sk"),
        ("hours", "integer", "sk"), ("why", "text", "sk"),
    ]
    assert [i.choice_list.name if i.choice_list else None for i in items] == ["tf", "q2", "q3", None, None]
    assert [(i.label_zh, i.label_en) for i in items][0] == ("水在零度结冰。", "Water freezes at 0.")
    assert items[3].constraint == ". >= 0 and . <= 24" and items[4].relevant == "${hours} > 8"
    assert [i.required for i in items] == [True, True, True, False, False]
    q3 = version.choice_lists.get(name="q3")
    assert [(c.name, c.label_zh, c.label_en) for c in q3.choices.order_by("order")] == [
        ("a", "甲", "A"), ("b", "乙", "B"), ("c", "丙", "C"),
    ]
    assert [(d.code, d.family) for d in version.dimensions.order_by("order")] == [
        ("knowledge", "aspect"), ("skills", "aspect"), ("chronic", "category"), ("infectious", "category"),
    ]


def test_import_stores_the_scoring_key() -> None:
    version = mini_import(publish=False)
    key = version.scoring_keys.get()
    assert (key.version, key.status) == (1, PublishState.DRAFT)
    item_keys = {ik.item.name: ik for ik in key.item_keys.select_related("item").prefetch_related("dimensions")}
    assert {n: (ik.points, ik.correct) for n, ik in item_keys.items()} == {
        "q1": (Decimal("1.00"), ["true"]),
        "q2": (Decimal("1.00"), ["b"]),
        "q3": (Decimal("2.00"), ["a", "c"]),
    }
    assert {n: sorted(d.code for d in ik.dimensions.all()) for n, ik in item_keys.items()} == {
        "q1": ["chronic", "knowledge"],
        "q2": ["infectious", "knowledge"],
        "q3": ["chronic", "skills"],
    }
    benchmarks = list(key.benchmarks.order_by("order"))
    assert [(b.name, b.scope, b.basis, b.threshold, b.levels) for b in benchmarks] == [
        ("mini", "total", "share", 0.75, [["high", 0.9], ["literate", 0.75]]),
        ("mini_aspect", "family:aspect", "share", 0.8, []),
    ]
    assert (benchmarks[0].label_zh, benchmarks[0].label_en) == ("达标", "Literate")
    assert not key.groups.exists()


def test_import_stores_group_rules_of_a_module() -> None:
    version = bank_import("demographics", publish=False)
    assert version.instrument.kind == Instrument.Kind.MODULE
    key = version.scoring_keys.get()
    assert not key.item_keys.exists()
    assert [(g.name, g.rule) for g in key.groups.order_by("order")] == [
        ("youth", "${age} >= 15 and ${age} <= 35"),
        ("farmer", "${occupation} = 'farmer'"),
        ("worker", "${occupation} = 'industrial_worker'"),
        ("elder", "${age} >= 60"),
        ("cadre", "${occupation} = 'cadre' or ${occupation} = 'civil_servant'"),
    ]


def test_unscored_form_without_groups_gets_no_key() -> None:
    tables = changed(read_tables(MINI_FORM))
    del tables["benchmarks"]
    for name in ("q1", "q2", "q3"):
        set_cell(tables, "survey", name, "points", "")
        set_cell(tables, "survey", name, "correct", "")
    version = instrument_import(data=to_markdown(tables), filename="mini_test.md")
    assert not version.scoring_keys.exists()


def test_importing_identical_bytes_again_returns_the_same_version() -> None:
    first = mini_import(publish=False)
    before = row_counts()
    again = instrument_import(data=MINI_FORM.read_bytes(), filename="renamed.md")
    assert again.pk == first.pk
    assert row_counts() == before


def test_importing_changed_bytes_makes_version_2() -> None:
    first = mini_import()
    tables = changed(read_tables(MINI_FORM))
    set_cell(tables, "survey", "q2", "correct", "a")
    second = instrument_import(data=to_markdown(tables), filename="mini_test.md")
    assert (first.instrument_id, first.version, second.version) == (second.instrument_id, 1, 2)
    assert second.status == PublishState.DRAFT
    assert key_of(second).item_keys.get(item__name="q2").correct == ["a"]
    assert key_of(first).item_keys.get(item__name="q2").correct == ["b"]
    # And importing the first bytes again still finds version 1.
    assert instrument_import(data=MINI_FORM.read_bytes(), filename="mini_test.md").pk == first.pk


def test_publish_stamps_the_version_and_its_key() -> None:
    version = mini_import(publish=False)
    instrument_publish(version=version)
    version.refresh_from_db()
    key = version.scoring_keys.get()
    assert version.status == PublishState.PUBLISHED and version.published_at is not None
    assert key.status == PublishState.PUBLISHED and key.published_at == version.published_at
    # Publishing twice changes nothing and does not raise.
    instrument_publish(version=version)
    version.refresh_from_db()
    assert version.status == PublishState.PUBLISHED


def test_draft_rows_can_still_be_edited() -> None:
    version = mini_import(publish=False)
    item = version.items.get(name="q1")
    item.label_en = "Water freezes at 0 °C."
    item.save()
    item_key = version.scoring_keys.get().item_keys.get(item=item)
    item_key.points = Decimal("3")
    item_key.save()
    assert ItemKey.objects.get(pk=item_key.pk).points == Decimal("3.00")


def test_published_version_and_key_are_immutable() -> None:
    version = mini_import()
    item = version.items.get(name="q1")
    choice = Choice.objects.get(choice_list__version=version, choice_list__name="q2", name="b")
    item_key = key_of(version).item_keys.get(item__name="q2")
    edits = [
        (item, "label_en", "changed"),
        (choice, "name", "c"),
        (item_key, "correct", ["a"]),
        (version.sections.get(name="kn"), "relevant", "1 = 2"),
        (version.dimensions.get(code="skills"), "family", "other"),
        (key_of(version).benchmarks.get(name="mini"), "threshold", 0.5),
        (version, "title_en", "changed"),
    ]
    for row, field, value in edits:
        setattr(row, field, value)
        with pytest.raises(PermissionError):
            row.save()
    assert ItemKey.objects.get(pk=item_key.pk).correct == ["b"]
    assert Choice.objects.get(pk=choice.pk).name == "b"
    assert InstrumentVersion.objects.get(pk=version.pk).title_en == "Mini test"


def test_new_rows_cannot_be_added_to_a_published_version() -> None:
    version = mini_import()
    with pytest.raises(PermissionError):
        Item.objects.create(version=version, order=9, name="extra", type=Item.Type.TEXT, xlsform_type="text")
    q2 = version.choice_lists.get(name="q2")
    with pytest.raises(PermissionError):
        Choice.objects.create(choice_list=q2, order=9, name="z", label_zh="丁")


def test_bad_form_writes_nothing() -> None:
    mini_import()
    before = row_counts()
    tables = changed(read_tables(MINI_FORM))
    set_cell(tables, "survey", "q2", "correct", "z")
    with pytest.raises(XLSFormError):
        instrument_import(data=to_markdown(tables), filename="mini_test.md")
    assert row_counts() == before


def test_failure_while_storing_rolls_everything_back(monkeypatch: pytest.MonkeyPatch) -> None:
    before = row_counts()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    # Fails after the version, its items and its key are written.
    monkeypatch.setattr(services.GroupRule.objects, "bulk_create", broken)
    tables = changed(read_tables(BANKS_DIR / "demographics.md"))
    set_cell(tables, "survey", "age", "label::English (en)", "Age")  # new bytes, so never an existing version
    with pytest.raises(RuntimeError):
        instrument_import(data=to_markdown(tables), filename="demographics.md")
    assert row_counts() == before


BANK_STEMS = sorted(p.stem for p in BANKS_DIR.glob("*.md"))


def test_every_shipped_bank_imports_and_publishes() -> None:
    for stem in BANK_STEMS:
        version = bank_import(stem)
        assert version.instrument.code == stem
        assert version.status == PublishState.PUBLISHED
        assert version.items.exists()


@pytest.mark.parametrize(
    ("stem", "total", "items", "dimension_maxima"),
    [
        ("science_literacy", 100, 50, {"knowledge": 40, "methods": 20, "spirit": 20, "application": 20}),
        ("health_literacy", 66, 50, {
            "knowledge": 28, "lifestyle": 22, "skills": 16,
            "scientific_view": 11, "infectious": 7, "chronic": 12, "safety": 14, "medical": 14, "information": 8,
        }),
    ],
)
def test_bank_keys_total_their_published_points(
    stem: str, total: int, items: int, dimension_maxima: dict[str, int]
) -> None:
    key = key_of(bank_import(stem))
    assert key.item_keys.count() == items
    assert key.item_keys.aggregate(total=Sum("points"))["total"] == total
    by_dimension = dict(
        ItemKey.dimensions.through.objects.filter(itemkey__key=key)
        .values_list("dimension__code")
        .annotate(points=Sum("itemkey__points"))
    )
    assert by_dimension == dimension_maxima


def test_health_bank_marks_situational_and_multiple_items() -> None:
    version = bank_import("health_literacy")
    items = version.items.all()
    assert items.filter(type=Item.Type.MULTIPLE).count() == 16
    assert items.filter(situational=True).count() == 4
    assert items.filter(type=Item.Type.NOTE).exists()
    assert items.get(name="hl09").randomize and not items.get(name="hl01").randomize


# --------------------------------------------------------------------------- formats and limits


def test_xls_form_imports_with_its_key() -> None:
    from tests.questionnaires.test_xlsform import XLS_FORM

    version = instrument_import(data=XLS_FORM.read_bytes(), filename=XLS_FORM.name)
    assert version.source_name == "mini_test.xls"
    key = version.scoring_keys.get()
    assert {ik.item.name: ik.correct for ik in key.item_keys.select_related("item")} == {
        "q1": ["true"], "q2": ["b"], "q3": ["a", "c"],
    }
    assert list(key.benchmarks.values_list("name", flat=True)) == ["mini", "mini_aspect"]


def test_values_at_the_length_limits_are_stored() -> None:
    # The longest name, labels and title the columns hold (also on PostgreSQL, which checks lengths).
    tables = changed(read_tables(MINI_FORM))
    set_cell(tables, "survey", "why", "name", "w" * 64)
    set_cell(tables, "choices", "c", "label::中文 (zh)", "丙" * 255)
    set_cell(tables, "dimensions", "chronic", "label::English (en)", "C" * 128)
    header = tables["settings"][0]
    tables["settings"][1][header.index("form_title::中文 (zh)")] = "题" * 128
    version = instrument_import(data=to_markdown(tables), filename="mini_test.md")
    assert version.items.filter(name="w" * 64).exists()
    assert version.instrument.name_zh == "题" * 128
    instrument_publish(version=version)


# --------------------------------------------------------------------------- requires


def requiring_demographics() -> bytes:
    tables = changed(read_tables(MINI_FORM))
    header = tables["settings"][0]
    header.append("requires")
    tables["settings"][1].append("demographics")
    set_cell(tables, "survey", "why", "relevant", "${age} >= 60 and ${hours} > 8")
    return to_markdown(tables)


def test_form_requiring_an_unpublished_module_is_refused() -> None:
    bank_import("demographics", publish=False)
    with pytest.raises(XLSFormError) as caught:
        instrument_import(data=requiring_demographics(), filename="mini_test.md")
    problem, consequence = caught.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("settings", 2, "requires")
    assert "no published version of that module yet" in problem.message
    assert str(consequence) == "survey row 9 column 'relevant': ${age} does not name a question of this form"


def test_form_requiring_another_module_than_demographics_is_refused() -> None:
    bank_import("elders")
    tables = changed(read_tables(MINI_FORM))
    tables["settings"][0].append("requires")
    tables["settings"][1].append("elders")
    with pytest.raises(XLSFormError) as caught:
        instrument_import(data=to_markdown(tables), filename="mini_test.md")
    (problem,) = caught.value.problems
    assert problem.message.startswith("requires 'elders': only demographics can be required")


def test_form_reading_demographics_imports_publishes_and_validates_with_them() -> None:
    from questionnaires.forms import SubmissionError, compiled_form, validate_answers

    bank_import("demographics")
    version = instrument_publish(version=instrument_import(data=requiring_demographics(), filename="mini_test.md"))
    assert version.form_settings["requires"] == "demographics"
    form = compiled_form(version)
    answers = {"q1": "true", "q2": "b", "q3": ["a"], "hours": 9, "why": "night shifts"}
    assert validate_answers(form, answers, context={"age": 70})["why"] == "night shifts"
    # A younger respondent skips the question, so answering it is refused.
    with pytest.raises(SubmissionError) as caught:
        validate_answers(form, answers, context={"age": 30})
    assert caught.value.errors == {"answers.why": "answered although the questionnaire skips this question"}
