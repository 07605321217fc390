"""Structure of the XLSForm item banks in questionnaires/banks/.

The banks are Markdown-table XLSForms. The standard sheets are read with pyxform's own
reader; the scoring extension sheets (dimensions, benchmarks, groups) with pyxform's table
parser, exactly as the importer will. The numbers asserted here are the published
instrument specifications (DESIGN.md §2), so a change that breaks them must be deliberate.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
from pyxform.xls2json_backends import _md_table_to_ss_structure, md_to_dict
from pyxform.xls2xform import convert

BANKS_DIR = Path(__file__).resolve().parents[2] / "questionnaires" / "banks"

ZH = "中文 (zh)"
EN = "English (en)"
SURVEY_COLUMNS = [
    "type", "name", f"label::{ZH}", f"label::{EN}", f"hint::{ZH}", f"hint::{EN}", "required",
    "relevant", "constraint", f"constraint_message::{ZH}", f"constraint_message::{EN}",
    "appearance", "parameters", "kind", "points", "correct", "dimension", f"rationale::{ZH}",
    f"rationale::{EN}",
]
SCORED_KINDS = {"true_false", "single", "multiple", "situational"}
ALL_KINDS = SCORED_KINDS | {"likert"}
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
ALL_STEMS = [
    "demographics", "science_literacy", "health_literacy", "occupational_health", "elders",
    "youth_science",
]
TEST_STEMS = [s for s in ALL_STEMS if s != "demographics"]


@dataclass(frozen=True)
class Bank:
    stem: str
    survey: list[dict[str, str]]
    choices: list[dict[str, str]]
    settings: dict[str, str]
    survey_header: list[str]
    extra: dict[str, list[dict[str, str | None]]] = field(default_factory=dict)

    @property
    def items(self) -> list[dict[str, str]]:
        """Rows that are questions carrying a `kind` (test items and skill ratings)."""
        return [r for r in self.survey if r.get("kind")]

    @property
    def scored(self) -> list[dict[str, str]]:
        return [r for r in self.items if r["kind"] in SCORED_KINDS]

    def options(self, list_name: str) -> list[str]:
        return [c["name"] for c in self.choices if c["list_name"] == list_name]

    def dimension_families(self) -> dict[str, str]:
        return {d["name"]: d["family"] for d in self.extra.get("dimensions", [])}


def _sheet_as_dicts(rows: list[tuple[str | None, ...]]) -> list[dict[str, str | None]]:
    header = rows[0]
    return [{h: v for h, v in zip(header, row) if h} for row in rows[1:]]


@cache
def load(stem: str) -> Bank:
    text = (BANKS_DIR / f"{stem}.md").read_text(encoding="utf-8")
    book = md_to_dict(text)
    tables = _md_table_to_ss_structure(text)
    extra = {
        name: _sheet_as_dicts(rows)
        for name, rows in tables.items()
        if name in {"dimensions", "benchmarks", "groups"}
    }
    (settings,) = book["settings"]
    return Bank(
        stem=stem,
        survey=book["survey"],
        choices=book.get("choices", []),
        settings=settings,
        survey_header=list(tables["survey"][0]),
        extra=extra,
    )


def list_name(row: dict[str, str]) -> str | None:
    parts = row["type"].split()
    return parts[1] if len(parts) == 2 and parts[0] in {"select_one", "select_multiple"} else None


def points(row: dict[str, str]) -> int:
    return int(row["points"])


def points_by_dimension(bank: Bank, family: str) -> dict[str, int]:
    families = bank.dimension_families()
    totals: Counter[str] = Counter()
    for row in bank.scored:
        for code in row["dimension"].split():
            if families[code] == family:
                totals[code] += points(row)
    return dict(totals)


def items_by_dimension(bank: Bank) -> dict[str, int]:
    return dict(Counter(code for row in bank.scored for code in row["dimension"].split()))


def benchmark(bank: Bank, name: str) -> dict[str, str | None]:
    rows = [b for b in bank.extra.get("benchmarks", []) if b["name"] == name]
    assert len(rows) == 1, f"{bank.stem}: benchmark {name!r} missing or duplicated"
    return rows[0]


# --------------------------------------------------------------------------- every file


@pytest.mark.parametrize("stem", ALL_STEMS)
def test_survey_sheet_has_exactly_the_agreed_columns(stem):
    assert load(stem).survey_header == SURVEY_COLUMNS


@pytest.mark.parametrize("stem", ALL_STEMS)
def test_settings_identify_the_instrument(stem):
    settings = load(stem).settings
    assert settings["form_id"] == stem
    assert settings["version"] == "1"
    assert settings["default_language"] == ZH
    assert settings["form_title"]
    assert settings["instrument_kind"] in {"test", "module"}
    assert re.fullmatch(r"\d+-\d+", settings["population"])


@pytest.mark.parametrize("stem", ALL_STEMS)
def test_names_are_unique_lowercase_ascii(stem):
    names = [r["name"] for r in load(stem).survey if r["type"] != "end_group"]
    assert len(names) == len(set(names)), [n for n, c in Counter(names).items() if c > 1]
    assert all(NAME_RE.match(n) for n in names), [n for n in names if not NAME_RE.match(n)]


@pytest.mark.parametrize("stem", ALL_STEMS)
def test_groups_are_balanced(stem):
    depth = 0
    for row in load(stem).survey:
        depth += {"begin_group": 1, "end_group": -1}.get(row["type"], 0)
        assert depth >= 0
    assert depth == 0


@pytest.mark.parametrize("stem", ALL_STEMS)
def test_every_label_is_in_both_languages(stem):
    bank = load(stem)
    for row in bank.survey:
        if row["type"] == "end_group":
            continue
        assert row.get(f"label::{ZH}") and row.get(f"label::{EN}"), row["name"]
        assert bool(row.get(f"hint::{ZH}")) == bool(row.get(f"hint::{EN}")), row["name"]
        assert bool(row.get(f"constraint_message::{ZH}")) == bool(
            row.get(f"constraint_message::{EN}")
        ), row["name"]
    for choice in bank.choices:
        assert choice.get(f"label::{ZH}") and choice.get(f"label::{EN}"), choice
    for sheet in bank.extra.values():
        for row in sheet:
            assert row.get(f"label::{ZH}") and row.get(f"label::{EN}"), row


@pytest.mark.parametrize("stem", ALL_STEMS)
def test_every_select_list_exists_and_options_are_unique(stem):
    bank = load(stem)
    used = {list_name(r) for r in bank.survey if list_name(r)}
    defined = {c["list_name"] for c in bank.choices}
    assert used <= defined, used - defined
    assert defined <= used, f"unused lists: {defined - used}"
    pairs = [(c["list_name"], c["name"]) for c in bank.choices]
    assert len(pairs) == len(set(pairs))


@pytest.mark.parametrize("stem", ALL_STEMS)
def test_pyxform_converts_the_bank(stem):
    warnings: list[str] = []
    result = convert(xlsform=str(BANKS_DIR / f"{stem}.md"), warnings=warnings)
    assert f'id="{stem}"' in result.xform
    assert 'lang="中文 (zh)" default="true()"' in result.xform
    assert 'lang="English (en)"' in result.xform


# --------------------------------------------------------------------------- item rules


@pytest.mark.parametrize("stem", TEST_STEMS)
def test_items_declare_kind_consistent_with_type(stem):
    bank = load(stem)
    for row in bank.items:
        kind, name, type_ = row["kind"], row["name"], row["type"]
        assert kind in ALL_KINDS, name
        assert row.get("required") == "yes", name
        if kind == "true_false":
            assert type_ == "select_one tf", name
        elif kind in {"single", "likert"}:
            assert type_ == f"select_one {name}", name
        elif kind == "multiple":
            assert type_ == f"select_multiple {name}", name
        else:  # situational
            assert type_ in {f"select_one {name}", f"select_multiple {name}"}, name
    # Questions without a kind would be invisible to the importer.
    questions = [r for r in bank.survey if r["type"].startswith(("select_", "integer"))]
    assert len(questions) == len(bank.items)


@pytest.mark.parametrize("stem", TEST_STEMS)
def test_options_are_lettered_and_sized_by_kind(stem):
    bank = load(stem)
    if any(r["kind"] == "true_false" for r in bank.items):
        assert bank.options("tf") == ["true", "false"]
    for row in bank.items:
        if row["kind"] == "true_false":
            continue
        opts = bank.options(row["name"])
        assert opts == list("abcde"[: len(opts)]), row["name"]
        if row["type"].startswith("select_one") and row["kind"] != "likert":
            assert len(opts) == 4, row["name"]
        elif row["type"].startswith("select_multiple"):
            assert 4 <= len(opts) <= 5, row["name"]
        else:
            assert len(opts) >= 2, row["name"]


@pytest.mark.parametrize("stem", TEST_STEMS)
def test_randomize_only_on_unordered_choice_items(stem):
    for row in load(stem).items:
        params = row.get("parameters")
        assert params in {None, "randomize=true"}, row["name"]
        if row["kind"] in {"true_false", "likert"}:
            assert params is None, row["name"]


@pytest.mark.parametrize("stem", TEST_STEMS)
def test_every_key_names_existing_choices(stem):
    bank = load(stem)
    for row in bank.scored:
        key = row.get("correct", "").split()
        name = row["name"]
        opts = bank.options(list_name(row))
        assert key and set(key) <= set(opts), name
        assert len(key) == len(set(key)), name
        if row["kind"] == "true_false":
            assert key in (["true"], ["false"]), name
        elif row["type"].startswith("select_one"):
            assert len(key) == 1, name
        else:
            assert 2 <= len(key) < len(opts), name


@pytest.mark.parametrize("stem", TEST_STEMS)
def test_every_scored_item_has_points_dimension_and_rationale(stem):
    bank = load(stem)
    families = bank.dimension_families()
    for row in bank.scored:
        name = row["name"]
        assert points(row) > 0, name
        assert row.get(f"rationale::{ZH}") and row.get(f"rationale::{EN}"), name
        codes = row.get("dimension", "").split()
        assert codes and set(codes) <= set(families), name


@pytest.mark.parametrize("stem", TEST_STEMS)
def test_keys_are_spread(stem):
    bank = load(stem)
    tf = Counter(r["correct"] for r in bank.scored if r["kind"] == "true_false")
    if tf:
        assert tf["true"] and tf["false"]
        assert max(tf.values()) <= 2 * min(tf.values())
    single = Counter(
        r["correct"] for r in bank.scored if r["type"].startswith("select_one") and r["kind"] != "true_false"
    )
    if sum(single.values()) >= 8:
        assert set(single) == set("abcd"), single
        assert max(single.values()) <= 0.4 * sum(single.values()), single


# --------------------------------------------------------------------------- science literacy


def test_science_literacy_has_50_two_point_items_totalling_100():
    bank = load("science_literacy")
    assert len(bank.scored) == 50
    assert {r["kind"] for r in bank.scored} == {"true_false", "single"}
    assert all(points(r) == 2 for r in bank.scored)
    assert sum(points(r) for r in bank.scored) == 100
    assert all(len(r["dimension"].split()) == 1 for r in bank.scored)


def test_science_literacy_dimension_maxima():
    bank = load("science_literacy")
    assert set(bank.dimension_families().values()) == {"area"}
    assert items_by_dimension(bank) == {"knowledge": 20, "methods": 10, "spirit": 10, "application": 10}
    assert points_by_dimension(bank, "area") == {
        "knowledge": 40, "methods": 20, "spirit": 20, "application": 20,
    }


def test_science_literacy_benchmark_levels():
    row = benchmark(load("science_literacy"), "science_literacy")
    assert (row["scope"], row["basis"], float(row["threshold"])) == ("total", "points", 70)
    levels = dict(part.split(":") for part in row["levels"].split())
    assert {k: int(v) for k, v in levels.items()} == {"high": 85, "literate": 70, "basic": 55, "low": 0}


# --------------------------------------------------------------------------- health literacy

HEALTH_ASPECTS = {"knowledge": 28, "lifestyle": 22, "skills": 16}
HEALTH_CATEGORIES = {
    "scientific_view": 11, "infectious": 7, "chronic": 12, "safety": 14, "medical": 14,
    "information": 8,
}


def test_health_literacy_item_mix_and_points():
    bank = load("health_literacy")
    assert len(bank.scored) == 50
    assert Counter(r["kind"] for r in bank.scored) == {
        "true_false": 8, "single": 23, "multiple": 15, "situational": 4,
    }
    for row in bank.scored:
        expected = 2 if row["type"].startswith("select_multiple") else 1
        assert points(row) == expected, row["name"]
    assert sum(points(r) for r in bank.scored) == 66


def test_health_literacy_situational_items_follow_a_scenario_note():
    bank = load("health_literacy")
    situational = [r for r in bank.scored if r["kind"] == "situational"]
    assert Counter(r["type"].split()[0] for r in situational) == {"select_one": 3, "select_multiple": 1}
    first = bank.survey.index(situational[0])
    assert bank.survey[first - 1]["type"] == "note"
    # The four scenario items come together, right after the note.
    assert bank.survey[first : first + 4] == situational


def test_health_literacy_each_item_has_one_aspect_then_one_category():
    bank = load("health_literacy")
    families = bank.dimension_families()
    assert set(families.values()) == {"aspect", "category"}
    for row in bank.scored:
        codes = row["dimension"].split()
        assert [families[c] for c in codes] == ["aspect", "category"], row["name"]


def test_health_literacy_aspect_and_category_maxima():
    bank = load("health_literacy")
    assert points_by_dimension(bank, "aspect") == HEALTH_ASPECTS
    assert points_by_dimension(bank, "category") == HEALTH_CATEGORIES


def test_health_literacy_benchmarks_use_the_80_percent_rule():
    bank = load("health_literacy")
    for name, scope in [
        ("health_literacy", "total"),
        ("health_aspect", "family:aspect"),
        ("health_category", "family:category"),
    ]:
        row = benchmark(bank, name)
        assert (row["scope"], row["basis"], float(row["threshold"])) == (scope, "share", 0.8)
    assert math.ceil(0.8 * 66) == 53


# --------------------------------------------------------------------------- occupational health


def test_occupational_health_has_20_one_point_items():
    bank = load("occupational_health")
    assert len(bank.scored) == 20
    kinds = Counter(r["kind"] for r in bank.scored)
    assert set(kinds) == {"true_false", "single", "multiple"}
    assert 2 <= kinds["multiple"] <= 5
    assert all(points(r) == 1 for r in bank.scored)
    assert sum(points(r) for r in bank.scored) == 20


def test_occupational_health_covers_its_four_areas():
    bank = load("occupational_health")
    assert set(bank.dimension_families()) == {"law_rights", "hazards", "protection", "health_surveillance"}
    assert all(len(r["dimension"].split()) == 1 for r in bank.scored)
    assert all(n >= 4 for n in items_by_dimension(bank).values())
    assert len(items_by_dimension(bank)) == 4


def test_occupational_health_benchmark():
    row = benchmark(load("occupational_health"), "occupational_health")
    assert (row["scope"], row["basis"], float(row["threshold"])) == ("total", "share", 0.8)


# --------------------------------------------------------------------------- elders


def test_elders_skills_are_unscored_ratings():
    bank = load("elders")
    likert = [r for r in bank.items if r["kind"] == "likert"]
    assert 5 <= len(likert) <= 7
    for row in likert:
        assert row["dimension"] == "smartphone"
        assert not row.get("points") and not row.get("correct"), row["name"]


def test_elders_fraud_items_are_scored_one_point_each():
    bank = load("elders")
    assert 7 <= len(bank.scored) <= 9
    assert all(r["dimension"] == "fraud" and points(r) == 1 for r in bank.scored)
    assert {r["kind"] for r in bank.scored} <= {"true_false", "single", "multiple"}
    assert set(bank.dimension_families()) == {"smartphone", "fraud"}


def test_elders_fraud_benchmark():
    row = benchmark(load("elders"), "elder_fraud_awareness")
    assert (row["scope"], row["basis"], float(row["threshold"])) == ("dimension:fraud", "share", 0.8)


# --------------------------------------------------------------------------- youth science


def test_youth_science_has_30_two_point_items():
    bank = load("youth_science")
    assert len(bank.scored) == 30
    assert {r["kind"] for r in bank.scored} == {"true_false", "single"}
    assert all(points(r) == 2 for r in bank.scored)
    assert sum(points(r) for r in bank.scored) == 60


def test_youth_science_dimension_maxima():
    bank = load("youth_science")
    assert items_by_dimension(bank) == {"knowledge": 12, "methods": 6, "spirit": 6, "application": 6}
    assert points_by_dimension(bank, "area") == {
        "knowledge": 24, "methods": 12, "spirit": 12, "application": 12,
    }


def test_youth_science_benchmark():
    row = benchmark(load("youth_science"), "youth_science_literacy")
    assert (row["scope"], row["basis"], float(row["threshold"])) == ("total", "share", 0.7)


# --------------------------------------------------------------------------- demographics

DEMOGRAPHIC_CODES = {
    "sex": {"male", "female"},
    "education": {"primary_or_less", "junior_secondary", "senior_secondary", "tertiary"},
    "occupation": {
        "farmer", "industrial_worker", "cadre", "civil_servant", "professional",
        "business_service", "student", "retired", "homemaker_unemployed", "other",
    },
    "residence": {"urban", "rural"},
    "town": {
        "yushan", "jinshui", "donge", "meigui", "hongfanchi", "kongcun", "xiaozhi", "ancheng",
        "devzone",
    },
}


def test_demographics_fields_and_codes():
    bank = load("demographics")
    fields = {r["name"]: r for r in bank.survey if r["type"] not in {"begin_group", "end_group"}}
    assert set(fields) == {"age", *DEMOGRAPHIC_CODES}
    assert all(r.get("required") == "yes" for r in fields.values())
    assert fields["age"]["type"] == "integer"
    assert fields["age"]["constraint"] == ". >= 12 and . <= 100"
    for name, codes in DEMOGRAPHIC_CODES.items():
        assert fields[name]["type"] == f"select_one {name}"
        assert set(bank.options(name)) == codes


def test_demographics_groups_are_defined_over_existing_fields():
    bank = load("demographics")
    groups = {g["name"]: g["rule"] for g in bank.extra["groups"]}
    assert set(groups) == {"youth", "farmer", "worker", "elder", "cadre"}
    fields = {r["name"] for r in bank.survey}
    for name, rule in groups.items():
        referenced = set(re.findall(r"\$\{(\w+)\}", rule))
        assert referenced and referenced <= fields, name
        for code in re.findall(r"'(\w+)'", rule):
            assert code in DEMOGRAPHIC_CODES["occupation"], (name, code)
    assert groups["youth"] == "${age} >= 15 and ${age} <= 35"
    assert groups["elder"] == "${age} >= 60"
    assert "'cadre'" in groups["cadre"] and "'civil_servant'" in groups["cadre"]
