"""Nonresponse adjustment before raking: weighting classes (assessment/nonresponse.py) and the
factors a weight set stores (assessment/weighting.py), checked by hand on the demo county."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pytest

from assessment.models import Case, County, Wave, WeightSet
from assessment.nonresponse import classes_collapse
from assessment.rates import counts_from_dispositions, eligibility_known_share
from assessment.weighting import NONRESPONSE, adjusted_weights, nonresponse_adjustment
from questionnaires.models import Response
from scoring import weights_nonresponse
from scoring.adapters import respondent_table


def cells_of(spec: list[tuple[str, str, int, int]]) -> tuple[list[tuple[str, str]], list[bool], list[float]]:
    """Return cases for (town, urban_rural, respondents, nonrespondents) rows, each of weight 1."""
    cells, responded, weights = [], [], []
    for town, ur, r, nr in spec:
        for flag in [True] * r + [False] * nr:
            cells.append((town, ur))
            responded.append(flag)
            weights.append(1.0)
    return cells, responded, weights


def test_cells_large_enough_are_kept() -> None:
    labels = classes_collapse(*cells_of([("a", "urban", 30, 5), ("a", "rural", 25, 5)]), min_respondents=20)
    assert set(labels) == {"a|urban", "a|rural"}


def test_a_small_cell_is_merged_with_its_sibling_into_the_town() -> None:
    labels = classes_collapse(*cells_of([("a", "urban", 5, 1), ("a", "rural", 40, 5), ("b", "rural", 30, 2)]), min_respondents=20)
    assert labels.count("a") == 51 and labels.count("b|rural") == 32 and len(labels) == 83


def test_a_cell_needing_too_large_a_factor_is_merged() -> None:
    # a|urban: 25 respondents of 60 sampled → factor 2.4 > 2
    labels = classes_collapse(*cells_of([("a", "urban", 25, 35), ("a", "rural", 40, 5)]), min_respondents=20, max_factor=2.0)
    assert set(labels) == {"a"}


def test_small_towns_are_pooled_and_a_small_pool_takes_everything() -> None:
    labels = classes_collapse(*cells_of([("a", "rural", 12, 1), ("b", "rural", 10, 0), ("c", "rural", 30, 3)]), min_respondents=20)
    assert set(labels) == {"*", "c|rural"} and labels.count("*") == 23
    labels = classes_collapse(*cells_of([("a", "rural", 5, 1), ("c", "rural", 30, 3)]), min_respondents=20)
    assert set(labels) == {"all"}


def test_collapsing_needs_a_respondent_and_matching_lengths() -> None:
    with pytest.raises(ValueError, match="no case responded"):
        classes_collapse(*cells_of([("a", "rural", 0, 3)]))
    with pytest.raises(ValueError, match="one entry per case"):
        classes_collapse([("a", "r")], [True, False], [1.0])


def test_the_factor_is_sampled_over_responding_weight_within_a_class() -> None:
    cells, responded, weights = cells_of([("a", "urban", 20, 20), ("b", "rural", 30, 10)])
    labels = classes_collapse(cells, responded, weights, min_respondents=20)
    result = weights_nonresponse(weights, responded, labels)
    factors = dict(zip(result.class_labels, result.factors))
    assert factors["a|urban"] == pytest.approx(2.0) and factors["b|rural"] == pytest.approx(40 / 30)


# --- the demo county ---------------------------------------------------------------------------


@pytest.fixture
def wave(demo_county: Any, db: None) -> Wave:
    return Wave.objects.get(county=County.objects.get(pk=demo_county.county_id), year=2025, kind=Wave.Kind.HOUSEHOLD)


def test_stored_factors_match_a_hand_computation_from_the_dispositions(wave: Wave) -> None:
    stored = WeightSet.objects.get(wave=wave, instrument__code="science_literacy", is_current=True).method["nonresponse"]
    usable = set(Response.objects.filter(wave=wave).exclude(review="rejected").values_list("case_id", flat=True))
    rows = list(Case.objects.filter(wave=wave).values_list("pk", "town__code", "sampled_unit__unit__urban_rural", "prob_psu", "prob_household", "disposition"))
    e = eligibility_known_share(counts_from_dispositions(r[5] for r in rows))
    assert stored["e"] == pytest.approx(e)
    sampled: dict[str, float] = defaultdict(float)
    answered: dict[str, float] = defaultdict(float)
    respondents: dict[str, int] = defaultdict(int)
    for pk, town, ur, p1, p2, disposition in rows:
        label = stored["classes"][f"{town}|{ur}"]
        d = 1 / (p1 * p2)
        if pk in usable:
            sampled[label] += d
            answered[label] += d
            respondents[label] += 1
        elif disposition in ("unknown", "pending"):
            sampled[label] += e * d
        elif disposition != "not_eligible":
            sampled[label] += d
    for cell, label in stored["classes"].items():
        assert stored["factors"][cell] == pytest.approx(sampled[label] / answered[label], rel=1e-12), cell
    assert all(n >= NONRESPONSE["min_respondents"] for n in respondents.values())
    assert all(sampled[k] / answered[k] <= NONRESPONSE["max_factor"] for k in sampled)
    assert len(set(stored["classes"].values())) < len(stored["classes"])  # some small cells were collapsed


def test_adjusted_weights_are_base_weights_times_the_cell_factor(wave: Wave) -> None:
    method = {"nonresponse": nonresponse_adjustment(wave)}
    table = respondent_table(wave, "health_literacy")
    adjusted = adjusted_weights(table, method)
    factors = np.asarray([method["nonresponse"]["factors"][f"{t}|{u}"] for t, u in zip(table.labels["town"], table.labels["urban_rural"])])
    np.testing.assert_allclose(adjusted, factors / table.pi, rtol=1e-12)
    # Without factors (the method of older weight sets) the base weights are used as they are.
    np.testing.assert_allclose(adjusted_weights(table, {"nonresponse": "none"}), 1 / table.pi)
