"""Reading XLSForms (Markdown and .xlsx) with our extension sheets, and refusing bad ones whole."""
from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from questionnaires.xlsform import FormProblem, ParsedForm, XLSFormError, parse_levels, read_xlsform
from tests.questionnaires.xlsform_tables import (
    BANKS_DIR,
    MINI_FORM,
    Tables,
    add_row,
    changed,
    delete_row,
    read_tables,
    set_cell,
    to_csv,
    to_markdown,
    to_xlsx,
)

MINI = read_tables(MINI_FORM)
BANK_STEMS = sorted(p.stem for p in BANKS_DIR.glob("*.md"))


def parsed(tables: Tables, fmt: str = "md") -> ParsedForm:
    data = to_markdown(tables) if fmt == "md" else to_xlsx(tables)
    return read_xlsform(data, f"form.{fmt}")


def problems_of(tables: Tables, fmt: str = "md") -> list[FormProblem]:
    with pytest.raises(XLSFormError) as caught:
        parsed(tables, fmt)
    return caught.value.problems


def comparable(form: ParsedForm) -> dict[str, Any]:
    """Return FORM as a dict without what depends on the file format (its bytes and name)."""
    data = dataclasses.asdict(form)
    del data["source"], data["source_name"]
    return data


# --------------------------------------------------------------------------- the mini form


@pytest.fixture(scope="module")
def mini_form() -> ParsedForm:
    return read_xlsform(MINI_FORM.read_bytes(), MINI_FORM.name)


def test_mini_form_settings(mini_form: ParsedForm) -> None:
    assert mini_form.form_id == "mini_test"
    assert mini_form.version == "1"
    assert mini_form.titles == {"zh": "小测验", "en": "Mini test"}
    assert mini_form.settings["instrument_kind"] == "test"
    assert mini_form.settings["population"] == "18-69"
    assert mini_form.source_name == "mini_test.md"
    assert mini_form.source_hash == hashlib.sha256(MINI_FORM.read_bytes()).hexdigest()
    assert mini_form.is_scored


def test_mini_form_sections_hold_their_items(mini_form: ParsedForm) -> None:
    assert [(s.name, s.row, s.labels) for s in mini_form.sections] == [
        ("kn", 2, {"zh": "知识", "en": "Knowledge"}),
        ("sk", 6, {"zh": "技能", "en": "Skills"}),
    ]
    assert [(i.name, i.section, i.row) for i in mini_form.items] == [
        ("q1", "kn", 3), ("q2", "kn", 4), ("q3", "sk", 7), ("hours", "sk", 8), ("why", "sk", 9),
    ]


def test_mini_form_items(mini_form: ParsedForm) -> None:
    items = {i.name: i for i in mini_form.items}
    assert {n: (i.type, i.list_name) for n, i in items.items()} == {
        "q1": ("true_false", "tf"),
        "q2": ("single", "q2"),
        "q3": ("multiple", "q3"),
        "hours": ("integer", None),
        "why": ("text", None),
    }
    assert {n: (i.points, i.correct, i.dimensions) for n, i in items.items()} == {
        "q1": (Decimal(1), ["true"], ["knowledge", "chronic"]),
        "q2": (Decimal(1), ["b"], ["knowledge", "infectious"]),
        "q3": (Decimal(2), ["a", "c"], ["skills", "chronic"]),
        "hours": (None, [], []),
        "why": (None, [], []),
    }
    assert [n for n, i in items.items() if i.required] == ["q1", "q2", "q3"]
    assert items["hours"].constraint == ". >= 0 and . <= 24"
    assert items["why"].relevant == "${hours} > 8"
    assert items["q1"].labels == {"zh": "水在零度结冰。", "en": "Water freezes at 0."}
    assert items["q3"].xlsform_type == "select_multiple q3"


def test_mini_form_choice_lists_keep_their_order(mini_form: ParsedForm) -> None:
    assert {name: [c.name for c in options] for name, options in mini_form.choice_lists.items()} == {
        "tf": ["true", "false"],
        "q2": ["a", "b"],
        "q3": ["a", "b", "c"],
    }
    assert mini_form.choice_lists["q3"][2].labels == {"zh": "丙", "en": "C"}


def test_mini_form_dimensions_and_benchmarks(mini_form: ParsedForm) -> None:
    assert [(d.name, d.values["family"]) for d in mini_form.dimensions] == [
        ("knowledge", "aspect"), ("skills", "aspect"), ("chronic", "category"), ("infectious", "category"),
    ]
    assert mini_form.dimensions[2].labels == {"zh": "慢性病", "en": "Chronic disease"}
    assert [(b.name, b.row, b.values) for b in mini_form.benchmarks] == [
        ("mini", 2, {"scope": "total", "basis": "share", "threshold": "0.75", "levels": "high:0.9 literate:0.75"}),
        ("mini_aspect", 3, {"scope": "family:aspect", "basis": "share", "threshold": "0.8"}),
    ]
    assert mini_form.groups == []


def test_parse_levels_orders_highest_first() -> None:
    assert parse_levels("low:0 literate:70 high:85 basic:55") == [
        ("high", 85.0), ("literate", 70.0), ("basic", 55.0), ("low", 0.0),
    ]
    assert parse_levels("") == []


# --------------------------------------------------------------------------- xlsx


def test_mini_form_as_xlsx_reads_the_same() -> None:
    from_md = read_xlsform(MINI_FORM.read_bytes(), MINI_FORM.name)
    from_xlsx = read_xlsform(to_xlsx(MINI), "mini_test.xlsx")
    assert comparable(from_xlsx) == comparable(from_md)
    assert from_xlsx.source_name == "mini_test.xlsx"
    assert from_xlsx.source_hash != from_md.source_hash


@pytest.mark.parametrize("stem", BANK_STEMS)
def test_every_bank_as_xlsx_reads_the_same(stem: str) -> None:
    # The banks carry the groups sheet, hints, rationales and parameters the mini form lacks.
    path = BANKS_DIR / f"{stem}.md"
    from_md = read_xlsform(path.read_bytes(), path.name)
    from_xlsx = read_xlsform(to_xlsx(read_tables(path)), f"{stem}.xlsx")
    assert comparable(from_xlsx) == comparable(from_md)


def test_demographics_groups_are_read_from_xlsx_too() -> None:
    path = BANKS_DIR / "demographics.md"
    form = read_xlsform(to_xlsx(read_tables(path)), "demographics.xlsx")
    assert {g.name: g.values["rule"] for g in form.groups}["elder"] == "${age} >= 60"
    assert not form.is_scored


# --------------------------------------------------------------------------- malformed forms

Change = Callable[[Tables], None]


def _end_group_first(t: Tables) -> None:
    add_row(t, "survey", 0, type="end_group")


def _duplicate_choice(t: Tables) -> None:
    add_row(t, "choices", None, list_name="q2", name="a", **{"label::中文 (zh)": "又甲", "label::English (en)": "A again"})


def _groups(rule: str, name: str = "older", label: str = "老人") -> Change:
    def change(t: Tables) -> None:
        t["groups"] = [["name", "label::中文 (zh)", "label::English (en)", "rule"], [name, label, "Older", rule]]

    return change


def _setting(t: Tables, column: str, value: str) -> None:
    header = t["settings"][0]
    if column not in header:
        header.append(column)
        t["settings"][1].append("")
    t["settings"][1][header.index(column)] = value


MALFORMED: list[tuple[str, Change, tuple[str, int, str, str]]] = [
    ("unknown type", lambda t: set_cell(t, "survey", "hours", "type", "geopoint"),
     ("survey", 8, "type", "unknown type 'geopoint'")),
    ("unknown group type", lambda t: set_cell(t, "survey", "kn", "type", "begin repeat"),
     ("survey", 2, "type", "unknown type 'begin repeat'")),
    ("select without list", lambda t: set_cell(t, "survey", "q2", "type", "select_one"),
     ("survey", 4, "type", "select_one needs exactly one choice list name")),
    ("select list missing from choices", lambda t: set_cell(t, "survey", "q2", "type", "select_one nolist"),
     ("survey", 4, "type", "choice list 'nolist' is not in the choices sheet")),
    ("duplicate question name", lambda t: set_cell(t, "survey", "why", "name", "q1"),
     ("survey", 9, "name", "duplicate name 'q1'")),
    ("group named like a question", lambda t: set_cell(t, "survey", "sk", "name", "q1"),
     ("survey", 6, "name", "duplicate name 'q1'")),
    ("invalid question name", lambda t: set_cell(t, "survey", "why", "name", "why not"),
     ("survey", 9, "name", "missing or invalid name 'why not'")),
    ("duplicate choice", _duplicate_choice,
     ("choices", 9, "name", "duplicate choice 'a' in list 'q2'")),
    ("choice without label", lambda t: (set_cell(t, "choices", "c", "label::中文 (zh)", ""),
                                         set_cell(t, "choices", "c", "label::English (en)", "")),
     ("choices", 8, "label", "choice 'c' has no label")),
    ("bad relevant", lambda t: set_cell(t, "survey", "why", "relevant", "${hours} >"),
     ("survey", 9, "relevant", "bad expression '${hours} >': unexpected 'end of expression' at position 11")),
    ("bad constraint", lambda t: set_cell(t, "survey", "hours", "constraint", ". >= 0 an"),
     ("survey", 8, "constraint", "bad expression '. >= 0 an': unexpected 'an' at position 8")),
    ("bad section relevant", lambda t: set_cell(t, "survey", "sk", "relevant", "count-selected()"),
     ("survey", 6, "relevant", "count-selected() takes 1 argument(s), got 0")),
    ("bad regular expression", lambda t: set_cell(t, "survey", "why", "constraint", "regex(., '([0-9]')"),
     ("survey", 9, "constraint", "bad regular expression '([0-9]'")),
    ("reference to an unknown question", lambda t: set_cell(t, "survey", "why", "relevant", "${minutes} > 8"),
     ("survey", 9, "relevant", "${minutes} does not name a question of this form")),
    ("relevant reading a later question", lambda t: set_cell(t, "survey", "hours", "relevant", "${why} = 'x'"),
     ("survey", 8, "relevant", "${why} is answered at or after this question: a condition can only read earlier answers")),
    ("relevant reading its own question", lambda t: set_cell(t, "survey", "hours", "relevant", "${hours} > 1"),
     ("survey", 8, "relevant", "${hours} is answered at or after this question")),
    ("constraint reading a later question", lambda t: set_cell(t, "survey", "hours", "constraint", ". < ${why}"),
     ("survey", 8, "constraint", "${why} is answered at or after this question")),
    ("section relevant reading a question inside it", lambda t: set_cell(t, "survey", "sk", "relevant", "${hours} > 1"),
     ("survey", 6, "relevant", "${hours} is answered at or after this question")),
    ("unclosed group", lambda t: delete_row(t, "survey", len(t["survey"]) - 2),
     ("survey", 6, "type", "group 'sk' is never closed with end_group")),
    ("end_group without begin", _end_group_first,
     ("survey", 2, "type", "end_group without a matching begin_group")),
    ("points without correct", lambda t: set_cell(t, "survey", "q2", "correct", ""),
     ("survey", 4, "correct", "'q2' has points but no correct answer")),
    ("correct without points", lambda t: set_cell(t, "survey", "q2", "points", ""),
     ("survey", 4, "points", "'q2' has a correct answer but no points")),
    ("points not a number", lambda t: set_cell(t, "survey", "q2", "points", "one"),
     ("survey", 4, "points", "points 'one' is not a number")),
    ("points negative", lambda t: set_cell(t, "survey", "q2", "points", "-1"),
     ("survey", 4, "points", "points must be a positive number")),
    ("points NaN", lambda t: set_cell(t, "survey", "q2", "points", "NaN"),
     ("survey", 4, "points", "points must be a positive number")),
    ("points too large to store", lambda t: set_cell(t, "survey", "q2", "points", "1e10"),
     ("survey", 4, "points", "points must be a positive number below 10000")),
    ("points too fine to store", lambda t: set_cell(t, "survey", "q2", "points", "0.125"),
     ("survey", 4, "points", "at most 2 decimals")),
    ("points on a text question", lambda t: (set_cell(t, "survey", "why", "points", "1"),
                                             set_cell(t, "survey", "why", "correct", "x")),
     ("survey", 9, "points", "text questions cannot carry points")),
    ("correct not an option", lambda t: set_cell(t, "survey", "q2", "correct", "z"),
     ("survey", 4, "correct", "'z' is not an option of list 'q2'")),
    ("two correct on single choice", lambda t: set_cell(t, "survey", "q2", "correct", "a b"),
     ("survey", 4, "correct", "a single-answer question has one correct option")),
    ("two correct on true/false", lambda t: set_cell(t, "survey", "q1", "correct", "true false"),
     ("survey", 3, "correct", "a single-answer question has one correct option")),
    ("unknown kind", lambda t: set_cell(t, "survey", "q2", "kind", "essay"),
     ("survey", 4, "kind", "unknown kind 'essay'")),
    ("unknown dimension", lambda t: set_cell(t, "survey", "q2", "dimension", "knowledge nope"),
     ("survey", 4, "dimension", "dimension 'nope' is not in the dimensions sheet")),
    ("dimension without family", lambda t: set_cell(t, "dimensions", "skills", "family", ""),
     ("dimensions", 3, "family", "dimension 'skills' has no family")),
    ("duplicate dimension", lambda t: set_cell(t, "dimensions", "skills", "name", "knowledge"),
     ("dimensions", 3, "name", "duplicate name 'knowledge'")),
    ("benchmark scope unknown", lambda t: set_cell(t, "benchmarks", "mini", "scope", "county"),
     ("benchmarks", 2, "scope", "scope 'county' must be total, family:NAME or dimension:CODE")),
    ("benchmark family unknown", lambda t: set_cell(t, "benchmarks", "mini_aspect", "scope", "family:area"),
     ("benchmarks", 3, "scope", "no dimension has family 'area'")),
    ("benchmark dimension unknown", lambda t: set_cell(t, "benchmarks", "mini_aspect", "scope", "dimension:area"),
     ("benchmarks", 3, "scope", "no dimension 'area'")),
    ("benchmark basis", lambda t: set_cell(t, "benchmarks", "mini", "basis", "percent"),
     ("benchmarks", 2, "basis", "basis must be points or share")),
    ("benchmark threshold not a number", lambda t: set_cell(t, "benchmarks", "mini", "threshold", "most"),
     ("benchmarks", 2, "threshold", "threshold must be a number")),
    ("benchmark threshold NaN", lambda t: (set_cell(t, "benchmarks", "mini", "basis", "points"),
                                           set_cell(t, "benchmarks", "mini", "threshold", "nan")),
     ("benchmarks", 2, "threshold", "threshold must be a number")),
    ("benchmark share above 1", lambda t: set_cell(t, "benchmarks", "mini", "threshold", "75"),
     ("benchmarks", 2, "threshold", "a share threshold lies in (0, 1]")),
    ("benchmark share of 0", lambda t: set_cell(t, "benchmarks", "mini_aspect", "threshold", "0"),
     ("benchmarks", 3, "threshold", "a share threshold lies in (0, 1]")),
    ("benchmark level without cut-off", lambda t: set_cell(t, "benchmarks", "mini", "levels", "high:0.9 literate"),
     ("benchmarks", 2, "levels", "level 'literate' must read name:cut-off")),
    ("benchmark level cut-off not a number", lambda t: set_cell(t, "benchmarks", "mini", "levels", "high:x"),
     ("benchmarks", 2, "levels", "level 'high:x' must read name:cut-off")),
    ("benchmark level cut-off infinite", lambda t: set_cell(t, "benchmarks", "mini", "levels", "high:inf"),
     ("benchmarks", 2, "levels", "level 'high:inf' must read name:cut-off")),
    ("benchmark without label", lambda t: (set_cell(t, "benchmarks", "mini", "label::中文 (zh)", ""),
                                           set_cell(t, "benchmarks", "mini", "label::English (en)", "")),
     ("benchmarks", 2, "label", "'mini' has no label")),
    ("group rule with a bad expression", _groups("${hours} >= "),
     ("groups", 2, "rule", "bad expression '${hours} >=': unexpected 'end of expression' at position 12")),
    ("group rule naming an unknown question", _groups("${age} >= 60"),
     ("groups", 2, "rule", "${age} does not name a question of this form")),
    ("group without rule", _groups(""),
     ("groups", 2, "rule", "group 'older' has no rule")),
    ("missing English label", lambda t: set_cell(t, "survey", "q2", "label::English (en)", ""),
     ("survey", 4, "label (en)", "'q2' has no en label")),
    ("missing Chinese label", lambda t: set_cell(t, "survey", "hours", "label::中文 (zh)", ""),
     ("survey", 8, "label (zh)", "'hours' has no zh label")),
    # Field lengths: what the database could not hold is refused here, naming the cell (never a 500).
    ("question name too long", lambda t: set_cell(t, "survey", "why", "name", "w" * 65),
     ("survey", 9, "name", "is 65 characters long; at most 64 fit")),
    ("group name too long", lambda t: set_cell(t, "survey", "sk", "name", "s" * 65),
     ("survey", 6, "name", "at most 64 fit")),
    ("section label too long", lambda t: set_cell(t, "survey", "kn", "label::English (en)", "K" * 256),
     ("survey", 2, "label (en)", "is 256 characters long; at most 255 fit")),
    ("constraint message too long", lambda t: set_cell(t, "survey", "hours", "constraint_message::English (en)", "x" * 256),
     ("survey", 8, "constraint_message (en)", "at most 255 fit")),
    ("appearance too long", lambda t: set_cell(t, "survey", "hours", "appearance", "a" * 65),
     ("survey", 8, "appearance", "at most 64 fit")),
    ("choice name too long", lambda t: set_cell(t, "choices", "c", "name", "c" * 65),
     ("choices", 8, "name", "at most 64 fit")),
    ("choice label too long", lambda t: set_cell(t, "choices", "c", "label::中文 (zh)", "丙" * 256),
     ("choices", 8, "label (zh)", "is 256 characters long; at most 255 fit")),
    ("dimension label too long", lambda t: set_cell(t, "dimensions", "chronic", "label::English (en)", "C" * 129),
     ("dimensions", 4, "label (en)", "at most 128 fit")),
    ("dimension family too long", lambda t: set_cell(t, "dimensions", "infectious", "family", "f" * 33),
     ("dimensions", 5, "family", "at most 32 fit")),
    ("benchmark label too long", lambda t: set_cell(t, "benchmarks", "mini", "label::中文 (zh)", "达" * 129),
     ("benchmarks", 2, "label (zh)", "at most 128 fit")),
    ("group rule name too long", _groups("${q1} = 'true'", name="g" * 33),
     ("groups", 2, "name", "at most 32 fit")),
    ("group label too long", _groups("${q1} = 'true'", label="老" * 65),
     ("groups", 2, "label (zh)", "at most 64 fit")),
    ("form title too long", lambda t: _setting(t, "form_title::中文 (zh)", "题" * 129),
     ("settings", 2, "form_title (zh)", "at most 128 fit")),
    ("form_id too long", lambda t: _setting(t, "form_id", "f" * 65),
     ("settings", 2, "form_id", "at most 64 fit")),
    # Settings the importer stores in typed columns.
    ("instrument kind unknown", lambda t: _setting(t, "instrument_kind", "questionnaire"),
     ("settings", 2, "instrument_kind", "instrument_kind must be test or module")),
    ("population not ages", lambda t: _setting(t, "population", "18 to 69"),
     ("settings", 2, "population", "population must read MIN-MAX")),
    ("population out of order", lambda t: _setting(t, "population", "69-18"),
     ("settings", 2, "population", "population must read MIN-MAX")),
    # Benchmarks that could never be met, or levels that mean nothing.
    ("points threshold above the maximum", lambda t: (set_cell(t, "benchmarks", "mini", "basis", "points"),
                                                      set_cell(t, "benchmarks", "mini", "threshold", "5"),
                                                      set_cell(t, "benchmarks", "mini", "levels", "")),
     ("benchmarks", 2, "threshold", "5 points can never be reached: the total has at most 4")),
    ("points threshold of 0", lambda t: (set_cell(t, "benchmarks", "mini", "basis", "points"),
                                         set_cell(t, "benchmarks", "mini", "threshold", "0"),
                                         set_cell(t, "benchmarks", "mini", "levels", "")),
     ("benchmarks", 2, "threshold", "a points threshold must be above 0")),
    ("dimension threshold above its maximum", lambda t: (set_cell(t, "benchmarks", "mini_aspect", "scope", "dimension:skills"),
                                                         set_cell(t, "benchmarks", "mini_aspect", "basis", "points"),
                                                         set_cell(t, "benchmarks", "mini_aspect", "threshold", "3")),
     ("benchmarks", 3, "threshold", "dimension 'skills' has at most 2")),
    ("level above the points maximum", lambda t: (set_cell(t, "benchmarks", "mini", "basis", "points"),
                                                  set_cell(t, "benchmarks", "mini", "threshold", "3"),
                                                  set_cell(t, "benchmarks", "mini", "levels", "high:5 literate:3")),
     ("benchmarks", 2, "levels", "level 'high:5': the total has at most 4 points")),
    ("share level above 1", lambda t: set_cell(t, "benchmarks", "mini", "levels", "high:90 literate:75"),
     ("benchmarks", 2, "levels", "a share cut-off lies in [0, 1]")),
    ("levels on a family benchmark", lambda t: set_cell(t, "benchmarks", "mini_aspect", "levels", "high:0.9"),
     ("benchmarks", 3, "levels", "levels apply only to a benchmark on the total")),
    ("benchmark on a dimension no question scores", lambda t: set_cell(t, "survey", "q3", "dimension", "chronic"),
     ("benchmarks", 3, "scope", "dimension 'skills' has no scored question in this key")),
    ("correct option named twice", lambda t: set_cell(t, "survey", "q3", "correct", "a a"),
     ("survey", 7, "correct", "an option is named twice")),
]


# Faults that rightly cause a second problem elsewhere.
CONSEQUENCES = {
    "unknown group type": {("survey", 5)},  # its end_group no longer closes anything
    "duplicate dimension": {("survey", 7)},  # q3 counts toward the dimension that is now gone
    "group name too long": {("survey", 10)},  # its end_group no longer closes anything
    "choice name too long": {("survey", 7)},  # q3's key names option c, which is refused
}


@pytest.mark.parametrize("fmt", ["md", "xlsx"])
@pytest.mark.parametrize(("case", "change", "expected"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_form_is_refused_naming_sheet_row_and_column(
    case: str, change: Change, expected: tuple[str, int, str, str], fmt: str
) -> None:
    tables = changed(MINI)
    change(tables)
    problems = problems_of(tables, fmt)
    sheet, row, column, message = expected
    assert any(
        (p.sheet, p.row, p.column) == (sheet, row, column) and message in p.message for p in problems
    ), [str(p) for p in problems]
    # Nothing else is blamed on an unrelated row.
    blamed = {(p.sheet, p.row) for p in problems}
    assert blamed == {(sheet, row)} | CONSEQUENCES.get(case, set()), [str(p) for p in problems]


def test_conditions_may_read_earlier_answers_and_a_constraint_its_own() -> None:
    tables = changed(MINI)
    set_cell(tables, "survey", "hours", "constraint", "${hours} >= 0 and ${hours} <= 24")
    set_cell(tables, "survey", "hours", "relevant", "selected(${q3}, 'a')")
    form = read_xlsform(to_markdown(tables), "mini_test.md")
    assert next(i for i in form.items if i.name == "hours").relevant == "selected(${q3}, 'a')"


def test_problem_reads_sheet_row_and_column() -> None:
    tables = changed(MINI)
    set_cell(tables, "survey", "hours", "type", "geopoint")
    (problem,) = problems_of(tables)
    assert str(problem) == "survey row 8 column 'type': unknown type 'geopoint'"


def test_several_problems_are_reported_together() -> None:
    tables = changed(MINI)
    set_cell(tables, "survey", "hours", "type", "geopoint")
    _duplicate_choice(tables)
    set_cell(tables, "benchmarks", "mini", "basis", "percent")
    set_cell(tables, "survey", "q2", "label::English (en)", "")
    set_cell(tables, "survey", "why", "relevant", "${minutes} > 8")
    with pytest.raises(XLSFormError) as caught:
        parsed(tables)
    where = {(p.sheet, p.row, p.column) for p in caught.value.problems}
    assert where == {
        ("survey", 8, "type"),
        ("choices", 9, "name"),
        ("benchmarks", 2, "basis"),
        ("survey", 4, "label (en)"),
        ("survey", 9, "relevant"),
    }
    message = str(caught.value)
    assert "unknown type 'geopoint'" in message and "basis must be points or share" in message
    assert message.count("; ") == 4


def test_benchmarks_without_scored_questions_are_refused() -> None:
    tables = changed(MINI)
    for name in ("q1", "q2", "q3"):
        set_cell(tables, "survey", name, "points", "")
        set_cell(tables, "survey", name, "correct", "")
    (problem,) = problems_of(tables)
    assert (problem.sheet, problem.message) == ("benchmarks", "benchmarks given but no question carries points")


def test_form_id_must_be_an_identifier() -> None:
    tables = changed(MINI)
    header = tables["settings"][0]
    tables["settings"][1][header.index("form_id")] = "mini test!"
    (problem,) = problems_of(tables)
    assert (problem.sheet, problem.row, problem.column) == ("settings", 2, "form_id")


def test_form_id_defaults_to_the_file_name() -> None:
    tables = changed(MINI)
    header = tables["settings"][0]
    tables["settings"][1][header.index("form_id")] = ""
    assert read_xlsform(to_markdown(tables), "health_2026.md").form_id == "health_2026"


@pytest.mark.parametrize(
    ("data", "filename", "sheet", "message"),
    [
        (b"", "form.md", "workbook", "cannot read the file"),
        (b"", "form.xlsx", "workbook", "cannot read the file"),
        (b"PK\x03\x04 not really a zip", "form.xlsx", "workbook", "cannot read the file"),
        (b"\xd0\xcf\x11\xe0 broken", "form.xls", "workbook", "cannot read the file"),
        (b"just some words", "form.md", "workbook", "cannot read the file"),
        ("| survey |\n| | type | name |\n| | text | é |\n".encode("latin-1"), "form.md", "workbook",
         "cannot read the file"),
        (b"| survey |\n| | type | name |\n", "form.md", "survey", "the survey sheet is missing or empty"),
        (b"| choices |\n| | list_name | name | label |\n| | yn | y | Yes |\n", "form.md", "survey",
         "the survey sheet is missing or empty"),
        (b"type,name\n", "form.txt", "workbook", "cannot read the file"),
    ],
)
def test_empty_or_unreadable_file_is_refused(data: bytes, filename: str, sheet: str, message: str) -> None:
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(data, filename)
    (problem,) = caught.value.problems
    assert problem.sheet == sheet
    assert problem.message.startswith(message)


def test_workbook_without_survey_sheet_is_refused() -> None:
    tables = changed(MINI)
    del tables["survey"]
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(to_xlsx(tables), "form.xlsx")
    assert [p.sheet for p in caught.value.problems] == ["survey"]


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b"])
def test_control_characters_are_refused(character: str) -> None:
    # PostgreSQL cannot store NUL, and no spreadsheet can hold the other controls.
    tables = changed(MINI)
    set_cell(tables, "survey", "q1", "label::English (en)", f"Water{character}freezes")
    (problem,) = problems_of(tables)
    assert (problem.sheet, problem.row, problem.column) == ("survey", 3, "label::English (en)")
    assert problem.message == f"contains the control character U+{ord(character):04X}"


# --------------------------------------------------------------------------- .xls and .csv

XLS_FORM = Path(__file__).resolve().parent / "fixtures" / "mini_test.xls"


def test_xls_form_reads_the_same_with_its_extension_sheets() -> None:
    # The .xls was written by fixtures/make_xls.py from the Markdown mini form.
    from_xls = read_xlsform(XLS_FORM.read_bytes(), XLS_FORM.name)
    assert comparable(from_xls) == comparable(read_xlsform(MINI_FORM.read_bytes(), MINI_FORM.name))
    assert [d.name for d in from_xls.dimensions] == ["knowledge", "skills", "chronic", "infectious"]
    assert [b.name for b in from_xls.benchmarks] == ["mini", "mini_aspect"]


def test_csv_form_without_scoring_reads_like_the_others() -> None:
    tables = changed(MINI)
    for sheet in ("dimensions", "benchmarks"):
        del tables[sheet]
    for name in ("q1", "q2", "q3"):
        for column in ("points", "correct", "dimension"):
            set_cell(tables, "survey", name, column, "")
    from_csv = read_xlsform(to_csv(tables), "mini_test.csv")
    assert comparable(from_csv) == comparable(parsed(tables))
    assert [i.name for i in from_csv.items] == ["q1", "q2", "q3", "hours", "why"]


def test_csv_form_with_scoring_is_refused() -> None:
    tables = changed(MINI)
    for sheet in ("dimensions", "benchmarks"):
        del tables[sheet]
    for name in ("q1", "q2", "q3"):
        set_cell(tables, "survey", name, "dimension", "")
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(to_csv(tables), "mini_test.csv")
    (problem,) = caught.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("survey", 3, "points")
    assert problem.message.startswith("a .csv form cannot be scored")


@pytest.mark.parametrize("sheets", [("dimensions", "benchmarks"), ("groups",)])
def test_csv_form_with_extension_sheets_is_refused(sheets: tuple[str, ...]) -> None:
    tables = changed(MINI)
    if "groups" in sheets:
        del tables["dimensions"], tables["benchmarks"]
        _groups("${q1} = 'true'")(tables)
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(to_csv(tables), "mini_test.csv")
    assert [p.sheet for p in caught.value.problems] == list(sheets)
    assert all("a .csv form cannot carry the extension sheets" in p.message for p in caught.value.problems)


# --------------------------------------------------------------------------- requires


def requiring(relevant: str, requires: str = "demographics") -> Tables:
    tables = changed(MINI)
    _setting(tables, "requires", requires)
    set_cell(tables, "survey", "why", "relevant", relevant)
    return tables


def demographics(code: str) -> list[str]:
    if code != "demographics":
        raise LookupError(f"requires {code!r}: not a module")
    return ["age", "sex", "occupation"]


def test_form_may_read_the_questions_of_a_module_it_requires() -> None:
    tables = requiring("${age} >= 60 and selected(${occupation}, 'farmer') and ${hours} > 8")
    form = read_xlsform(to_markdown(tables), "mini_test.md", modules=demographics)
    assert form.requires == ["demographics"]
    assert {i.name: i.relevant for i in form.items}["why"].startswith("${age} >= 60")


def test_module_questions_without_requires_are_unknown() -> None:
    tables = changed(MINI)
    set_cell(tables, "survey", "why", "relevant", "${age} >= 60")
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(to_markdown(tables), "mini_test.md", modules=demographics)
    (problem,) = caught.value.problems
    assert (problem.sheet, problem.row, problem.column, problem.message) == (
        "survey", 9, "relevant", "${age} does not name a question of this form",
    )


@pytest.mark.parametrize(
    ("requires", "modules", "message"),
    [
        ("elders", demographics, "requires 'elders': not a module"),
        ("demographics", None, "requires 'demographics': other instruments cannot be looked up here"),
        ("mini_test", demographics, "a form cannot require itself ('mini_test')"),
    ],
)
def test_requires_an_unknown_module_is_refused(requires: str, modules: Any, message: str) -> None:
    tables = requiring("${hours} > 8", requires)
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(to_markdown(tables), "mini_test.md", modules=modules)
    (problem,) = caught.value.problems
    assert (problem.sheet, problem.row, problem.column, problem.message) == ("settings", 2, "requires", message)


def test_question_named_like_a_required_modules_question_is_refused() -> None:
    tables = requiring("${hours} > 8")
    set_cell(tables, "survey", "why", "name", "age")
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(to_markdown(tables), "mini_test.md", modules=demographics)
    (problem,) = caught.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("survey", 9, "name")
    assert problem.message == "'age' is also a question of the required module 'demographics'"


def test_group_rules_read_only_the_forms_own_questions() -> None:
    tables = requiring("${hours} > 8")
    _groups("${age} >= 60")(tables)
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(to_markdown(tables), "mini_test.md", modules=demographics)
    assert [(p.sheet, p.row, p.column) for p in caught.value.problems] == [("groups", 2, "rule")]
