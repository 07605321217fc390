"""XLSForm export: import → export → import gives the same form and the same key, for the mini form
and every shipped bank; the key file round-trips the same way."""
from __future__ import annotations

import dataclasses
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from questionnaires.models import InstrumentVersion, Item, PublishState, ScoringKey
from questionnaires.selectors import default_key, instrument_export, key_export, key_parsed, version_form
from questionnaires.services import instrument_import
from questionnaires.xlsform import ParsedForm, read_xlsform, write_xlsform
from tests.questionnaires.builders import bank_import, key_of, mini_import
from tests.questionnaires.xlsform_tables import (
    BANKS_DIR,
    MINI_FORM,
    add_row,
    changed,
    read_tables,
    set_cell,
    to_markdown,
)

BANK_STEMS = sorted(p.stem for p in BANKS_DIR.glob("*.md"))
SOURCES = [*(BANKS_DIR / f"{s}.md" for s in BANK_STEMS), MINI_FORM]


def comparable(form: ParsedForm) -> dict[str, Any]:
    data = dataclasses.asdict(form)
    del data["source"], data["source_name"]
    return data


def structure(version: InstrumentVersion) -> dict[str, Any]:
    """Return everything stored for VERSION but its identity, bytes and dates."""
    form = comparable(version_form(version))
    for rows in (form["sections"], form["items"], form["dimensions"], form["benchmarks"], form["groups"]):
        for row in rows:
            row["row"] = 0
    items = list(version.items.select_related("section", "choice_list").order_by("order").values(
        "name", "order", "type", "xlsform_type", "section__name", "choice_list__name", "situational", "label_zh",
        "label_en", "hint_zh", "hint_en", "required", "relevant", "constraint", "constraint_message_zh",
        "constraint_message_en", "appearance", "choice_filter", "randomize", "rationale_zh", "rationale_en", "extra",
    ))
    instrument = version.instrument
    return {
        "form": form,
        "items": items,
        "title": (version.title_zh, version.title_en),
        "settings": version.form_settings,
        "instrument": (instrument.code, instrument.kind, instrument.age_min, instrument.age_max),
    }


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_written_form_reads_back_the_same(path: Any) -> None:
    original = read_xlsform(path.read_bytes(), path.name)
    again = read_xlsform(write_xlsform(original), f"{path.stem}.xlsx")
    # Row numbers too: the workbook lays the rows out as the source did.
    assert comparable(again) == comparable(original)


@pytest.mark.django_db
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_import_export_import_gives_the_same_version_and_key(path: Any) -> None:
    first = instrument_import(data=path.read_bytes(), filename=path.name)
    exported = instrument_export(first)
    second = instrument_import(data=exported, filename=f"{path.stem}.xlsx")
    assert (second.instrument_id, second.version) == (first.instrument_id, 2)
    assert structure(second) == structure(first)
    first_key, second_key = default_key(first), default_key(second)
    assert (first_key is None) == (second_key is None)
    if first_key is not None and second_key is not None:
        assert key_parsed(second_key).content() == key_parsed(first_key).content()
        assert second_key.source_hash == first_key.source_hash
    # And once more: the export of the re-import is the same workbook content.
    assert comparable(read_xlsform(instrument_export(second), "again.xlsx")) == comparable(
        read_xlsform(exported, "again.xlsx")
    )


@pytest.mark.django_db
def test_export_has_both_languages_and_the_scoring_columns() -> None:
    version = bank_import("science_literacy")
    book = load_workbook(io.BytesIO(instrument_export(version)), read_only=True)
    assert book.sheetnames == ["survey", "choices", "settings", "dimensions", "benchmarks"]
    header = [c.value for c in next(book["survey"].rows)]
    for column in ("type", "name", "label::中文 (zh)", "label::English (en)", "required", "kind", "points", "correct",
                   "dimension", "rationale::中文 (zh)", "rationale::English (en)", "parameters"):
        assert column in header
    rows = {r[1]: dict(zip(header, r)) for r in book["survey"].iter_rows(min_row=2, values_only=True)}
    assert rows["sk09"]["type"] == "select_one sk09"
    assert (rows["sk09"]["points"], rows["sk09"]["correct"], rows["sk09"]["dimension"]) == (2, "b", "knowledge")
    assert rows["sk01"]["label::English (en)"] == "Sound can travel through a vacuum."
    benchmarks = list(book["benchmarks"].iter_rows(values_only=True))
    assert benchmarks[0] == ("name", "label::中文 (zh)", "label::English (en)", "scope", "basis", "threshold", "levels")
    assert benchmarks[1][3:] == ("total", "points", 70, "high:85 literate:70 basic:55 low:0")


@pytest.mark.django_db
def test_export_uses_the_key_asked_for() -> None:
    version = mini_import()
    key = key_of(version)
    revised = ScoringKey.objects.create(instrument_version=version, version=2, source_hash="-")
    form = read_xlsform(instrument_export(version, revised), "mini_test.xlsx")
    assert not form.is_scored and form.benchmarks == []
    assert read_xlsform(instrument_export(version, key), "mini_test.xlsx").is_scored
    # By default the latest published key (key 2 is a draft).
    assert read_xlsform(instrument_export(version), "mini_test.xlsx").is_scored


@pytest.mark.django_db
def test_export_keeps_text_that_looks_like_a_formula_and_empty_groups() -> None:
    tables = changed(read_tables(MINI_FORM))
    set_cell(tables, "survey", "why", "label::English (en)", "=why (not a formula)")
    add_row(tables, "survey", len(tables["survey"]) - 1, type="begin_group", name="empty",
            **{"label::中文 (zh)": "空", "label::English (en)": "Empty"})
    add_row(tables, "survey", len(tables["survey"]) - 1, type="end_group")
    version = instrument_import(data=to_markdown(tables), filename="mini_test.md")
    again = instrument_import(data=instrument_export(version), filename="mini_test.xlsx")
    assert again.items.get(name="why").label_en == "=why (not a formula)"
    assert list(again.sections.order_by("order").values_list("name", flat=True)) == ["kn", "sk", "empty"]
    assert structure(again) == structure(version)


@pytest.mark.django_db
def test_export_of_an_edited_draft_carries_the_edits() -> None:
    version = mini_import(publish=False)
    Item.objects.filter(pk=version.items.get(name="q1").pk).update(label_en="Water freezes at 0 °C.")
    key = key_of(version)
    q2 = key.item_keys.get(item__name="q2")
    q2.correct = ["a"]
    q2.save()
    form = read_xlsform(instrument_export(version), "mini_test.xlsx")
    assert {i.name: i.labels["en"] for i in form.items}["q1"] == "Water freezes at 0 °C."
    assert {i.name: i.correct for i in form.items}["q2"] == ["a"]


@pytest.mark.django_db
def test_key_file_round_trips_to_the_same_key() -> None:
    from questionnaires.services import key_import

    version = bank_import("health_literacy")
    key = key_of(version)
    same, created = key_import(version=version, data=key_export(key), filename="health.xlsx")
    assert (same.pk, created) == (key.pk, False)
    assert version.scoring_keys.count() == 1
    assert key.status == PublishState.PUBLISHED
