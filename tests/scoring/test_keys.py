"""Item scoring against a key: option bit masks, all-or-nothing multiple choice, dimension
points, benchmark rules (total, family:X, dimension:X; points or share) and levels.

The expected numbers are worked out by hand next to each test, and a property test checks the
array code against a plain per-respondent reading of the same rules.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.keys import (
    UNANSWERED,
    BenchmarkSpec,
    KeyArrays,
    classify_levels,
    encode_answers,
    key_arrays,
    score,
)


def small_key(*benchmarks: BenchmarkSpec) -> KeyArrays:
    """Return a 4-item, 6-point key.

    tf     true/false  1 point  true          knowledge
    single a b c d     1 point  c             knowledge, infectious
    multi  a b c d e   2 points a c d         skills, chronic
    second a b c d     2 points b d           skills, chronic, infectious
    maxima: knowledge 2, skills 4, chronic 4, infectious 3
    """
    return key_arrays(
        item_names=["tf", "single", "multi", "second"],
        options=[["true", "false"], list("abcd"), list("abcde"), list("abcd")],
        correct=[["true"], ["c"], ["a", "c", "d"], ["d", "b"]],
        points=[1, 1, 2, 2],
        dimension_codes=["knowledge", "skills", "chronic", "infectious"],
        dimension_families=["aspect", "aspect", "category", "category"],
        item_dimensions=[["knowledge"], ["knowledge", "infectious"], ["skills", "chronic"],
                         ["skills", "chronic", "infectious"]],
        benchmarks=benchmarks,
    )


RIGHT = {"tf": "true", "single": "c", "multi": ["a", "c", "d"], "second": ["b", "d"]}


def scored(key: KeyArrays, rows: Sequence[dict[str, Any]]) -> Any:
    return score(key, encode_answers(key, rows))


# --------------------------------------------------------------------------- the key


def test_correct_answers_become_bit_masks() -> None:
    key = small_key()
    # tf: true is bit 0; single: c is bit 2; multi: a c d = 1 + 4 + 8; second: b d = 2 + 8.
    assert key.correct_mask.tolist() == [1, 4, 13, 10]
    assert key.max_points == 6.0
    assert key.dimension_max.tolist() == [2.0, 4.0, 4.0, 3.0]
    assert key.incidence.tolist() == [[1, 0, 0, 0], [1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 1, 1]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"points": [1, 1, 2]}, "every scored item needs options, a correct set, points and dimensions"),
        ({"correct": [["true"], ["z"], ["a"], ["b"]]}, "item single: correct answer ['z'] is not among its options"),
        ({"correct": [["true"], [], ["a"], ["b"]]}, "item single: correct answer [] is not among its options"),
        ({"item_dimensions": [["knowledge"], ["nope"], [], []]}, "item single: unknown dimension 'nope'"),
        ({"options": [["true", "false"], [f"o{i}" for i in range(63)], list("abcde"), list("abcd")],
          "correct": [["true"], ["o0"], ["a"], ["b"]]}, "item single: at most 62 options can be scored"),
        ({"benchmarks": [BenchmarkSpec("b", "family:area", "share", 0.8)]}, "scope 'family:area' matches no dimension"),
        ({"benchmarks": [BenchmarkSpec("b", "dimension:area", "share", 0.8)]}, "scope 'dimension:area' matches no"),
        ({"benchmarks": [BenchmarkSpec("b", "county", "share", 0.8)]}, "scope 'county' matches no dimension"),
        ({"benchmarks": [BenchmarkSpec("b", "total", "percent", 0.8)]}, "basis must be 'points' or 'share'"),
    ],
)
def test_inconsistent_key_is_refused(change: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "item_names": ["tf", "single", "multi", "second"],
        "options": [["true", "false"], list("abcd"), list("abcde"), list("abcd")],
        "correct": [["true"], ["c"], ["a"], ["b"]],
        "points": [1, 1, 2, 2],
        "dimension_codes": ["knowledge"],
        "dimension_families": ["aspect"],
        "item_dimensions": [[], [], [], []],
        **change,
    }
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        key_arrays(**arguments)


def test_key_with_62_options_scores_the_last_one() -> None:
    options = [f"o{i}" for i in range(62)]
    key = key_arrays(item_names=["wide"], options=[options], correct=[["o61", "o0"]], points=[1],
                     dimension_codes=[], dimension_families=[], item_dimensions=[[]])
    result = scored(key, [{"wide": ["o0", "o61"]}, {"wide": ["o61"]}])
    assert result.total.tolist() == [1.0, 0.0]


# --------------------------------------------------------------------------- encoding


def test_answers_encode_as_option_masks() -> None:
    key = small_key()
    rows = [
        RIGHT,
        {"tf": "false", "single": "a", "multi": "d a c", "second": ["d", "b", "d"]},
        {"tf": None, "single": "", "multi": []},
        {"single": "z", "multi": ["a", "zz"]},
    ]
    assert encode_answers(key, rows).tolist() == [
        [1, 4, 13, 10],
        [2, 1, 13, 10],  # a space-separated string and a repeated option read as sets
        [UNANSWERED] * 4,
        [UNANSWERED, 0, 0, UNANSWERED],  # an option the item lacks never scores
    ]


def test_answers_of_the_wrong_shape_are_refused() -> None:
    key = small_key()
    with pytest.raises(ValueError, match=r"answers must have shape \(n, 4\)"):
        score(key, np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError):
        score(key, np.zeros(4, dtype=np.int64))


# --------------------------------------------------------------------------- item and dimension points


@pytest.mark.parametrize(
    ("multi", "points"),
    [
        (["a", "c", "d"], 2.0),  # exactly right
        (["d", "c", "a"], 2.0),  # in any order
        (["a", "c"], 0.0),  # partly right
        (["a"], 0.0),
        (["a", "b", "c", "d"], 0.0),  # a superset
        (["a", "b", "c", "d", "e"], 0.0),  # everything
        (["b", "e"], 0.0),  # all wrong
    ],
)
def test_multiple_choice_is_all_or_nothing(multi: list[str], points: float) -> None:
    result = scored(small_key(), [{**RIGHT, "multi": multi}])
    assert result.item_points[0, 2] == points
    assert result.total[0] == 4.0 + points


def test_unanswered_items_score_zero_and_are_marked() -> None:
    result = scored(small_key(), [{"tf": "true"}, {}])
    assert result.answered.tolist() == [[True, False, False, False], [False] * 4]
    assert result.item_points.tolist() == [[1.0, 0.0, 0.0, 0.0], [0.0] * 4]
    assert result.total.tolist() == [1.0, 0.0]


def test_dimension_points_count_an_item_toward_each_of_its_dimensions() -> None:
    result = scored(small_key(), [RIGHT, {**RIGHT, "multi": ["a"]}, {"second": ["b", "d"], "single": "c"}])
    # Columns knowledge, skills, chronic, infectious.
    # all right: tf+single = 2; multi+second = 4; multi+second = 4; single+second = 3
    # multi wrong: 2; 2; 2; 3
    # only single and second: 1; 2; 2; 1 + 2 = 3
    assert result.dimension_points.tolist() == [[2, 4, 4, 3], [2, 2, 2, 3], [1, 2, 2, 3]]
    assert result.total.tolist() == [6.0, 4.0, 3.0]


# --------------------------------------------------------------------------- benchmarks


def test_points_threshold_on_the_total() -> None:
    key = small_key(BenchmarkSpec("pass", "total", "points", 4))
    result = scored(key, [RIGHT, {**RIGHT, "multi": []}, {**RIGHT, "multi": [], "tf": "false"}])
    # totals 6, 4, 3: the threshold itself is enough.
    assert result.flags["pass"].tolist() == [True, True, False]
    assert result.flag_dimensions["pass"] == ("",)
    assert result.benchmark_json() == {"pass": [True, True, False]}


def twenty_one_point_items(benchmarks: Sequence[BenchmarkSpec]) -> KeyArrays:
    return key_arrays(
        item_names=[f"i{j}" for j in range(20)], options=[["t", "f"]] * 20, correct=[["t"]] * 20, points=[1] * 20,
        dimension_codes=[], dimension_families=[], item_dimensions=[[]] * 20, benchmarks=benchmarks,
    )


@pytest.mark.parametrize(("right", "met"), [(20, True), (17, True), (16, True), (15, False), (0, False)])
def test_share_threshold_counts_the_boundary_as_met(right: int, met: bool) -> None:
    # 0.8 × 20 = 16.000000000000004 in floating point: 16 of 20 must still count.
    key = twenty_one_point_items([BenchmarkSpec("b", "total", "share", 0.8)])
    row = {f"i{j}": "t" if j < right else "f" for j in range(20)}
    assert bool(scored(key, [row]).flags["b"][0]) is met


@pytest.mark.parametrize(("total", "met"), [(66, True), (53, True), (52.5, False), (52, False)])
def test_health_rule_needs_53_of_66(total: float, met: bool) -> None:
    # One item per half point: 132 items of 0.5 points (66 in all).
    n = 132
    key = key_arrays(
        item_names=[f"i{j}" for j in range(n)], options=[["t", "f"]] * n, correct=[["t"]] * n, points=[0.5] * n,
        dimension_codes=[], dimension_families=[], item_dimensions=[[]] * n,
        benchmarks=[BenchmarkSpec("health_literacy", "total", "share", 0.8)],
    )
    right = int(total * 2)
    result = scored(key, [{f"i{j}": "t" if j < right else "f" for j in range(n)}])
    assert result.total[0] == total
    assert bool(result.flags["health_literacy"][0]) is met


def test_family_benchmark_gives_one_flag_per_dimension() -> None:
    key = small_key(BenchmarkSpec("by_category", "family:category", "share", 0.8))
    result = scored(key, [RIGHT, {**RIGHT, "single": "a"}, {**RIGHT, "second": ["b"]}])
    # chronic max 4 (multi, second), infectious max 3 (single 1, second 2); 80 %: 3.2 and 2.4.
    # single wrong: chronic 4 ok, infectious 2 < 2.4; second wrong: chronic 2, infectious 1.
    assert result.flag_dimensions["by_category"] == ("chronic", "infectious")
    assert result.flags["by_category"].tolist() == [[True, True], [True, False], [False, False]]
    assert result.benchmark_json()["by_category"] == [
        {"chronic": True, "infectious": True},
        {"chronic": True, "infectious": False},
        {"chronic": False, "infectious": False},
    ]


def test_dimension_benchmark_on_points() -> None:
    key = small_key(BenchmarkSpec("skills_3", "dimension:skills", "points", 3))
    result = scored(key, [RIGHT, {**RIGHT, "multi": ["a"]}])
    assert result.flag_dimensions["skills_3"] == ("skills",)
    assert result.flags["skills_3"].tolist() == [[True], [False]]
    assert result.benchmark_json()["skills_3"] == [{"skills": True}, {"skills": False}]


# --------------------------------------------------------------------------- levels


SCIENCE_LEVELS = (("high", 85.0), ("literate", 70.0), ("basic", 55.0), ("low", 0.0))


@pytest.mark.parametrize(
    ("total", "level"),
    [(100, "high"), (85, "high"), (84, "literate"), (70, "literate"), (69, "basic"), (55, "basic"), (54, "low"),
     (0, "low")],
)
def test_science_levels_on_points(total: float, level: str) -> None:
    assert classify_levels(np.array([float(total)]), 100.0, "points", SCIENCE_LEVELS) == [level]


def test_levels_in_any_order_pick_the_highest_reached() -> None:
    shuffled = (("basic", 55.0), ("high", 85.0), ("low", 0.0), ("literate", 70.0))
    totals = np.array([90.0, 72.0, 60.0, 10.0])
    assert classify_levels(totals, 100.0, "points", shuffled) == ["high", "literate", "basic", "low"]


def test_levels_on_share_and_below_every_level() -> None:
    levels = (("high", 0.9), ("literate", 0.75))
    assert classify_levels(np.array([4.0, 3.0, 2.9, 0.0]), 4.0, "share", levels) == ["high", "literate", "", ""]


def test_levels_come_only_from_total_benchmarks() -> None:
    key = small_key(
        BenchmarkSpec("total_rule", "total", "share", 0.5, (("top", 1.0), ("pass", 0.5))),
        BenchmarkSpec("skills_rule", "dimension:skills", "share", 0.5, (("top", 1.0),)),
    )
    result = scored(key, [RIGHT, {"tf": "true", "single": "c", "second": ["b", "d"]}, {}])
    assert result.levels == {"total_rule": ["top", "pass", ""]}


# --------------------------------------------------------------------------- against a plain reading


@st.composite
def keys_and_answers(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    n_items = draw(st.integers(1, 6))
    n_dims = draw(st.integers(1, 4))
    dims = [f"d{k}" for k in range(n_dims)]
    families = [draw(st.sampled_from(["f0", "f1"])) for _ in dims]
    items = []
    for j in range(n_items):
        options = [f"o{i}" for i in range(draw(st.integers(2, 5)))]
        correct = draw(st.lists(st.sampled_from(options), min_size=1, max_size=len(options), unique=True))
        items.append({
            "name": f"q{j}", "options": options, "correct": correct,
            "points": draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])),
            "dims": draw(st.lists(st.sampled_from(dims), max_size=n_dims, unique=True)),
        })
    answer = st.one_of(st.none(), st.lists(st.sampled_from(["o0", "o1", "o2", "o3", "o4", "x"]), max_size=4))
    rows = draw(st.lists(st.fixed_dictionaries({it["name"]: answer for it in items}), min_size=1, max_size=6))
    spec = {"items": items, "dims": dims, "families": families,
            "share": draw(st.sampled_from([0.5, 0.8, 1.0])), "family": families[0]}
    return spec, rows


@settings(max_examples=120, deadline=None)
@given(case=keys_and_answers())
def test_scores_match_a_plain_reading_of_the_rules(case: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    spec, rows = case
    items, dims, families = spec["items"], spec["dims"], spec["families"]
    key = key_arrays(
        item_names=[it["name"] for it in items], options=[it["options"] for it in items],
        correct=[it["correct"] for it in items], points=[it["points"] for it in items],
        dimension_codes=dims, dimension_families=families, item_dimensions=[it["dims"] for it in items],
        benchmarks=[BenchmarkSpec("total", "total", "share", spec["share"]),
                    BenchmarkSpec("family", f"family:{spec['family']}", "share", spec["share"])],
    )
    result = scored(key, rows)
    family_dims = [d for d, f in zip(dims, families, strict=True) if f == spec["family"]]
    for i, row in enumerate(rows):
        earned = {}
        for it in items:
            chosen = row[it["name"]]
            answered = chosen not in (None, [])
            right = answered and set(chosen) == set(it["correct"])
            earned[it["name"]] = it["points"] if right else 0.0
            assert result.answered[i, items.index(it)] == answered
        total = sum(earned.values())
        assert result.total[i] == pytest.approx(total)
        per_dim = {d: sum(earned[it["name"]] for it in items if d in it["dims"]) for d in dims}
        maxima = {d: sum(it["points"] for it in items if d in it["dims"]) for d in dims}
        assert result.dimension_points[i].tolist() == pytest.approx([per_dim[d] for d in dims])
        assert bool(result.flags["total"][i]) == (total >= spec["share"] * key.max_points - 1e-9)
        assert result.flags["family"][i].tolist() == [per_dim[d] >= spec["share"] * maxima[d] - 1e-9
                                                     for d in family_dims]
