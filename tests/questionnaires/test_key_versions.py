"""Versioned scoring keys: key files, publishing keys with checks, re-scoring stored responses
under a new key (old scores kept), and choosing a wave's official key (audited)."""
from __future__ import annotations

import io
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from assessment.models import AuditEvent, Wave, WaveInstrument
from questionnaires.models import (
    InstrumentVersion,
    ItemKey,
    PublishState,
    Response,
    ResponseScore,
    ScoringKey,
)
from questionnaires.selectors import key_export, key_parsed
from questionnaires.services import (
    PublishError,
    QuestionnaireError,
    instrument_import,
    instrument_publish,
    key_import,
    key_publish,
    responses_rescore,
    responses_score,
    wave_key_select,
)
from questionnaires.xlsform import XLSFormError
from scoring.adapters import wave_key
from tests.questionnaires.builders import county_wave, key_of, mini_import
from tests.questionnaires.xlsform_tables import MINI_FORM, changed, read_tables, set_cell, to_markdown, to_xlsx

pytestmark = pytest.mark.django_db

# The mini key 1: q1 1 point true (knowledge chronic), q2 1 point b (knowledge infectious),
# q3 2 points a c (skills chronic); benchmarks mini (total share 0.75) and mini_aspect (each aspect share 0.8).
ALL_RIGHT = {"q1": "true", "q2": "b", "q3": ["a", "c"]}
SETTINGS = [["form_id", "instrument_version", "note"], ["mini_test", "1", "q2 rekeyed"]]


def key_file(survey: list[list[str]], fmt: str = "md", **sheets: list[list[str]]) -> tuple[bytes, str]:
    tables = {"settings": SETTINGS, "survey": survey, **sheets}
    return (to_markdown(tables), "key.md") if fmt == "md" else (to_xlsx(tables), "key.xlsx")


def imported(version: InstrumentVersion, survey: list[list[str]], **sheets: list[list[str]]) -> ScoringKey:
    data, name = key_file(survey, **sheets)
    key, created = key_import(version=version, data=data, filename=name)
    assert created
    return key


def scoring(key: ScoringKey) -> dict[str, tuple[Decimal, list[str], list[str]]]:
    return {i.name: (i.points, i.correct, i.dimensions) for i in key_parsed(key).items}


def problems(version: InstrumentVersion, survey: list[list[str]], **sheets: list[list[str]]) -> list[tuple[Any, ...]]:
    data, name = key_file(survey, **sheets)
    with pytest.raises(XLSFormError) as caught:
        key_import(version=version, data=data, filename=name)
    return [(p.sheet, p.row, p.column, p.message) for p in caught.value.problems]


def stored(wave: Wave, version: InstrumentVersion, answers: dict[str, Any]) -> Response:
    return Response.objects.create(
        client_id=uuid.uuid4(), wave=wave, instrument_version=version, answers=answers, payload_hash="-"
    )


NARROW_ASPECTS = [
    ["name", "label::中文 (zh)", "label::English (en)", "scope", "basis", "threshold", "levels"],
    ["mini", "达标", "Literate", "total", "share", "0.75", "high:0.9 literate:0.75"],
    ["mini_knowledge", "知识达标", "Literate in knowledge", "dimension:knowledge", "share", "0.8", ""],
]


# --------------------------------------------------------------------------- key files


@pytest.mark.parametrize("fmt", ["md", "xlsx"])
def test_key_file_changes_only_the_columns_it_has(fmt: str) -> None:
    version = mini_import()
    data, name = key_file([["name", "correct"], ["q2", "a"]], fmt)
    key, created = key_import(version=version, data=data, filename=name)
    assert (created, key.version, key.status, key.based_on, key.note) == (True, 2, PublishState.DRAFT, key_of(version), "q2 rekeyed")
    assert bytes(key.source) == data and key.source_name == name
    assert scoring(key) == {
        "q1": (Decimal(1), ["true"], ["knowledge", "chronic"]),
        "q2": (Decimal(1), ["a"], ["knowledge", "infectious"]),  # points and dimensions kept
        "q3": (Decimal(2), ["a", "c"], ["skills", "chronic"]),
    }
    assert [b.name for b in key.benchmarks.order_by("order")] == ["mini", "mini_aspect"]  # kept
    # Key 1 is untouched.
    assert scoring(key_of(version))["q2"] == (Decimal(1), ["b"], ["knowledge", "infectious"])


def test_a_present_column_restates_the_value_even_when_empty() -> None:
    version = mini_import()
    key = imported(version, [["name", "points", "correct", "dimension"], ["q1", "1.5", "true", ""]])
    assert scoring(key)["q1"] == (Decimal("1.5"), ["true"], [])


def test_points_zero_leaves_an_item_out_and_records_it() -> None:
    version = mini_import()
    key = imported(version, [["name", "points"], ["q3", "0"]], benchmarks=NARROW_ASPECTS)
    assert set(scoring(key)) == {"q1", "q2"}
    assert key.excluded == ["q3"]
    assert [b.scope for b in key.benchmarks.order_by("order")] == ["total", "dimension:knowledge"]
    # And a later key can take it back in, stating its scoring.
    key_publish(key=key)
    again = imported(version, [["name", "points", "correct", "dimension"], ["q3", "2", "a c", "skills chronic"]],
                     benchmarks=NARROW_ASPECTS)
    assert again.based_on == key and again.excluded == [] and "q3" in scoring(again)


def test_leaving_out_what_a_benchmark_needs_is_refused() -> None:
    version = mini_import()
    # Without q3 the aspect "skills" has no points, so "each aspect ≥ 80 %" means nothing.
    assert problems(version, [["name", "points"], ["q3", "0"]]) == [
        ("benchmarks", None, "scope", "dimension 'skills' has no scored question in this key "
         "('mini_aspect' is kept from key 1: give a benchmarks sheet to change it)"),
    ]


def test_identical_key_is_not_stored_twice() -> None:
    version = mini_import()
    data, name = key_file([["name", "correct"], ["q2", "b"]])
    key, created = key_import(version=version, data=data, filename=name)
    assert (key, created) == (key_of(version), False)
    assert version.scoring_keys.count() == 1


def test_exported_key_file_edited_in_excel_makes_the_next_key() -> None:
    version = mini_import()
    data = key_export(key_of(version))
    book = load_workbook(io.BytesIO(data))
    survey = book["survey"]
    header = [c.value for c in survey[1]]
    for row in survey.iter_rows(min_row=2):
        if row[header.index("name")].value == "q3":
            row[header.index("points")].value = 4
    buffer = io.BytesIO()
    book.save(buffer)
    key, created = key_import(version=version, data=buffer.getvalue(), filename="mini-key2.xlsx")
    assert created and scoring(key)["q3"][0] == Decimal(4)
    assert key_parsed(key).content()["benchmarks"] == key_parsed(key_of(version)).content()["benchmarks"]


HEADER = ["name", "points", "correct", "dimension"]
MALFORMED_KEYS: list[tuple[str, list[list[str]], dict[str, list[list[str]]], tuple[Any, ...]]] = [
    ("unknown question", [HEADER, ["q9", "1", "a", ""]], {},
     ("survey", 2, "name", "'q9' is not a question of mini_test v1")),
    ("listed twice", [HEADER, ["q2", "1", "a", ""], ["q2", "1", "b", ""]], {},
     ("survey", 3, "name", "'q2' is listed twice")),
    ("a question column", [["name", "label::中文 (zh)"], ["q2", "新题干"]], {},
     ("survey", 1, "label::中文 (zh)", "a key file has only the columns name, points, correct and dimension")),
    ("points missing", [HEADER, ["q2", "", "a", ""]], {},
     ("survey", 2, "points", "'q2' needs points (0 leaves it out of the key)")),
    ("points not a number", [HEADER, ["q2", "two", "a", ""]], {},
     ("survey", 2, "points", "points 'two' is not a number")),
    ("points negative", [HEADER, ["q2", "-1", "a", ""]], {},
     ("survey", 2, "points", "points must be a positive number")),
    ("correct missing", [HEADER, ["q2", "1", "", ""]], {},
     ("survey", 2, "correct", "'q2' has points but no correct answer")),
    ("correct not an option", [HEADER, ["q2", "1", "z", ""]], {},
     ("survey", 2, "correct", "'z' is not an option of 'q2'")),
    ("two correct on single choice", [HEADER, ["q2", "1", "a b", ""]], {},
     ("survey", 2, "correct", "a single-answer question has one correct option")),
    ("unknown dimension", [HEADER, ["q2", "1", "a", "knowledge nope"]], {},
     ("survey", 2, "dimension", "dimension 'nope' is not in the dimensions sheet")),
    ("points on a text question", [HEADER, ["why", "1", "x", ""]], {},
     ("survey", 2, "points", "text questions cannot carry points")),
    ("unscored question without its scoring", [["name", "correct"], ["hours", "3"]], {},
     ("survey", 2, "points", "'hours' is not scored by key 1: give its points")),
    ("dimensions sheet", [HEADER], {"dimensions": [["name", "family", "label"], ["extra", "aspect", "额外"]]},
     ("dimensions", None, None, "dimensions belong to the instrument version; a key file cannot change them")),
    ("bad benchmark", [HEADER], {"benchmarks": [NARROW_ASPECTS[0], ["mini", "达标", "Literate", "total", "share", "75", ""]]},
     ("benchmarks", 2, "threshold", "a share threshold lies in (0, 1]")),
    ("bad group rule", [HEADER], {"groups": [["name", "label", "rule"], ["many", "多", "${hours} >"]]},
     ("groups", 2, "rule", "bad expression '${hours} >'")),
]


@pytest.mark.parametrize(("case", "survey", "sheets", "expected"), MALFORMED_KEYS, ids=[m[0] for m in MALFORMED_KEYS])
def test_malformed_key_file_is_refused_naming_sheet_row_and_column(
    case: str, survey: list[list[str]], sheets: dict[str, list[list[str]]], expected: tuple[Any, ...]
) -> None:
    version = mini_import()
    found = problems(version, survey, **sheets)
    assert any(p[:3] == expected[:3] and expected[3] in p[3] for p in found), found
    assert version.scoring_keys.count() == 1


@pytest.mark.parametrize(
    ("settings", "column", "message"),
    [
        ([["form_id"], ["health_literacy"]], "form_id", "this key file is for 'health_literacy', not 'mini_test'"),
        ([["form_id", "instrument_version"], ["mini_test", "3"]], "instrument_version", "this key file is for version 3, not 1"),
    ],
)
def test_key_file_for_another_instrument_is_refused(settings: list[list[str]], column: str, message: str) -> None:
    version = mini_import()
    data = to_markdown({"settings": settings, "survey": [["name", "correct"], ["q2", "a"]]})
    with pytest.raises(XLSFormError) as caught:
        key_import(version=version, data=data, filename="key.md")
    assert [(p.sheet, p.row, p.column, p.message) for p in caught.value.problems] == [("settings", 2, column, message)]


def test_key_for_a_draft_version_is_refused() -> None:
    version = mini_import(publish=False)
    data, name = key_file([["name", "correct"], ["q2", "a"]])
    with pytest.raises(QuestionnaireError, match="is a draft"):
        key_import(version=version, data=data, filename=name)


# --------------------------------------------------------------------------- publishing a key


def test_publishing_a_key_checks_it_stamps_it_and_audits_it() -> None:
    version = mini_import()
    key = imported(version, [["name", "correct"], ["q2", "a"]])
    key_publish(key=key)
    key.refresh_from_db()
    assert key.status == PublishState.PUBLISHED and key.published_at is not None
    event = AuditEvent.objects.get(action="key.publish", object_id=str(key.pk))
    assert event.summary == "mini_test-v1-k2 published"
    assert event.details["based_on"] == 1
    # Published: immutable, and publishing again changes nothing.
    assert key_publish(key=key) == key
    with pytest.raises(PermissionError):
        ItemKey.objects.filter(key=key).first().save()  # type: ignore[union-attr]


def test_key_of_a_draft_version_is_published_with_the_version() -> None:
    version = mini_import(publish=False)
    with pytest.raises(PublishError, match="publish it, and its keys are published with it"):
        key_publish(key=key_of(version))


def draft_key(version: InstrumentVersion) -> ScoringKey:
    return imported(version, [["name", "correct"], ["q2", "a"]])


def test_draft_key_edited_into_a_bad_state_is_not_published() -> None:
    version = mini_import()
    key = draft_key(version)
    q2 = key.item_keys.get(item__name="q2")
    q2.correct = ["z"]
    q2.save()
    key.item_keys.filter(item__name="q1").delete()
    benchmark = key.benchmarks.get(name="mini")
    benchmark.basis, benchmark.threshold = "points", 9
    benchmark.save()
    group = key.groups.create(name="g", label_zh="组", label_en="Group", rule="${q9} = 1")
    assert group.pk
    with pytest.raises(PublishError) as caught:
        key_publish(key=key)
    found = "\n".join(caught.value.problems)
    assert "column 'correct': 'z' is not an option of list 'q2'" in found
    assert "benchmarks row 2 column 'threshold': 9 points can never be reached: the total has at most 3" in found
    assert "groups row 2 column 'rule': ${q9} does not name a question of this form" in found
    assert "q1: a scored question with no key (list it under excluded to leave it out)" in found
    assert ScoringKey.objects.get(pk=key.pk).status == PublishState.DRAFT


def mini_version_2(*, publish: bool) -> InstrumentVersion:
    """Return version 2 of the mini form (one English label changed)."""
    tables = changed(read_tables(MINI_FORM))
    set_cell(tables, "survey", "q1", "label::English (en)", "Water freezes at 0 °C.")
    version = instrument_import(data=to_markdown(tables), filename="mini_test.md")
    return instrument_publish(version=version) if publish else version


def test_key_pointing_at_another_versions_question_is_not_published() -> None:
    version = mini_import()
    key = draft_key(version)
    second = mini_version_2(publish=False)
    ItemKey.objects.filter(key=key, item__name="q1").update(item=second.items.get(name="q1"))
    with pytest.raises(PublishError) as caught:
        key_publish(key=key)
    assert "q1: the question belongs to another instrument version" in caught.value.problems


def test_excluded_names_must_be_questions_and_not_keyed() -> None:
    version = mini_import()
    key = draft_key(version)
    ScoringKey.objects.filter(pk=key.pk).update(excluded=["q1", "ghost"])
    key.refresh_from_db()
    with pytest.raises(PublishError) as caught:
        key_publish(key=key)
    assert "excluded 'ghost' is not a question of mini_test v1" in caught.value.problems
    assert "q1: both keyed and excluded" in caught.value.problems


# --------------------------------------------------------------------------- re-scoring


@pytest.fixture
def wave(db: None) -> Wave:
    return county_wave()


def test_rescoring_under_a_new_key_keeps_the_old_scores(
    wave: Wave, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reports import jobs

    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(jobs, "enqueue", lambda name, **kwargs: sent.append((name, kwargs)))
    version = mini_import()
    old = key_of(version)
    right = stored(wave, version, ALL_RIGHT)
    rekeyed = stored(wave, version, {**ALL_RIGHT, "q2": "a"})
    partly = stored(wave, version, {"q1": "true", "q3": ["a"]})  # q2 skipped, q3 partly right
    responses_score(key=old)
    new = imported(version, [["name", "points", "correct"], ["q2", "1", "a"], ["q3", "3", "a c"]])
    key_publish(key=new)
    with django_capture_on_commit_callbacks(execute=True):
        assert responses_rescore(key=new) == 3
    assert sent == []  # the wave does not field this version: no report figures to recompute
    totals = {(s.response_id, s.key_id): (s.total_points, s.max_points) for s in ResponseScore.objects.all()}
    assert totals == {
        # key 1 (4 points): 1 + 1 + 2; q2 a is wrong; only q1.
        (right.pk, old.pk): (4.0, 4.0), (rekeyed.pk, old.pk): (3.0, 4.0), (partly.pk, old.pk): (1.0, 4.0),
        # key 2 (5 points, q2 = a, q3 worth 3): q2 b is now wrong; a rekeyed sheet gets every point; partly: q1 only.
        (right.pk, new.pk): (4.0, 5.0), (rekeyed.pk, new.pk): (5.0, 5.0), (partly.pk, new.pk): (1.0, 5.0),
    }
    assert ResponseScore.objects.get(response=partly, key=new).item_points == {"q1": 1.0, "q2": None, "q3": 0.0}
    # Re-running scores nothing twice.
    assert responses_rescore(key=new) == 0
    events = AuditEvent.objects.filter(action="responses.rescore", object_id=str(new.pk)).order_by("at", "pk")
    assert [e.details["scored"] for e in events] == [3, 0]


def test_rescoring_one_wave_leaves_the_others(wave: Wave) -> None:
    version = mini_import()
    other_wave = Wave.objects.create(county=wave.county, code="2024", year=2024, name_zh="2024", name_en="2024")
    here, there = stored(wave, version, ALL_RIGHT), stored(other_wave, version, ALL_RIGHT)
    assert responses_rescore(key=key_of(version), wave=wave) == 1
    assert ResponseScore.objects.filter(response=here).exists()
    assert not ResponseScore.objects.filter(response=there).exists()


def test_draft_key_cannot_score(wave: Wave) -> None:
    version = mini_import()
    stored(wave, version, ALL_RIGHT)
    with pytest.raises(QuestionnaireError, match="is not published"):
        responses_rescore(key=draft_key(version))
    assert not ResponseScore.objects.exists()


# --------------------------------------------------------------------------- the official key of a wave


def test_switching_the_official_key_scores_the_wave_and_is_audited(
    wave: Wave, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reports import jobs

    version = mini_import()
    old = key_of(version)
    fielded = WaveInstrument.objects.create(wave=wave, instrument_version=version, scoring_key=old)
    response = stored(wave, version, {**ALL_RIGHT, "q2": "a"})
    new = draft_key(version)
    key_publish(key=new)
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(jobs, "enqueue", lambda name, **kwargs: sent.append((name, kwargs)))
    with django_capture_on_commit_callbacks(execute=True):
        wave_key_select(wave=wave, instrument_code="mini_test", key=new)
    # The wave's report figures are recomputed under the new key, once, after the commit.
    assert sent == [("reports.estimates_store", {"wave_id": wave.pk})]
    fielded.refresh_from_db()
    assert fielded.scoring_key == new
    assert wave_key(wave, "mini_test") == new  # what the estimates now read
    assert ResponseScore.objects.get(response=response, key=new).total_points == 4.0
    event = AuditEvent.objects.get(action="key.select")
    assert event.summary == "wave 2025 mini_test: official key mini_test-v1-k1 → mini_test-v1-k2"
    assert (event.object_type, event.object_id, event.details["scored"]) == ("WaveInstrument", str(fielded.pk), 1)
    # Choosing the same key again changes nothing.
    wave_key_select(wave=wave, instrument_code="mini_test", key=new)
    assert AuditEvent.objects.filter(action="key.select").count() == 1


@pytest.mark.parametrize("problem", ["draft", "other version", "not fielded"])
def test_official_key_must_be_a_published_key_of_the_fielded_version(wave: Wave, problem: str) -> None:
    version = mini_import()
    WaveInstrument.objects.create(wave=wave, instrument_version=version, scoring_key=key_of(version))
    key = draft_key(version)
    code = "mini_test"
    if problem == "other version":
        key = key_of(mini_version_2(publish=True))
    elif problem == "not fielded":
        key_publish(key=key)
        code = "health_literacy"
    with pytest.raises(QuestionnaireError):
        wave_key_select(wave=wave, instrument_code=code, key=key)
    assert WaveInstrument.objects.get(wave=wave).scoring_key == key_of(version)
    assert not AuditEvent.objects.filter(action="key.select").exists()


# --------------------------------------------------------------------------- commands


def test_rescore_command(wave: Wave, capsys: pytest.CaptureFixture[str]) -> None:
    version = mini_import()
    WaveInstrument.objects.create(wave=wave, instrument_version=version, scoring_key=key_of(version))
    stored(wave, version, ALL_RIGHT)
    key_publish(key=draft_key(version))
    call_command("rescore", "--instrument", "mini_test", "--key", "2", "--wave", "2025", "--official")
    out = capsys.readouterr().out
    assert "Scored 1 responses of wave 2025 under mini_test-v1-k2." in out
    assert "mini_test-v1-k2 is now the official key of mini_test in wave 2025." in out
    assert WaveInstrument.objects.get(wave=wave).scoring_key.version == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--instrument", "mini_test", "--key", "7"], "mini_test has no key 7"),
        (["--instrument", "mini_test", "--key", "1", "--wave", "1999"], "no wave '1999'"),
        (["--instrument", "mini_test", "--key", "1", "--official"], "--official needs --wave"),
        (["--instrument", "mini_test", "--key", "2"], "is not published"),
    ],
)
def test_rescore_command_errors(wave: Wave, args: list[str], message: str) -> None:
    version = mini_import()
    draft_key(version)
    with pytest.raises(CommandError, match=message):
        call_command("rescore", *args)


def test_key_files_through_the_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    version = mini_import()
    exported = tmp_path / "key.xlsx"
    call_command("xlsform_export", "--instrument", "mini_test", "--key-file", "--out", str(exported))
    call_command("key_import", str(exported), "--instrument", "mini_test")
    assert "mini_test-v1-k1 (published): the same as the existing key" in capsys.readouterr().out
    edited = tmp_path / "key2.md"
    edited.write_bytes(key_file([["name", "correct"], ["q2", "a"]])[0])
    call_command("key_import", str(edited), "--instrument", "mini_test", "--publish")
    assert "mini_test-v1-k2 (published): new key" in capsys.readouterr().out
    assert version.scoring_keys.get(version=2).status == PublishState.PUBLISHED
    bad = tmp_path / "bad.md"
    bad.write_bytes(key_file([["name", "correct"], ["q2", "z"]])[0])
    with pytest.raises(CommandError, match="survey row 2 column 'correct'"):
        call_command("key_import", str(bad), "--instrument", "mini_test")
