"""Scoring stored responses under versioned keys, and classifying respondents into groups.

Every expected number is worked out by hand from the key in the comment above it.
"""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from assessment.models import Wave, WaveInstrument
from questionnaires.models import (
    BenchmarkRule,
    InstrumentVersion,
    Item,
    ItemKey,
    PublishState,
    Response,
    ResponseScore,
    ScoringKey,
)
from questionnaires.services import groups_classify, key_compile, responses_score, responses_score_new
from tests.questionnaires.builders import bank_import, correct_answers, county_wave, key_of, mini_import

pytestmark = pytest.mark.django_db

# The mini key (tests/fixtures/forms/mini_test.md), 4 points:
#   q1 true/false  1 point  correct true    knowledge, chronic
#   q2 single      1 point  correct b       knowledge, infectious
#   q3 multiple    2 points correct a c     skills, chronic
# maxima: knowledge 2, skills 2, chronic 3, infectious 1
# benchmarks: mini = total share ≥ 0.75 (levels high 0.9, literate 0.75); mini_aspect = each aspect share ≥ 0.8
ALL_RIGHT = {"q1": "true", "q2": "b", "q3": ["a", "c"]}


@pytest.fixture
def wave(db: None) -> Wave:
    return county_wave()


def stored(wave: Wave, version: InstrumentVersion, answers: dict[str, Any]) -> Response:
    """Return a stored response (scoring reads stored answers; validation is tested elsewhere)."""
    return Response.objects.create(
        client_id=uuid.uuid4(), wave=wave, instrument_version=version, answers=answers, payload_hash="-"
    )


def score_of(response: Response, key: ScoringKey) -> ResponseScore:
    responses_score(key=key, responses=[response])
    return ResponseScore.objects.get(response=response, key=key)


# --------------------------------------------------------------------------- the mini key


def test_all_right_scores_every_point(wave: Wave) -> None:
    version = mini_import()
    score = score_of(stored(wave, version, ALL_RIGHT), key_of(version))
    assert (score.total_points, score.max_points) == (4.0, 4.0)
    assert score.item_points == {"q1": 1.0, "q2": 1.0, "q3": 2.0}
    # q1 and q3 both count toward chronic: 1 + 2.
    assert score.dimension_points == {"knowledge": 2.0, "skills": 2.0, "chronic": 3.0, "infectious": 1.0}
    assert score.benchmarks == {"mini": True, "mini_aspect": {"knowledge": True, "skills": True}}
    assert score.level == "high"
    assert score.groups == []


@pytest.mark.parametrize("q3", [["a"], ["c"], ["a", "b", "c"], ["b"], ["a", "b"]], ids=str)
def test_multiple_choice_scores_only_when_exactly_right(wave: Wave, q3: list[str]) -> None:
    version = mini_import()
    score = score_of(stored(wave, version, {**ALL_RIGHT, "q3": q3}), key_of(version))
    # q3's 2 points are lost: 4 - 2 = 2, and skills falls to 0, chronic to 3 - 2 = 1.
    assert score.item_points["q3"] == 0.0
    assert score.total_points == 2.0
    assert score.dimension_points == {"knowledge": 2.0, "skills": 0.0, "chronic": 1.0, "infectious": 1.0}
    # 2/4 = 0.5 < 0.75; knowledge 2/2 meets 0.8, skills 0/2 does not.
    assert score.benchmarks == {"mini": False, "mini_aspect": {"knowledge": True, "skills": False}}
    assert score.level == ""


def test_share_threshold_is_met_exactly_at_the_boundary(wave: Wave) -> None:
    version = mini_import()
    score = score_of(stored(wave, version, {**ALL_RIGHT, "q1": "false"}), key_of(version))
    # 3/4 = 0.75 meets the 0.75 rule and is "literate" but not "high" (0.9); knowledge 1/2 < 0.8.
    assert score.total_points == 3.0
    assert score.benchmarks == {"mini": True, "mini_aspect": {"knowledge": False, "skills": True}}
    assert score.level == "literate"


def test_unanswered_items_score_nothing_and_are_marked(wave: Wave) -> None:
    version = mini_import()
    score = score_of(stored(wave, version, {"q1": "true", "q3": []}), key_of(version))
    assert score.item_points == {"q1": 1.0, "q2": None, "q3": None}
    assert score.total_points == 1.0
    assert score.dimension_points == {"knowledge": 1.0, "skills": 0.0, "chronic": 1.0, "infectious": 0.0}
    blank = score_of(stored(wave, version, {}), key_of(version))
    assert blank.item_points == {"q1": None, "q2": None, "q3": None}
    assert (blank.total_points, blank.level, blank.benchmarks["mini"]) == (0.0, "", False)


def test_answer_that_is_not_an_option_is_answered_and_wrong(wave: Wave) -> None:
    version = mini_import()
    score = score_of(stored(wave, version, {**ALL_RIGHT, "q2": "z", "q3": ["a", "z"]}), key_of(version))
    assert score.item_points == {"q1": 1.0, "q2": 0.0, "q3": 0.0}


def test_scoring_is_idempotent_per_key(wave: Wave) -> None:
    version = mini_import()
    key = key_of(version)
    responses = [stored(wave, version, ALL_RIGHT), stored(wave, version, {"q1": "true"})]
    assert responses_score(key=key) == 2
    first = {s.response_id: (s.pk, s.total_points) for s in ResponseScore.objects.filter(response__wave=wave)}
    assert responses_score(key=key) == 0
    assert responses_score(key=key, responses=responses) == 0
    assert {s.response_id: (s.pk, s.total_points) for s in ResponseScore.objects.filter(response__wave=wave)} == first
    # A response stored later is scored on the next run, alone.
    late = stored(wave, version, ALL_RIGHT)
    assert responses_score(key=key) == 1
    assert ResponseScore.objects.get(response=late).total_points == 4.0


def test_responses_of_another_version_are_not_scored(wave: Wave) -> None:
    mini = mini_import()
    health = bank_import("health_literacy")
    other = stored(wave, health, {})
    assert responses_score(key=key_of(mini), responses=[other]) == 0
    assert not ResponseScore.objects.filter(response__wave=wave).exists()


def second_key(version: InstrumentVersion) -> ScoringKey:
    """Return a revised key for VERSION: q3 is worth 4 points; literate from 5 points of 6."""
    key = ScoringKey.objects.create(instrument_version=version, version=2, source_hash="revision")
    items = {i.name: i for i in version.items.all()}
    for name, points, correct in [("q1", "1", ["true"]), ("q2", "1", ["b"]), ("q3", "4", ["a", "c"])]:
        ItemKey.objects.create(key=key, item=items[name], points=Decimal(points), correct=correct)
    BenchmarkRule.objects.create(
        key=key, name="mini", label_zh="达标", label_en="Literate", scope="total", basis="points", threshold=5,
        levels=[["literate", 5]],
    )
    return key


def test_a_new_key_version_scores_again_and_keeps_the_old_scores(wave: Wave) -> None:
    version = mini_import()
    old_key = key_of(version)
    right, half = stored(wave, version, ALL_RIGHT), stored(wave, version, {**ALL_RIGHT, "q3": ["a"]})
    responses_score(key=old_key)
    new_key = second_key(version)
    assert responses_score(key=new_key) == 2
    assert ResponseScore.objects.filter(response__wave=wave).count() == 4
    totals = {(s.response_id, s.key_id): (s.total_points, s.max_points, s.level) for s in ResponseScore.objects.filter(response__wave=wave)}
    assert totals == {
        (right.pk, old_key.pk): (4.0, 4.0, "high"),
        (half.pk, old_key.pk): (2.0, 4.0, ""),
        (right.pk, new_key.pk): (6.0, 6.0, "literate"),  # 1 + 1 + 4
        (half.pk, new_key.pk): (2.0, 6.0, ""),
    }
    assert ResponseScore.objects.get(response=right, key=new_key).dimension_points == {
        "knowledge": 0.0, "skills": 0.0, "chronic": 0.0, "infectious": 0.0,
    }


def test_key_compile_orders_items_and_picks_the_headline_benchmark(db: None) -> None:
    compiled = key_compile(key_of(mini_import()))
    assert compiled.arrays.item_names == ("q1", "q2", "q3")
    assert compiled.arrays.max_points == 4.0
    assert compiled.headline == "mini"
    # Dimensions by family, then by their order in the sheet.
    assert compiled.arrays.dimension_codes == ("knowledge", "skills", "chronic", "infectious")


# --------------------------------------------------------------------------- the real banks


def answers_with_wrong(key: ScoringKey, wrong: set[str]) -> dict[str, Any]:
    """Return the all-correct sheet of KEY with the items in WRONG answered with a wrong option."""
    answers = correct_answers(key)
    for item_key in key.item_keys.select_related("item__choice_list").filter(item__name__in=wrong):
        options = [c.name for c in item_key.item.choice_list.choices.order_by("order")]  # type: ignore[union-attr]
        wrong_option = next(o for o in options if o not in item_key.correct)
        answers[item_key.item.name] = [wrong_option] if item_key.item.type == Item.Type.MULTIPLE else wrong_option
    return answers


def one_point_items(version: InstrumentVersion, how_many: int) -> set[str]:
    names = version.items.filter(keys__points=1).order_by("order").values_list("name", flat=True)
    return set(names[:how_many])


def test_health_all_correct_scores_66_and_is_literate(wave: Wave) -> None:
    version = bank_import("health_literacy")
    score = score_of(stored(wave, version, correct_answers(key_of(version))), key_of(version))
    assert (score.total_points, score.max_points) == (66.0, 66.0)
    assert score.benchmarks["health_literacy"] is True
    assert score.benchmarks["health_aspect"] == {"knowledge": True, "lifestyle": True, "skills": True}
    # One flag per dimension of the family.
    assert score.benchmarks["health_category"] == {
        code: True for code in ("scientific_view", "infectious", "chronic", "safety", "medical", "information")
    }
    assert score.dimension_points == {
        "knowledge": 28.0, "lifestyle": 22.0, "skills": 16.0, "scientific_view": 11.0, "infectious": 7.0,
        "chronic": 12.0, "safety": 14.0, "medical": 14.0, "information": 8.0,
    }
    assert score.level == ""  # the health key has no levels


def test_health_multiple_choice_items_missing_one_option_score_nothing(wave: Wave) -> None:
    version = bank_import("health_literacy")
    key = key_of(version)
    answers = correct_answers(key)
    # The 15 multiple-choice items (hl32–hl46; the situational hl50 is kept right), each 2 points.
    multiple = version.items.filter(type=Item.Type.MULTIPLE, situational=False).values_list("name", flat=True)
    assert len(multiple) == 15
    for name in multiple:
        answers[name] = answers[name][:-1]
    score = score_of(stored(wave, version, answers), key)
    assert score.total_points == 66 - 30 == 36
    assert all(score.item_points[name] == 0.0 for name in multiple)
    # Lost per dimension (2 points per item): knowledge hl32 33 34 36 43 → 28 - 10; lifestyle hl35 37 40 41 42 46
    # → 22 - 12; skills hl38 39 44 45 → 16 - 8; scientific_view hl32 33 46 → 11 - 6; infectious hl34 35 → 7 - 4;
    # chronic hl36 37 38 → 12 - 6; safety hl39 40 41 → 14 - 6; medical hl42 43 44 → 14 - 6; information hl45 → 8 - 2.
    assert score.dimension_points == {
        "knowledge": 18.0, "lifestyle": 10.0, "skills": 8.0, "scientific_view": 5.0, "infectious": 3.0,
        "chronic": 6.0, "safety": 8.0, "medical": 8.0, "information": 6.0,
    }
    assert score.benchmarks["health_literacy"] is False
    assert score.benchmarks["health_aspect"] == {"knowledge": False, "lifestyle": False, "skills": False}
    assert not any(score.benchmarks["health_category"].values())


@pytest.mark.parametrize(("wrong", "total", "literate"), [(13, 53.0, True), (14, 52.0, False)])
def test_health_literacy_needs_80_percent_of_66(wave: Wave, wrong: int, total: float, literate: bool) -> None:
    version = bank_import("health_literacy")
    key = key_of(version)
    score = score_of(stored(wave, version, answers_with_wrong(key, one_point_items(version, wrong))), key)
    # 0.8 × 66 = 52.8: 53 is literate, 52 is not.
    assert score.total_points == total
    assert score.benchmarks["health_literacy"] is literate


@pytest.mark.parametrize(
    ("right", "total", "level", "literate"),
    [
        (50, 100.0, "high", True),
        (43, 86.0, "high", True),
        (42, 84.0, "literate", True),
        (35, 70.0, "literate", True),
        (34, 68.0, "basic", False),
        (28, 56.0, "basic", False),
        (27, 54.0, "low", False),
        (0, 0.0, "low", False),
    ],
)
def test_science_levels(wave: Wave, right: int, total: float, level: str, literate: bool) -> None:
    # 50 items of 2 points; high ≥ 85, literate ≥ 70, basic ≥ 55, low below.
    version = bank_import("science_literacy")
    key = key_of(version)
    names = list(version.items.filter(keys__key=key).order_by("order").values_list("name", flat=True))
    score = score_of(stored(wave, version, answers_with_wrong(key, set(names[right:]))), key)
    assert (score.total_points, score.level, score.benchmarks["science_literacy"]) == (total, level, literate)


# --------------------------------------------------------------------------- the official key of a wave


def test_new_response_is_scored_under_the_key_its_wave_fields(wave: Wave) -> None:
    version = mini_import()
    official = key_of(version)
    WaveInstrument.objects.create(wave=wave, instrument_version=version, scoring_key=official)
    revised = second_key(version)
    revised.status = PublishState.PUBLISHED
    revised.save()
    response = stored(wave, version, ALL_RIGHT)
    responses_score_new(response)
    assert list(ResponseScore.objects.filter(response__wave=wave).values_list("key_id", "total_points")) == [(official.pk, 4.0)]


def test_new_response_outside_the_wave_plan_is_scored_under_the_latest_published_key(wave: Wave) -> None:
    version = mini_import()
    second_key(version)  # a draft: not used
    response = stored(wave, version, ALL_RIGHT)
    responses_score_new(response)
    assert list(ResponseScore.objects.filter(response__wave=wave).values_list("key_id", flat=True)) == [key_of(version).pk]


def test_new_response_of_an_unscored_instrument_is_not_scored(wave: Wave) -> None:
    version = InstrumentVersion.objects.get(pk=mini_import(publish=False).pk)
    ScoringKey.objects.filter(instrument_version=version).delete()
    responses_score_new(stored(wave, version, ALL_RIGHT))
    assert not ResponseScore.objects.filter(response__wave=wave).exists()


# --------------------------------------------------------------------------- groups


@pytest.mark.parametrize(
    ("demographics", "groups"),
    [
        ({"age": 62, "occupation": "farmer"}, ["farmer", "elder"]),
        ({"age": 30, "occupation": "civil_servant"}, ["youth", "cadre"]),
        ({"age": 35, "occupation": "cadre"}, ["youth", "cadre"]),
        ({"age": 36, "occupation": "cadre"}, ["cadre"]),
        ({"age": 45, "occupation": "industrial_worker"}, ["worker"]),
        ({"age": 15, "occupation": "student"}, ["youth"]),
        ({"age": 14, "occupation": "student"}, []),
        ({"age": 60, "occupation": "retired"}, ["elder"]),
        ({"age": 59, "occupation": "professional"}, []),
        ({"age": 70, "occupation": "civil_servant"}, ["elder", "cadre"]),
        ({"occupation": "farmer"}, ["farmer"]),
        ({}, []),
    ],
)
def test_demographics_group_rules(db: None, demographics: dict[str, Any], groups: list[str]) -> None:
    key = key_of(bank_import("demographics"))
    assert groups_classify(key, [demographics]) == [groups]


def test_groups_are_classified_row_by_row(db: None) -> None:
    key = key_of(bank_import("demographics"))
    rows = [{"age": 62, "occupation": "farmer"}, {"age": 30, "occupation": "civil_servant"}]
    assert groups_classify(key, rows) == [["farmer", "elder"], ["youth", "cadre"]]


def test_scoring_a_demographics_response_records_its_groups(wave: Wave) -> None:
    version = bank_import("demographics")
    answers = {"age": 62, "sex": "male", "education": "primary_or_less", "occupation": "farmer",
               "residence": "rural", "town": "yushan"}
    score = score_of(stored(wave, version, answers), key_of(version))
    assert score.groups == ["farmer", "elder"]
    assert (score.total_points, score.max_points, score.item_points, score.benchmarks) == (0.0, 0.0, {}, {})
