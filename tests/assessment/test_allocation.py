"""Bounded proportional allocation (assessment/sampling.allocate_proportional with caps and per-stratum minima)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from assessment.sampling import allocate_proportional


def test_a_capped_stratum_gives_its_excess_to_the_others() -> None:
    # Quotas 10·(80, 10, 10)/100 = 8, 1, 1; the first can take only 4, the rest share 6 as 3 + 3.
    np.testing.assert_array_equal(allocate_proportional([80, 10, 10], 10, 0, [4, 9, 9]), [4, 3, 3])


def test_minimum_per_stratum_may_differ() -> None:
    # A small stratum whose frame has one unit needs only one; the other minimum is 3.
    np.testing.assert_array_equal(allocate_proportional([90, 5, 5], 8, [3, 1, 3], [10, 1, 10]), [4, 1, 3])


def test_impossible_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="at most 4 in all"):
        allocate_proportional([1, 1], 5, 0, [2, 2])
    with pytest.raises(ValueError, match="below its minimum"):
        allocate_proportional([1, 1], 7, 3, [2, 9])
    with pytest.raises(ValueError, match="one maximum per stratum"):
        allocate_proportional([1, 1], 2, 0, [2])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(data=st.data())
def test_bounded_allocation_sums_to_the_total_within_bounds_and_follows_size(data: Any) -> None:
    k = data.draw(st.integers(min_value=1, max_value=12))
    sizes = np.asarray(data.draw(st.lists(st.integers(1, 10_000), min_size=k, max_size=k)), dtype=float)
    caps = np.asarray(data.draw(st.lists(st.integers(1, 30), min_size=k, max_size=k)))
    minimum = data.draw(st.integers(0, 3))
    assume((np.minimum(caps, minimum)).sum() <= caps.sum())
    total = data.draw(st.integers(int(np.minimum(caps, minimum).sum()), int(caps.sum())))
    alloc = allocate_proportional(sizes, total, np.minimum(caps, minimum), caps)
    assert alloc.sum() == total
    assert np.all(alloc >= np.minimum(caps, minimum)) and np.all(alloc <= caps)
    # Among strata at neither bound, a larger size never gets fewer units (up to rounding by one).
    free = (alloc > np.minimum(caps, minimum)) & (alloc < caps)
    for i in np.flatnonzero(free):
        for j in np.flatnonzero(free):
            if sizes[i] > sizes[j]:
                assert alloc[i] >= alloc[j] - 1
