"""Selection algorithms of assessment/sampling.py: hand-checked frames, simulations, properties.

Simulations are seeded, so they are deterministic; their tolerances are per-unit binomial
z-bounds with a Bonferroni correction at a family-wise level of 1e-3, so a correct algorithm
fails them with probability below 0.1% for any seed, while a wrong probability of the size
tested (a few percent of π) is far outside them.  Property tests are derandomized (Hypothesis
picks the same examples every run); they were also run once with 6,000 examples each.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from assessment.sampling import (
    allocate_proportional,
    kish_order,
    kish_select,
    pps_probabilities,
    pps_systematic,
    systematic,
)

FAMILY_ALPHA = 1e-3


def fixed_rng(share: float) -> Any:
    """Return a stand-in for np.random.Generator whose `uniform` returns SHARE of its range.

    SHARE = 1.0 stands for the largest float below `high`, the edge a real generator reaches.
    """

    class Fixed:
        def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None) -> float:
            if share >= 1.0:
                return float(np.nextafter(high, low))
            return low + (high - low) * share

    return Fixed()


def assert_binomial(counts: np.ndarray, trials: int, p: np.ndarray) -> None:
    """Assert every count is within a Bonferroni-corrected z-bound of trials·p (p = 0 or 1 exactly)."""
    counts = np.asarray(counts, dtype=float)
    p = np.asarray(p, dtype=float)
    exact = (p == 0) | (p == 1)
    np.testing.assert_array_equal(counts[exact], trials * p[exact])
    z = norm.ppf(1 - FAMILY_ALPHA / (2 * max(1, int((~exact).sum()))))
    sd = np.sqrt(trials * p * (1 - p))
    dev = np.abs(counts - trials * p)
    worst = np.max(np.where(exact, 0.0, dev / np.where(exact, 1.0, sd)))
    assert worst <= z, f"largest |z| {worst:.2f} exceeds the Bonferroni bound {z:.2f}"


# --- PPS inclusion probabilities ----------------------------------------------------------


def test_pps_probabilities_are_n_size_over_total_without_certainty_units() -> None:
    pi, certain = pps_probabilities([10, 20, 30, 40], 2)
    np.testing.assert_allclose(pi, [0.2, 0.4, 0.6, 0.8])
    assert not certain.any()


def test_pps_unit_reaching_the_interval_is_taken_with_certainty_and_the_rest_reallocated() -> None:
    # 2·60/100 = 1.2 ≥ 1: certain; the other draw goes by size among the remaining 40.
    pi, certain = pps_probabilities([60, 10, 10, 20], 2)
    np.testing.assert_array_equal(certain, [True, False, False, False])
    np.testing.assert_allclose(pi, [1.0, 0.25, 0.25, 0.5])


def test_pps_removing_one_certainty_unit_pushes_a_second_above_one() -> None:
    # First pass: 3·50/100 = 1.5 (certain), 3·30/100 = 0.9 (not yet).
    # Second pass without unit 0: 2·30/50 = 1.2, so unit 1 becomes certain too.
    # Third pass: 1 draw among sizes 10, 5, 5 → 0.5, 0.25, 0.25.
    pi, certain = pps_probabilities([50, 30, 10, 5, 5], 3)
    np.testing.assert_array_equal(certain, [True, True, False, False, False])
    np.testing.assert_allclose(pi, [1.0, 1.0, 0.5, 0.25, 0.25])
    assert pi.sum() == pytest.approx(3)


def test_pps_unit_exactly_at_the_interval_is_certain() -> None:
    pi, certain = pps_probabilities([50, 25, 25], 2)  # 2·50/100 = 1 exactly
    np.testing.assert_array_equal(certain, [True, False, False])
    np.testing.assert_allclose(pi, [1.0, 0.5, 0.5])


def test_pps_selecting_every_unit_makes_all_certain() -> None:
    pi, certain = pps_probabilities([3, 1, 7], 3)
    assert certain.all()
    np.testing.assert_array_equal(pi, 1.0)


@pytest.mark.parametrize(
    ("sizes", "n", "message"),
    [
        ([], 1, "non-empty"),
        ([[1, 2]], 1, "non-empty 1-d"),
        ([1, 0, 2], 1, "positive"),
        ([1, -3], 1, "positive"),
        ([1, float("nan")], 1, "positive"),
        ([1, 2], 0, "cannot select 0 of 2"),
        ([1, 2], 3, "cannot select 3 of 2"),
    ],
)
def test_pps_probabilities_reject_bad_frames(sizes: Any, n: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pps_probabilities(sizes, n)


# --- systematic PPS selection -----------------------------------------------------------

# Unit 0 is certain at once (5·30/94), unit 1 only once unit 0 is removed (5·18/94 < 1 < 4·18/64).
FRAME = np.array([30, 18, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1], dtype=float)
FRAME_N = 5


def test_pps_frame_for_simulation_has_an_iterative_certainty_unit() -> None:
    first_pass = FRAME_N * FRAME / FRAME.sum()
    assert first_pass[0] >= 1 > first_pass[1]
    _, certain = pps_probabilities(FRAME, FRAME_N)
    np.testing.assert_array_equal(np.flatnonzero(certain), [0, 1])


def test_pps_systematic_draws_n_distinct_units_certainty_first() -> None:
    rng = np.random.default_rng(11)
    for _ in range(200):
        draw = pps_systematic(FRAME, FRAME_N, rng)
        assert draw.selected.size == FRAME_N
        assert np.unique(draw.selected).size == FRAME_N
        np.testing.assert_array_equal(draw.selected[:2], [0, 1])
        assert draw.certainty[draw.selected[:2]].all()


def test_pps_systematic_selection_frequency_matches_inclusion_probability() -> None:
    rng = np.random.default_rng(20250101)
    trials = 20_000
    counts = np.zeros(FRAME.size)
    for _ in range(trials):
        counts[pps_systematic(FRAME, FRAME_N, rng).selected] += 1
    pi, _ = pps_probabilities(FRAME, FRAME_N)
    assert_binomial(counts, trials, pi)


def test_pps_systematic_reports_the_probabilities_it_samples_with() -> None:
    draw = pps_systematic(FRAME, FRAME_N, np.random.default_rng(3))
    pi, certain = pps_probabilities(FRAME, FRAME_N)
    np.testing.assert_array_equal(draw.probability, pi)
    np.testing.assert_array_equal(draw.certainty, certain)


@pytest.mark.parametrize("start", [0.0, 0.25, 0.5, 0.999, 1.0])
def test_pps_systematic_random_start_at_any_point_of_the_interval_stays_in_the_frame(start: float) -> None:
    draw = pps_systematic([5, 4, 3, 2, 1], 2, fixed_rng(start))
    assert np.unique(draw.selected).size == 2
    assert draw.selected.max() < 5


# --- systematic equal-probability selection ----------------------------------------------


def test_systematic_positions_with_a_fractional_interval() -> None:
    # N = 10, n = 4: interval 2.5; start 0.5 → 0.5, 3, 5.5, 8 → positions 0, 3, 5, 8.
    np.testing.assert_array_equal(systematic(10, 4, fixed_rng(0.2)), [0, 3, 5, 8])


def test_systematic_takes_everyone_when_n_exceeds_the_listing() -> None:
    np.testing.assert_array_equal(systematic(4, 15, np.random.default_rng(0)), [0, 1, 2, 3])


def test_systematic_rejects_an_empty_listing() -> None:
    with pytest.raises(ValueError, match="empty"):
        systematic(0, 3, np.random.default_rng(0))


def test_systematic_selection_frequency_is_n_over_population() -> None:
    population, n, trials = 17, 5, 20_000
    rng = np.random.default_rng(7)
    counts = np.zeros(population)
    for _ in range(trials):
        counts[systematic(population, n, rng)] += 1
    assert_binomial(counts, trials, np.full(population, n / population))


def test_systematic_probability_is_exactly_n_over_population_over_the_start_interval() -> None:
    # Integrate over the random start on a fine grid: each position's share of starts is n/N.
    population, n, grid = 17, 5, 100_000
    counts = np.zeros(population)
    for share in (np.arange(grid) + 0.5) / grid:
        counts[systematic(population, n, fixed_rng(share))] += 1
    np.testing.assert_allclose(counts / grid, n / population, atol=2 / grid)


# --- Kish selection ---------------------------------------------------------------------

ROSTER_SEX = ["female", "male", "male", "female", "male", "female"]
ROSTER_AGE = [41, 44, 17, 70, 72, 15]
ROSTER_ELIGIBLE = [True, True, True, False, False, True]


def test_kish_order_is_men_by_age_descending_then_women_by_age_descending() -> None:
    assert kish_order(ROSTER_SEX, ROSTER_AGE) == [4, 1, 2, 3, 0, 5]


def test_kish_order_keeps_roster_order_between_members_of_the_same_sex_and_age() -> None:
    assert kish_order(["male", "female", "male"], [30, 30, 30]) == [0, 2, 1]


def test_kish_grid_row_maps_to_the_eligible_member_in_kish_order() -> None:
    # Eligible in Kish order: 1 (man 44), 2 (man 17), 0 (woman 41), 5 (woman 15); k = 4.
    picks = [kish_select(ROSTER_SEX, ROSTER_AGE, ROSTER_ELIGIBLE, u) for u in (0.0, 0.3, 0.5, 0.99)]
    assert picks == [(1, 4), (2, 4), (0, 4), (5, 4)]


def test_kish_selection_is_uniform_over_eligible_members_and_never_ineligible() -> None:
    trials = 40_000
    u = np.random.default_rng(5).uniform(size=trials)
    counts = np.zeros(len(ROSTER_AGE))
    for value in u:
        pos, k = kish_select(ROSTER_SEX, ROSTER_AGE, ROSTER_ELIGIBLE, float(value))
        assert k == 4
        counts[pos] += 1
    p = np.where(ROSTER_ELIGIBLE, 0.25, 0.0)
    assert_binomial(counts, trials, p)


def test_kish_selection_probability_is_exactly_one_over_k_on_a_grid_of_rows() -> None:
    grid = 1200  # a multiple of every k up to 6
    for k in range(1, 7):
        sexes, ages = ["male"] * k, list(range(20, 20 + k))
        counts = np.bincount(
            [kish_select(sexes, ages, [True] * k, (i + 0.5) / grid)[0] for i in range(grid)], minlength=k
        )
        np.testing.assert_array_equal(counts, grid // k)


def test_kish_largest_grid_row_stays_in_range() -> None:
    row = float(np.nextafter(1.0, 0.0))
    for k in range(1, 40):
        pos, n = kish_select(["female"] * k, list(range(k)), [True] * k, row)
        assert n == k and pos == 0  # the last in Kish order is the youngest woman, roster line 0


@pytest.mark.parametrize("u", [-0.1, 1.0, 1.5])
def test_kish_grid_row_outside_unit_interval_is_refused(u: float) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        kish_select(["male"], [30], [True], u)


def test_kish_household_without_eligible_member_is_refused() -> None:
    with pytest.raises(ValueError, match="no member"):
        kish_select(["male", "female"], [80, 10], [False, False], 0.5)


# --- allocation -------------------------------------------------------------------------


def test_allocation_holds_small_strata_at_the_minimum_iteratively() -> None:
    # Quotas 10, 6, 3, 1 → stratum 3 held at 3; then 17·(50, 30, 15)/95 = 8.95, 5.37, 2.68 →
    # stratum 2 held at 3; then 14·(50, 30)/80 = 8.75, 5.25 → 8 + 5 and one by largest remainder.
    np.testing.assert_array_equal(allocate_proportional([50, 30, 15, 5], 20, 3), [9, 5, 3, 3])


def test_allocation_rounds_by_largest_remainder() -> None:
    # Quotas 4.2, 3.5, 2.3 → floors 4, 3, 2 and the one left goes to the largest remainder (.5).
    np.testing.assert_array_equal(allocate_proportional([42, 35, 23], 10), [4, 4, 2])


def test_allocation_breaks_remainder_ties_by_stratum_order() -> None:
    np.testing.assert_array_equal(allocate_proportional([1, 1, 1], 10), [4, 3, 3])


def test_allocation_of_the_demo_towns_gives_every_town_six_and_sums_to_72() -> None:
    from assessment.demo.county import TOWNS

    sizes = [t.population for t in TOWNS]
    alloc = allocate_proportional(sizes, 72, 6)
    assert alloc.sum() == 72 and alloc.min() == 6
    assert alloc[0] == alloc.max()  # Yushan, the largest


def test_allocation_refuses_impossible_minima() -> None:
    with pytest.raises(ValueError, match="minimum of 6 in 9 strata exceeds the total of 50"):
        allocate_proportional(np.ones(9), 50, 6)


def test_allocation_refuses_non_positive_sizes() -> None:
    with pytest.raises(ValueError, match="positive size"):
        allocate_proportional([3, 0, 2], 5)


# --- properties -------------------------------------------------------------------------

sizes_float = st.lists(st.floats(min_value=1e-3, max_value=1e6, allow_nan=False), min_size=1, max_size=40)
sizes_int = st.lists(st.integers(min_value=1, max_value=100_000), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(sizes=sizes_float, data=st.data())
def test_pps_probabilities_sum_to_n_and_are_proportional_below_certainty(sizes: list[float], data: Any) -> None:
    n = data.draw(st.integers(min_value=1, max_value=len(sizes)))
    size = np.asarray(sizes)
    pi, certain = pps_probabilities(size, n)
    assert pi.sum() == pytest.approx(n, rel=1e-9)
    assert np.all((pi > 0) & (pi <= 1))
    np.testing.assert_array_equal(pi[certain], 1.0)
    assert np.all(pi[~certain] < 1)
    if (~certain).sum() > 1:
        ratio = pi[~certain] / size[~certain]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    if certain.any() and (~certain).any():
        assert size[certain].min() >= size[~certain].max()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(sizes=sizes_int, data=st.data())
def test_pps_systematic_always_draws_n_distinct_units_including_every_certainty_unit(sizes: list[int], data: Any) -> None:
    n = data.draw(st.integers(min_value=1, max_value=len(sizes)))
    start = data.draw(st.one_of(st.floats(min_value=0, max_value=1, exclude_max=True), st.just(1.0)))
    draw = pps_systematic(sizes, n, fixed_rng(start))
    assert draw.selected.size == n
    assert np.unique(draw.selected).size == n
    assert np.all((draw.selected >= 0) & (draw.selected < len(sizes)))
    assert set(np.flatnonzero(draw.certainty)) <= set(draw.selected.tolist())


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    population=st.integers(min_value=1, max_value=5000),
    n=st.integers(min_value=1, max_value=60),
    start=st.one_of(st.floats(min_value=0, max_value=1, exclude_max=True), st.just(1.0)),
)
def test_systematic_returns_min_n_population_distinct_sorted_positions(population: int, n: int, start: float) -> None:
    positions = systematic(population, n, fixed_rng(start))
    assert positions.size == min(n, population)
    assert np.all(np.diff(positions) > 0)
    assert positions[0] >= 0 and positions[-1] < population


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    members=st.lists(
        st.tuples(st.sampled_from(["male", "female"]), st.integers(0, 99), st.booleans()), min_size=1, max_size=10
    ),
    u=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_kish_selects_an_eligible_member_at_position_floor_u_k(members: list[tuple[str, int, bool]], u: float) -> None:
    sexes, ages, eligible = (list(c) for c in zip(*members))
    assume(any(eligible))
    order = kish_order(sexes, ages)
    assert sorted(order) == list(range(len(members)))
    ranks = [(0 if sexes[i] == "male" else 1, -ages[i]) for i in order]
    assert ranks == sorted(ranks)
    pos, k = kish_select(sexes, ages, eligible, u)
    assert eligible[pos]
    assert k == sum(eligible)
    assert [i for i in order if eligible[i]].index(pos) == int(u * k)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    sizes=st.lists(st.floats(min_value=0.5, max_value=1e5, allow_nan=False), min_size=1, max_size=15),
    total=st.integers(min_value=0, max_value=300),
    minimum=st.integers(min_value=0, max_value=8),
)
def test_allocation_sums_to_total_respects_minimum_and_is_monotone_in_size(
    sizes: list[float], total: int, minimum: int
) -> None:
    assume(minimum * len(sizes) <= total)
    alloc = allocate_proportional(sizes, total, minimum)
    assert alloc.sum() == total
    assert np.all(alloc >= minimum)
    size = np.asarray(sizes)
    for i in range(size.size):
        for j in range(size.size):
            if size[i] < size[j] * (1 - 1e-9):  # sizes an ulp apart have the same quota: ties go by order
                assert alloc[i] <= alloc[j]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    sizes=st.lists(st.floats(min_value=0.5, max_value=1e5, allow_nan=False), min_size=1, max_size=15),
    total=st.integers(min_value=0, max_value=300),
    minimum=st.integers(min_value=0, max_value=8),
)
def test_allocation_is_proportional_when_no_minimum_binds(sizes: list[float], total: int, minimum: int) -> None:
    size = np.asarray(sizes)
    quota = total * size / size.sum()
    assume(np.all(quota >= minimum))
    alloc = allocate_proportional(sizes, total, minimum)
    assert np.all(np.abs(alloc - quota) < 1)
    np.testing.assert_array_equal(alloc, allocate_proportional(sizes, total))
