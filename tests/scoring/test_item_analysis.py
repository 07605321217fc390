"""Item analysis (scoring/item_analysis.py): hand-computed figures, R's figures, and properties.

The hand fixture: six respondents, four 1-point items A–D, weights 3, 1, 1, 1, 1, 1 (Σw = 8)::

    respondent  w   A B C D   total
    r1          3   1 1 1 0   3
    r2          1   1 0 1 0   2
    r3          1   1 1 0 0   2
    r4          1   1 0 0 1   2
    r5          1   1 0 0 0   1
    r6          1   0 0 0 0   0

Weighted moments (divisor Σw; it cancels in every ratio below):

* difficulty p = Σw·x / Σw: A (3+1+1+1+1)/8 = 7/8, B (3+1)/8 = 1/2, C (3+1)/8 = 1/2, D 1/8;
* item variances p(1 − p): A 7/64, B 16/64, C 16/64, D 7/64, sum 46/64 = 23/32;
* total: mean (9+2+2+2+1)/8 = 2, variance (3·1² + 0 + 0 + 0 + 1·1² + 1·2²)/8 = 1;
* Cronbach's alpha = 4/3 · (1 − (23/32)/1) = 4/3 · 9/32 = 3/8.

Corrected item–rest correlation r_j = cov(x_j, T − x_j) / sqrt(var x_j · var(T − x_j)):

* A: rest 2,1,1,1,0,0, mean 9/8; E[A·rest] = (6+1+1+1)/8 = 9/8, cov = 9/8 − 7/8·9/8 = 9/64;
  E[rest²] = (12+1+1+1)/8 = 15/8, var = 15/8 − 81/64 = 39/64; r = (9/64)/sqrt(7/64·39/64) = 9/√273;
* B: rest 2,2,1,2,1,0, mean 3/2; E[B·rest] = (6+1)/8 = 7/8, cov = 7/8 − 3/4 = 1/8;
  E[rest²] = (12+4+1+4+1)/8 = 11/4, var = 11/4 − 9/4 = 1/2; r = (1/8)/sqrt(1/4·1/2) = 1/√8;
* C: rest 2,1,2,2,1,0: the same moments as B, r = 1/√8;
* D: rest 3,2,2,1,1,0, mean 15/8; E[D·rest] = 1/8, cov = 1/8 − 15/64 = −7/64;
  E[rest²] = (27+4+4+1+1)/8 = 37/8, var = 37/8 − 225/64 = 71/64; r = −7/√(7·71) = −√(7/71).

Alpha if deleted, (k−1)/(k−2) · (1 − Σ other item variances / var rest), k − 1 = 3:

* A: 3/2 · (1 − (39/64)/(39/64)) = 0;   B and C: 3/2 · (1 − (30/64)/(32/64)) = 3/32;
* D: 3/2 · (1 − (39/64)/(71/64)) = 3/2 · 32/71 = 48/71 (above 3/8: D lowers the consistency).

Options chosen (key marked *), shares Σw·chosen / 8:

* A single (a* b c): r1–r5 a, r6 b → a 7/8, b 1/8, c 0 (a distractor nobody takes);
* B multiple (x* y* z): r1 {x y}, r2 {x}, r3 {x y}, r4 nothing, r5 {x z}, r6 {z}
  → x (3+1+1+1)/8 = 3/4, y (3+1)/8 = 1/2, z 2/8 = 1/4, omitted 1/8;
* C true/false (true* false): r1 r2 true → true 1/2, false 1/2;
* D single (a b c d*): r1 a, r2 b, r3 a, r4 d, r5 c, r6 nothing → a 1/2, b 1/8, c 1/8, d 1/8, omitted 1/8.

The R figures come from the script in ``R_SCRIPT`` (R 4, package ``survey``) run over ``R_DATA``:
weighted covariances from ``svyvar``, item–rest correlations from ``cov.wt`` (an independent
route to the same quantity), alpha from the covariance matrix.
"""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from scoring.item_analysis import (
    FLAG_LOW_DISCRIMINATION,
    FLAG_NEGATIVE_DISCRIMINATION,
    FLAG_NO_VARIANCE,
    FLAG_TOO_EASY,
    FLAG_TOO_HARD,
    alpha_if_item_deleted,
    cronbach_alpha,
    item_analysis,
    item_difficulty,
    item_flags,
    item_rest_correlation,
    option_shares,
    weighted_covariance,
)

SCORES = np.array(
    [
        [1, 1, 1, 0],
        [1, 0, 1, 0],
        [1, 1, 0, 0],
        [1, 0, 0, 1],
        [1, 0, 0, 0],
        [0, 0, 0, 0],
    ],
    dtype=float,
)
WEIGHTS = np.array([3, 1, 1, 1, 1, 1], dtype=float)
ONE_POINT = np.ones(4)

# Options chosen per item (rows r1–r6, columns the options in order).
SELECTIONS = [
    np.array([[1, 0, 0]] * 5 + [[0, 1, 0]], dtype=bool),  # A: a* b c
    np.array([[1, 1, 0], [1, 0, 0], [1, 1, 0], [0, 0, 0], [1, 0, 1], [0, 0, 1]], dtype=bool),  # B: x* y* z
    np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0, 1], [0, 1]], dtype=bool),  # C: true* false
    np.array([[1, 0, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 0, 0, 0]], dtype=bool),  # D
]


# --------------------------------------------------------------------------- hand-computed


def test_difficulty_is_the_weighted_share_correct() -> None:
    assert item_difficulty(SCORES, ONE_POINT, WEIGHTS) == pytest.approx([7 / 8, 1 / 2, 1 / 2, 1 / 8], abs=1e-15)


def test_difficulty_of_a_two_point_item_is_the_share_of_its_points() -> None:
    # Item B worth 2 points, earned by r1 (w 3) and r3 (w 1): (3·2 + 1·2) / (8 · 2) = 1/2.
    scores = SCORES * np.array([1, 2, 1, 1])
    assert item_difficulty(scores, [1, 2, 1, 1], WEIGHTS) == pytest.approx([7 / 8, 1 / 2, 1 / 2, 1 / 8], abs=1e-15)


def test_weighted_covariance_by_hand() -> None:
    cov = weighted_covariance(SCORES, WEIGHTS)
    assert np.diag(cov) == pytest.approx([7 / 64, 16 / 64, 16 / 64, 7 / 64], abs=1e-15)
    assert cov.sum() == pytest.approx(1.0, abs=1e-15)  # the variance of the total


def test_cronbach_alpha_by_hand() -> None:
    assert cronbach_alpha(SCORES, WEIGHTS) == pytest.approx(3 / 8, abs=1e-15)


def test_item_rest_correlation_by_hand() -> None:
    expected = [9 / math.sqrt(273), 1 / math.sqrt(8), 1 / math.sqrt(8), -math.sqrt(7 / 71)]
    assert item_rest_correlation(SCORES, WEIGHTS) == pytest.approx(expected, abs=1e-14)


def test_alpha_if_item_deleted_by_hand() -> None:
    assert alpha_if_item_deleted(SCORES, WEIGHTS) == pytest.approx([0.0, 3 / 32, 3 / 32, 48 / 71], abs=1e-14)


def test_option_shares_by_hand() -> None:
    found = [option_shares(chosen, WEIGHTS) for chosen in SELECTIONS]
    assert [list(f.shares) for f in found] == [
        pytest.approx([7 / 8, 1 / 8, 0]),
        pytest.approx([3 / 4, 1 / 2, 1 / 4]),
        pytest.approx([1 / 2, 1 / 2]),
        pytest.approx([1 / 2, 1 / 8, 1 / 8, 1 / 8]),
    ]
    assert [f.omitted for f in found] == pytest.approx([0, 1 / 8, 0, 1 / 8])


def test_item_analysis_puts_it_together_and_flags_item_d() -> None:
    result = item_analysis(SCORES, ONE_POINT, WEIGHTS, selections=SELECTIONS)
    assert (result.n, result.weight_total) == (6, 8.0)
    assert result.alpha == pytest.approx(3 / 8)
    assert (result.total_mean, result.total_sd) == pytest.approx((2.0, 1.0))
    assert result.difficulty == pytest.approx([7 / 8, 1 / 2, 1 / 2, 1 / 8])
    assert result.options is not None and result.options[1].omitted == pytest.approx(1 / 8)
    # D (r = −0.314) goes against the rest; at the default 5 % / 95 % no item is too hard or easy.
    assert result.flags == ((), (), (), (FLAG_NEGATIVE_DISCRIMINATION,))
    # Thresholds are keyword arguments: D (p = 1/8) is too hard below 15 %, A (7/8) too easy above 85 %,
    # and B and C (r = 0.354) count as near zero when 0.4 is required.
    strict = item_analysis(SCORES, ONE_POINT, WEIGHTS, min_difficulty=0.15, max_difficulty=0.85, min_discrimination=0.4)
    assert strict.flags == (
        (FLAG_TOO_EASY,), (FLAG_LOW_DISCRIMINATION,), (FLAG_LOW_DISCRIMINATION,),
        (FLAG_NEGATIVE_DISCRIMINATION, FLAG_TOO_HARD),
    )


def test_unweighted_figures_by_hand() -> None:
    # Without weights (each respondent 1, Σ = 6): p = 5/6, 2/6, 2/6, 1/6; total 3,2,2,2,1,0 mean 5/3,
    # variance (16/9 + 3·1/9 + 4/9 + 25/9)/6 = 48/54 = 8/9; item variances 5/36, 8/36, 8/36, 5/36 (sum 13/18);
    # alpha = 4/3 · (1 − (13/18)/(8/9)) = 4/3 · 3/16 = 1/4.
    assert item_difficulty(SCORES, ONE_POINT) == pytest.approx([5 / 6, 1 / 3, 1 / 3, 1 / 6])
    assert cronbach_alpha(SCORES) == pytest.approx(1 / 4)


# --------------------------------------------------------------------------- flags


def test_flags_of_items_nobody_or_everybody_gets_right() -> None:
    scores = np.array([[1, 0, 1], [1, 0, 0], [1, 0, 1], [1, 0, 0]], dtype=float)
    result = item_analysis(scores, np.ones(3))
    # Items 1 and 2 do not vary: no correlation, and 100 % / 0 % right.
    assert result.flags[0] == (FLAG_NO_VARIANCE, FLAG_TOO_EASY)
    assert result.flags[1] == (FLAG_NO_VARIANCE, FLAG_TOO_HARD)
    assert math.isnan(result.discrimination[0]) and math.isnan(result.discrimination[1])


def test_item_flags_thresholds_are_exclusive_bounds() -> None:
    flags = item_flags([0.05, 0.95, 0.5, 0.5], [0.1, 0.0, -0.01, 0.099])
    assert flags == ((), (FLAG_LOW_DISCRIMINATION,), (FLAG_NEGATIVE_DISCRIMINATION,), (FLAG_LOW_DISCRIMINATION,))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("scores", "weights", "message"),
    [
        ([[1, 0], [np.nan, 1]], None, "finite"),
        ([1, 0, 1], None, "matrix"),
        ([[1, 0], [0, 1]], [1, -1], "not negative"),
        ([[1, 0], [0, 1]], [0, 0], "sum to 0"),
        ([[1, 0], [0, 1]], [1, 2, 3], "shape"),
        ([[1, 0], [0, 1]], [1, np.inf], "finite"),
    ],
)
def test_bad_input_is_refused(scores: object, weights: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        item_analysis(scores, [1, 1], weights)  # type: ignore[arg-type]


def test_max_points_must_fit_the_items() -> None:
    with pytest.raises(ValueError, match="max_points"):
        item_difficulty(SCORES, [1, 1, 1], WEIGHTS)
    with pytest.raises(ValueError, match="max_points"):
        item_difficulty(SCORES, [1, 1, 0, 1], WEIGHTS)


def test_selections_need_one_row_per_respondent() -> None:
    with pytest.raises(ValueError, match="shape"):
        item_analysis(SCORES, ONE_POINT, WEIGHTS, selections=[s[:5] for s in SELECTIONS])
    with pytest.raises(ValueError, match="one matrix per item"):
        item_analysis(SCORES, ONE_POINT, WEIGHTS, selections=SELECTIONS[:3])


def test_no_respondents_gives_nan_not_an_error() -> None:
    result = item_analysis(np.zeros((0, 3)), np.ones(3), selections=[np.zeros((0, 2), dtype=bool)] * 3)
    assert result.n == 0 and math.isnan(result.alpha)
    assert np.isnan(result.difficulty).all() and np.isnan(result.discrimination).all()
    assert result.options is not None and math.isnan(result.options[0].omitted)


def test_alpha_needs_two_items_and_alpha_if_deleted_three() -> None:
    assert math.isnan(cronbach_alpha(SCORES[:, :1]))
    assert np.isnan(alpha_if_item_deleted(SCORES[:, :2])).all()
    assert not math.isnan(cronbach_alpha(SCORES[:, :2]))


# --------------------------------------------------------------------------- R's figures

R_DATA = """\
w,i1,i2,i3,i4,i5,i6
1.37,1,1,1,2,1,0
2.78,1,0,0,0,0,0
0.68,1,1,1,2,1,0
2.61,1,1,1,0,0,0
2.35,1,1,1,0,1,0
1.56,1,1,1,2,1,0
0.72,1,1,0,0,0,0
1.31,1,0,1,2,0,1
2.44,1,1,0,0,0,1
1.28,1,1,0,0,0,0
2.71,1,0,1,2,0,0
1.62,1,1,1,2,1,0
2.71,1,0,0,0,0,1
0.76,1,1,0,2,0,1
1.72,1,0,1,2,1,1
1.68,1,1,1,2,0,1
2.06,1,0,0,0,0,0
0.99,1,0,1,0,0,0
1.34,1,0,0,0,0,0
2.61,1,1,1,0,0,0
0.73,1,0,1,2,0,0
2.51,1,1,1,2,0,0
0.65,1,1,1,0,0,0
1.19,1,1,1,2,0,0
1.39,0,1,0,2,0,0
1.81,0,1,1,2,1,0
1.36,0,1,1,0,1,0
2.25,1,1,0,0,0,0
2.26,1,1,1,2,0,0
1.20,0,0,0,0,0,0
0.70,1,1,0,2,0,1
0.80,1,0,1,0,0,1
1.22,1,0,0,2,0,1
1.29,1,1,1,0,1,0
1.68,1,0,1,0,0,0
2.86,1,0,0,2,0,0
0.96,0,0,0,2,1,0
1.81,1,1,1,2,0,0
2.80,1,1,1,2,0,0
2.96,1,0,1,2,0,0
"""

R_SCRIPT = """\
library(survey)
d <- read.csv("data.csv")
items <- paste0("i", 1:6)
X <- as.matrix(d[, items]); w <- d$w; k <- ncol(X); top <- c(1, 1, 1, 2, 1, 1)
des <- svydesign(ids = ~1, weights = ~w, data = d)
S <- as.matrix(svyvar(as.formula(paste("~", paste(items, collapse = "+"))), des))
alpha <- function(S) { k <- ncol(S); k / (k - 1) * (1 - sum(diag(S)) / sum(S)) }
total <- rowSums(X)
rest_r <- sapply(1:k, function(j) cov.wt(cbind(X[, j], total - X[, j]), wt = w, cor = TRUE)$cor[1, 2])
difficulty <- sapply(1:k, function(j) weighted.mean(X[, j], w) / top[j])
out <- list(
  difficulty = difficulty,
  discrimination = rest_r,
  alpha = alpha(S),
  alpha_if_deleted = sapply(1:k, function(j) alpha(S[-j, -j])),
  unweighted_alpha = alpha(cov(X)),
  unweighted_discrimination = sapply(1:k, function(j) cor(X[, j], total - X[, j]))
)
cat(jsonlite::toJSON(out, digits = 15, auto_unbox = TRUE, pretty = TRUE))
"""

# Rscript ref.R (R 4.x, survey 4.x), printed with 15 digits.
R_RESULTS = {
    "difficulty": [0.900782518824745, 0.586150893252621, 0.635759633840248, 0.540528569319356,
                   0.217333530193415, 0.196958511737782],
    "discrimination": [-0.0604614131320641, 0.143152065365884, 0.429228425747939, 0.217656410451068,
                       0.185020876208265, -0.111121914187437],
    "alpha": 0.292328970286468,
    "alpha_if_deleted": [0.337367284704585, 0.24741389581871, 0.0476350362734775, 0.191970167277069,
                         0.229612285018923, 0.377122101423267],
    "unweighted_alpha": 0.313242662848962,
    "unweighted_discrimination": [0, 0.145517881237061, 0.32378273406546, 0.256994072964368,
                                  0.185130323002003, -0.0397772219829264],
}


def r_data() -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(io.StringIO(R_DATA), delimiter=",", skiprows=1)
    return table[:, 1:], table[:, 0]


def test_weighted_figures_match_r() -> None:
    scores, weights = r_data()
    result = item_analysis(scores, [1, 1, 1, 2, 1, 1], weights)
    assert result.difficulty == pytest.approx(R_RESULTS["difficulty"], rel=1e-12)
    assert result.discrimination == pytest.approx(R_RESULTS["discrimination"], rel=1e-10)
    assert result.alpha == pytest.approx(R_RESULTS["alpha"], rel=1e-12)
    assert result.alpha_if_deleted == pytest.approx(R_RESULTS["alpha_if_deleted"], rel=1e-10)
    # Item 6 was simulated with a negative slope, item 1 is nearly everybody's.
    assert result.flags[5] == (FLAG_NEGATIVE_DISCRIMINATION,)


def test_unweighted_figures_match_r() -> None:
    scores, _ = r_data()
    assert cronbach_alpha(scores) == pytest.approx(R_RESULTS["unweighted_alpha"], rel=1e-12)
    assert item_rest_correlation(scores) == pytest.approx(R_RESULTS["unweighted_discrimination"], rel=1e-10, abs=1e-12)


# --------------------------------------------------------------------------- properties

score_matrices = hnp.arrays(
    np.float64,
    st.tuples(st.integers(2, 12), st.integers(2, 6)),
    elements=st.sampled_from([0.0, 1.0, 2.0]),
)


def weights_for(n: int) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, n, elements=st.floats(0.1, 50, allow_nan=False))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), scores=score_matrices)
def test_alpha_is_at_most_one(data: st.DataObject, scores: np.ndarray) -> None:
    weights = data.draw(weights_for(scores.shape[0]))
    alpha = cronbach_alpha(scores, weights)
    assert math.isnan(alpha) or alpha <= 1 + 1e-9
    assert all(math.isnan(a) or a <= 1 + 1e-9 for a in alpha_if_item_deleted(scores, weights))


@settings(max_examples=200, deadline=None)
@given(scores=score_matrices)
def test_unweighted_equals_weights_all_one(scores: np.ndarray) -> None:
    ones = np.ones(scores.shape[0])
    top = np.full(scores.shape[1], 2.0)
    plain, weighted = item_analysis(scores, top), item_analysis(scores, top, ones)
    np.testing.assert_allclose(plain.difficulty, weighted.difficulty)
    np.testing.assert_allclose(plain.discrimination, weighted.discrimination)
    np.testing.assert_allclose(plain.alpha, weighted.alpha)
    np.testing.assert_allclose(plain.alpha_if_deleted, weighted.alpha_if_deleted)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), scores=score_matrices, factor=st.floats(0.01, 1000))
def test_scaling_the_weights_changes_nothing(data: st.DataObject, scores: np.ndarray, factor: float) -> None:
    weights = data.draw(weights_for(scores.shape[0]))
    a, b = item_analysis(scores, np.full(scores.shape[1], 2.0), weights), item_analysis(
        scores, np.full(scores.shape[1], 2.0), weights * factor
    )
    np.testing.assert_allclose(a.difficulty, b.difficulty, rtol=1e-9)
    np.testing.assert_allclose(a.discrimination, b.discrimination, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(a.alpha, b.alpha, rtol=1e-7, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), scores=score_matrices)
def test_integer_weights_equal_duplicated_rows(data: st.DataObject, scores: np.ndarray) -> None:
    counts = data.draw(hnp.arrays(np.int64, scores.shape[0], elements=st.integers(1, 4)))
    top = np.full(scores.shape[1], 2.0)
    weighted = item_analysis(scores, top, counts.astype(float))
    repeated = item_analysis(np.repeat(scores, counts, axis=0), top)
    np.testing.assert_allclose(weighted.difficulty, repeated.difficulty, rtol=1e-12)
    np.testing.assert_allclose(weighted.discrimination, repeated.discrimination, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weighted.alpha, repeated.alpha, rtol=1e-9, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), scores=score_matrices)
def test_ranges_and_the_deleted_alpha_equals_alpha_of_the_rest(data: st.DataObject, scores: np.ndarray) -> None:
    weights = data.draw(weights_for(scores.shape[0]))
    top = np.full(scores.shape[1], 2.0)
    result = item_analysis(scores, top, weights)
    assert np.all((result.difficulty >= 0) & (result.difficulty <= 1 + 1e-12))
    finite = result.discrimination[~np.isnan(result.discrimination)]
    assert np.all(np.abs(finite) <= 1 + 1e-9)
    if scores.shape[1] >= 3:
        for j in range(scores.shape[1]):
            rest = np.delete(scores, j, axis=1)
            np.testing.assert_allclose(result.alpha_if_deleted[j], cronbach_alpha(rest, weights), rtol=1e-9, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), scores=score_matrices)
def test_discrimination_is_the_weighted_correlation_with_the_rest(data: st.DataObject, scores: np.ndarray) -> None:
    weights = data.draw(weights_for(scores.shape[0]))
    r = item_rest_correlation(scores, weights)
    total = scores.sum(axis=1)
    for j in range(scores.shape[1]):
        pair = weighted_covariance(np.column_stack([scores[:, j], total - scores[:, j]]), weights)
        if pair[0, 0] > 1e-12 and pair[1, 1] > 1e-12:
            assert r[j] == pytest.approx(pair[0, 1] / math.sqrt(pair[0, 0] * pair[1, 1]), rel=1e-7, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), n=st.integers(1, 10), m=st.integers(1, 5))
def test_option_shares_are_shares(data: st.DataObject, n: int, m: int) -> None:
    chosen = data.draw(hnp.arrays(np.bool_, (n, m)))
    weights = data.draw(weights_for(n))
    found = option_shares(chosen, weights)
    assert np.all((found.shares >= 0) & (found.shares <= 1 + 1e-12))
    # Each respondent either chose something or omitted the item.
    some = chosen.any(axis=1)
    assert found.omitted + weights[some].sum() / weights.sum() == pytest.approx(1.0)
