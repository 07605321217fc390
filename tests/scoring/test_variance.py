"""Taylor-linearisation variance: textbook values, lonely-PSU rules, calibration residuals.

Besides hand-computed values, the vectorised estimator is compared with a direct transcription
of R's ``onestrat``/``onestage`` loops and of ``qr.resid`` calibration residuals on random
designs (hypothesis).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import (
    LonelyPsu,
    Margin,
    SurveyDesign,
    design_create,
    variance_taylor,
    weights_rake,
)

# Stratum A: PSU totals 10 and 14; stratum B: 3, 5 and 7 (unit weights).
HAND_Y = np.array([4.0, 6.0, 14.0, 3.0, 5.0, 7.0])
HAND_STRATA = np.array(["A", "A", "A", "B", "B", "B"])
HAND_PSU = np.array([1, 1, 2, 3, 4, 5])


def test_total_variance_matches_the_textbook_formula() -> None:
    design = design_create(np.ones(6), strata=HAND_STRATA, psu=HAND_PSU)
    # 2/1 * (2^2 + 2^2) + 3/2 * (2^2 + 0 + 2^2) = 16 + 12
    assert variance_taylor(design, HAND_Y)[0, 0] == pytest.approx(28.0, rel=1e-14)


def test_fpc_scales_each_stratum_by_its_unsampled_fraction() -> None:
    fpc = np.array([4, 4, 4, np.inf, np.inf, np.inf])
    design = design_create(np.ones(6), strata=HAND_STRATA, psu=HAND_PSU, fpc=fpc)
    assert variance_taylor(design, HAND_Y)[0, 0] == pytest.approx(0.5 * 16 + 12, rel=1e-14)
    everything = np.array([2] * 3 + [3] * 3)
    census = design_create(np.ones(6), strata=HAND_STRATA, psu=HAND_PSU, fpc=everything)
    assert variance_taylor(census, HAND_Y)[0, 0] == 0.0


def test_covariance_matrix_is_bilinear() -> None:
    design = design_create(np.ones(6), strata=HAND_STRATA, psu=HAND_PSU)
    other = np.array([1.0, -2.0, 0.5, 3.0, 0.0, 1.0])
    cov = variance_taylor(design, np.column_stack([HAND_Y, 2 * HAND_Y, other]))
    assert cov.shape == (3, 3)
    assert cov[0, 1] == pytest.approx(2 * cov[0, 0])
    assert cov[1, 1] == pytest.approx(4 * cov[0, 0])
    assert cov[2, 2] == pytest.approx(variance_taylor(design, other)[0, 0])
    np.testing.assert_allclose(cov, cov.T)


def lonely_design(option: str) -> SurveyDesign:
    strata = np.array(["A", "A", "A", "B", "B", "B", "L"])
    psu = np.array([1, 1, 2, 3, 4, 5, 6])
    return design_create(
        np.ones(7), strata=strata, psu=psu, lonely_psu=option  # type: ignore[arg-type]
    )


LONELY_Y = np.append(HAND_Y, 9.0)


def test_lonely_remove_and_certainty_drop_the_stratum() -> None:
    for option in ("remove", "certainty"):
        assert variance_taylor(lonely_design(option), LONELY_Y)[0, 0] == pytest.approx(28.0)


def test_lonely_adjust_centres_the_lonely_psu_at_zero() -> None:
    assert variance_taylor(lonely_design("adjust"), LONELY_Y)[0, 0] == pytest.approx(28.0 + 81.0)


def test_lonely_average_scales_up_by_strata_over_strata_with_variance() -> None:
    assert variance_taylor(lonely_design("average"), LONELY_Y)[0, 0] == pytest.approx(28.0 * 3 / 2)


def test_lonely_average_counts_only_strata_the_subset_reaches_when_uncalibrated() -> None:
    design = lonely_design("average")
    in_subset = np.array([True, True, True, True, True, True, False])
    x = np.where(in_subset, LONELY_Y, 0.0)
    assert variance_taylor(design, x)[0, 0] == pytest.approx(28.0 * 3 / 2)
    assert variance_taylor(design, x, rows=in_subset)[0, 0] == pytest.approx(28.0)


def test_variance_does_not_depend_on_row_order_or_labels() -> None:
    rng = np.random.default_rng(3)
    n = 200
    strata = rng.integers(0, 5, n)
    psu = strata * 10 + rng.integers(0, 4, n)
    weights = rng.uniform(1, 5, n)
    x = rng.normal(size=n)
    base = variance_taylor(design_create(weights, strata=strata, psu=psu), x)
    order = rng.permutation(n)
    relabelled = design_create(
        weights[order], strata=np.array([f"s{s}" for s in strata[order]]), psu=psu[order] * 7 + 1
    )
    np.testing.assert_allclose(variance_taylor(relabelled, x[order]), base, rtol=1e-12)


def test_influence_of_the_wrong_shape_is_rejected() -> None:
    design = design_create(np.ones(6), strata=HAND_STRATA, psu=HAND_PSU)
    with pytest.raises(ValueError, match="influence"):
        variance_taylor(design, np.ones(5))
    with pytest.raises(ValueError, match="finite"):
        variance_taylor(design, np.array([1, 2, np.nan, 4, 5, 6]))


# --- a direct transcription of R, for random designs --------------------------------------


def r_onestage(x: np.ndarray, strata: np.ndarray, psu: np.ndarray, fpc: np.ndarray | None,
               lonely: str) -> float:
    """R's onestage()/onestrat() for one column, with loops over strata and PSUs."""
    total = 0.0
    n_strata = 0
    n_ok = 0
    for h in np.unique(strata):
        in_h = strata == h
        psus = np.unique(psu[in_h])
        n_h = len(psus)
        f = 1.0 if fpc is None or np.isinf(fpc[in_h][0]) else (fpc[in_h][0] - n_h) / fpc[in_h][0]
        n_strata += 1
        if f < 1e-7:
            n_ok += 1
            continue
        z = np.array([x[in_h & (psu == p)].sum() for p in psus])
        if n_h > 1:
            total += f * n_h / (n_h - 1) * float(((z - z.mean()) ** 2).sum())
            n_ok += 1
        elif lonely == "adjust":
            total += f * float(z[0] ** 2)
            n_ok += 1
        elif lonely in ("remove", "certainty"):
            n_ok += 1
    return total * n_strata / n_ok if n_ok else float("nan")


@dataclass(frozen=True)
class RandomDesign:
    strata: np.ndarray
    psu: np.ndarray
    fpc: np.ndarray | None
    weights: np.ndarray
    x: np.ndarray
    lonely: LonelyPsu


@st.composite
def random_designs(draw: st.DrawFn) -> RandomDesign:
    n_strata = draw(st.integers(1, 5))
    sizes = draw(st.lists(st.integers(1, 4), min_size=n_strata, max_size=n_strata))
    if n_strata == 1:
        sizes = [max(2, sizes[0])]  # an unstratified design needs two PSUs
    rows_per_psu = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    strata = np.repeat(np.arange(n_strata), np.array(sizes) * rows_per_psu)
    psu = np.repeat(np.arange(sum(sizes)), rows_per_psu)
    use_fpc = draw(st.booleans())
    fpc = (np.array([s + draw(st.integers(0, 3)) for s in sizes], dtype=float)[strata]
           if use_fpc else None)
    lonely: LonelyPsu = draw(st.sampled_from(["remove", "certainty", "adjust", "average"]))
    return RandomDesign(
        strata=strata, psu=psu, fpc=fpc, weights=rng.uniform(0.5, 20, strata.size),
        x=rng.normal(size=strata.size) * rng.integers(0, 2, strata.size), lonely=lonely,
    )


@settings(max_examples=150, deadline=None)
@given(random_designs())
def test_variance_equals_r_onestage_loops(case: RandomDesign) -> None:
    design = design_create(case.weights, strata=case.strata, psu=case.psu, fpc=case.fpc,
                           lonely_psu=case.lonely)
    expected = r_onestage(case.x, case.strata, case.psu, case.fpc, case.lonely)
    ours = variance_taylor(design, case.x)[0, 0]
    if np.isnan(expected):
        assert np.isnan(ours)
    else:
        assert ours == pytest.approx(expected, rel=1e-10, abs=1e-12)


def r_calibrated_influence(x: np.ndarray, base: np.ndarray, raked: np.ndarray,
                           codes: list[np.ndarray]) -> np.ndarray:
    """R's qr.resid(qr(X sqrt(d)), x / (g sqrt(d))) * g sqrt(d) with X all indicators."""
    columns = [np.ones_like(base)] + [
        (c == level).astype(float) for c in codes for level in np.unique(c)
    ]
    design_matrix = np.column_stack(columns)
    g = raked / base
    root = np.sqrt(base)
    target = x / (g * root)
    fitted = design_matrix * root[:, None]
    coef = np.linalg.lstsq(fitted, target, rcond=None)[0]
    residual: np.ndarray = (target - fitted @ coef) * g * root
    return residual


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31), st.integers(2, 4), st.integers(2, 5))
def test_calibrated_variance_equals_r_qr_residuals(seed: int, levels_a: int, levels_b: int) -> None:
    rng = np.random.default_rng(seed)
    n = 120
    strata = rng.integers(0, 3, n)
    psu = strata * 100 + rng.integers(0, 6, n)
    base = rng.uniform(1, 10, n)
    codes = [np.arange(n) % levels_a, rng.integers(0, levels_b, n)]
    codes[1][:levels_b] = np.arange(levels_b)
    grand = 1000.0
    margins = [
        Margin(c, np.bincount(c, base) * rng.uniform(0.8, 1.2, c.max() + 1), str(j))
        for j, c in enumerate(codes)
    ]
    margins = [Margin(codes=m.codes, totals=m.totals * grand / m.totals.sum(), name=m.name)
               for m in margins]
    design = design_create(base, strata=strata, psu=psu, lonely_psu="adjust")
    raked = weights_rake(design, margins, tol=1e-13).design
    y = rng.normal(size=n)
    x = raked.weights * (y - np.average(y, weights=raked.weights)) / raked.weights.sum()
    expected_influence = r_calibrated_influence(x, base, raked.weights, codes)
    expected = r_onestage(expected_influence, strata, psu, None, "adjust")
    assert variance_taylor(raked, x)[0, 0] == pytest.approx(expected, rel=1e-9)
    # The calibration residuals matter: the uncalibrated formula gives another number.
    uncalibrated = r_onestage(x, strata, psu, None, "adjust")
    assert abs(uncalibrated - expected) > 1e-6 * expected


# --- later stages: a direct transcription of R's multistage() recursion --------------------


def r_twostage(x: np.ndarray, strata: np.ndarray, psu: np.ndarray, ssu: np.ndarray,
               fpc1: np.ndarray, fpc2: np.ndarray, lonely: str) -> float:
    """R's multistage(): stage one, plus each PSU's stage-two variance times n_h/N_h."""
    total = r_onestage(x, strata, psu, fpc1, lonely)
    for p in np.unique(psu):
        rows = psu == p
        h = strata[rows][0]
        n_h = len(np.unique(psu[strata == h]))
        fraction = n_h / fpc1[rows][0]
        stage2 = r_onestage(x[rows], np.zeros(int(rows.sum())), ssu[rows], fpc2[rows], lonely)
        total += stage2 * fraction
    return total


@st.composite
def two_stage_designs(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    n_strata = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    strata, psu, ssu, fpc1, fpc2 = [], [], [], [], []
    next_psu = 0
    for h in range(n_strata):
        n_h = draw(st.integers(2 if n_strata == 1 else 1, 4))
        extra1 = draw(st.integers(0, 3))
        for _ in range(n_h):
            m = draw(st.integers(1, 3))
            extra2 = draw(st.integers(0, 3))
            for j in range(m):
                for _ in range(draw(st.integers(1, 2))):
                    strata.append(h)
                    psu.append(next_psu)
                    ssu.append(j)
                    fpc1.append(n_h + extra1)
                    fpc2.append(m + extra2)
            next_psu += 1
    n = len(strata)
    x = rng.normal(size=n) * rng.integers(0, 2, n)
    return (np.array(strata), np.array(psu), np.array(ssu), np.array(fpc1, dtype=float),
            np.array(fpc2, dtype=float), x)


@settings(max_examples=120, deadline=None)
@given(two_stage_designs(), st.sampled_from(["remove", "certainty", "adjust", "average"]))
def test_two_stage_variance_equals_r_multistage_loops(
    case: tuple[np.ndarray, ...], lonely: str
) -> None:
    strata, psu, ssu, fpc1, fpc2, x = case
    design = design_create(np.ones(x.size), strata=strata, psu=psu, ssu=ssu, fpc=[fpc1, fpc2],
                           lonely_psu=lonely)  # type: ignore[arg-type]
    expected = r_twostage(x, strata, psu, ssu, fpc1, fpc2, lonely)
    ours = variance_taylor(design, x)[0, 0]
    if np.isnan(expected):
        assert np.isnan(ours)
    else:
        assert ours == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_certainty_psus_add_the_variance_of_their_respondents() -> None:
    rng = np.random.default_rng(8)
    strata = np.array([0] * 6 + [1] * 5 + [1] * 4)
    psu = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 4, 4])
    certainty = (psu == 2).astype(float)
    x = rng.normal(size=15)
    design = design_create(np.ones(15), strata=strata, psu=psu, certainty=certainty)
    z = x[psu == 2]
    within = 5 / 4 * float(((z - z.mean()) ** 2).sum())
    others = r_onestage(x[psu != 2], strata[psu != 2], psu[psu != 2], None, "fail")
    assert variance_taylor(design, x)[0, 0] == pytest.approx(others + within, rel=1e-12)
