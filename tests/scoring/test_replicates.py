"""Replicate weights: jackknife, BRR/Fay, bootstrap, given multipliers, re-calibration, mse.

Beyond the R reference cases, replicate variances of *linear* estimators (totals) must equal
the linearised variance exactly for JK1, JKn and BRR, whatever the design.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import (
    Margin,
    design_create,
    estimate_mean,
    estimate_total,
    hadamard_matrix,
    replicate_weights,
    replicates_create,
    replicates_from_multipliers,
    weights_rake,
)


def stratified(seed: int, n_strata: int = 4, psus: tuple[int, ...] = (2, 3, 4, 5),
               fpc: bool = False) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    strata, psu = [], []
    for h in range(n_strata):
        for p in range(psus[h % len(psus)]):
            size = int(rng.integers(2, 6))
            strata += [h] * size
            psu += [h * 100 + p] * size
    n = len(strata)
    out = {"strata": np.array(strata), "psu": np.array(psu), "w": rng.uniform(1, 9, n),
           "y": rng.normal(10, 3, n), "g": rng.integers(0, 3, n)}
    if fpc:
        counts = {h: len(set(np.array(psu)[np.array(strata) == h])) for h in range(n_strata)}
        out["fpc"] = np.array([counts[h] + 3 for h in strata], dtype=float)
    return out


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31), st.booleans())
def test_jackknife_variance_of_a_total_equals_linearisation(seed: int, fpc: bool) -> None:
    data = stratified(seed, fpc=fpc)
    design = design_create(data["w"], strata=data["strata"], psu=data["psu"],
                           fpc=data.get("fpc"))
    (taylor,) = estimate_total(design, data["y"])
    (jkn,) = estimate_total(replicates_create(design, "jkn"), data["y"])
    assert jkn.estimate == pytest.approx(taylor.estimate, rel=1e-13)
    assert jkn.se == pytest.approx(taylor.se, rel=1e-10)
    assert jkn.df == taylor.df == design.n_psu - design.n_strata
    unstratified = design_create(data["w"], psu=data["psu"])
    (taylor1,) = estimate_total(unstratified, data["y"])
    (jk1,) = estimate_total(replicates_create(unstratified, "jk1"), data["y"])
    assert jk1.se == pytest.approx(taylor1.se, rel=1e-10)


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.5])
def test_brr_variance_of_a_total_equals_linearisation_on_pairs(rho: float) -> None:
    data = stratified(3, n_strata=7, psus=(2,))
    design = design_create(data["w"], strata=data["strata"], psu=data["psu"])
    method = "fay" if rho else "brr"
    replicated = replicates_create(design, method, fay_rho=rho)
    assert replicated.n_replicates == 8  # a Hadamard matrix of order 8 for 7 pairs
    (taylor,) = estimate_total(design, data["y"])
    (brr,) = estimate_total(replicated, data["y"])
    assert brr.se == pytest.approx(taylor.se, rel=1e-10)
    assert set(np.unique(replicated.multipliers)) == {rho, 2.0 - rho}


def test_brr_splits_strata_with_an_even_number_of_psus_and_refuses_others() -> None:
    data = stratified(5, n_strata=2, psus=(4,))
    design = design_create(data["w"], strata=data["strata"], psu=data["psu"])
    (taylor,) = estimate_total(design_create(
        data["w"], strata=data["strata"] * 10 + (data["psu"] % 100) // 2, psu=data["psu"]),
        data["y"])
    (brr,) = estimate_total(replicates_create(design, "brr"), data["y"])
    assert brr.se == pytest.approx(taylor.se, rel=1e-10)
    odd = stratified(5, n_strata=2, psus=(3,))
    with pytest.raises(ValueError, match="odd number"):
        replicates_create(design_create(odd["w"], strata=odd["strata"], psu=odd["psu"]), "brr")


@pytest.mark.parametrize("size", [2, 4, 8, 12, 20, 24, 32, 44, 104, 128])
def test_hadamard_matrices_are_orthogonal_and_normalised(size: int) -> None:
    matrix = hadamard_matrix(size).astype(int)
    order = matrix.shape[0]
    assert order >= size and order % 4 == 0 or order == 2
    np.testing.assert_array_equal(matrix @ matrix.T, order * np.eye(order, dtype=int))
    assert (matrix[0] == 1).all() and (matrix[:, 0] == 1).all()


def test_bootstrap_counts_resample_each_stratum_and_follow_the_seed() -> None:
    data = stratified(8)
    design = design_create(data["w"], strata=data["strata"], psu=data["psu"])
    boot = replicates_create(design, "bootstrap", replicates=30, seed=11)
    again = replicates_create(design, "bootstrap", replicates=30, seed=11)
    other = replicates_create(design, "bootstrap", replicates=30, seed=12)
    np.testing.assert_array_equal(boot.multipliers, again.multipliers)
    assert not np.array_equal(boot.multipliers, other.multipliers)
    sums = np.add.reduceat(boot.multipliers, np.r_[0, np.cumsum(design.stratum_n_psu)[:-1]])
    np.testing.assert_array_equal(sums, design.stratum_n_psu[:, None] * np.ones((1, 30)))
    harmonic = 1 / np.mean(1 / design.stratum_n_psu)
    assert boot.scale == pytest.approx(harmonic / ((harmonic - 1) * 29))
    sub = replicates_create(design, "subbootstrap", replicates=30, seed=11)
    sums = np.add.reduceat(sub.multipliers, np.r_[0, np.cumsum(design.stratum_n_psu)[:-1]])
    np.testing.assert_allclose(sums, design.stratum_n_psu[:, None] * np.ones((1, 30)))
    assert sub.scale == pytest.approx(1 / 29)
    # R's degf: the rank of the replicate weights less one (each stratum's counts sum to n_h).
    assert boot.degrees_of_freedom == np.linalg.matrix_rank(boot.multipliers) - 1
    assert boot.degrees_of_freedom == design.n_psu - design.n_strata


def test_subbootstrap_needs_two_psus_per_stratum() -> None:
    data = stratified(8, psus=(1, 3))
    design = design_create(data["w"], strata=data["strata"], psu=data["psu"],
                           lonely_psu="adjust")
    with pytest.raises(ValueError, match="subbootstrap needs 2 PSUs per stratum"):
        replicates_create(design, "subbootstrap")


def test_mse_centres_on_the_full_sample_estimate_so_it_is_never_smaller() -> None:
    data = stratified(9)
    design = design_create(data["w"], strata=data["strata"], psu=data["psu"])
    boot = replicates_create(design, "bootstrap", replicates=25, seed=3)
    mse = replicates_create(design, "bootstrap", replicates=25, seed=3, mse=True)
    for a, b in zip(estimate_mean(boot, data["y"], by=data["g"]),
                    estimate_mean(mse, data["y"], by=data["g"])):
        assert b.estimate == a.estimate and b.se >= a.se


def test_given_multipliers_reproduce_the_replicate_design() -> None:
    data = stratified(10)
    design = design_create(data["w"], strata=data["strata"], psu=data["psu"])
    boot = replicates_create(design, "bootstrap", replicates=20, seed=1)
    assert design.psu_labels is not None
    order = np.random.default_rng(0).permutation(design.n_psu)
    given_labels = [design.psu_labels[int(p)] for p in order]
    again = replicates_from_multipliers(design, given_labels, boot.multipliers[order],
                                        scale=boot.scale)
    a, b = estimate_mean(boot, data["y"])[0], estimate_mean(again, data["y"])[0]
    assert b.se == pytest.approx(a.se, rel=1e-14)
    with pytest.raises(ValueError, match="has no row"):
        replicates_from_multipliers(design, given_labels[1:], boot.multipliers[order][1:])
    with pytest.raises(ValueError, match="appears twice"):
        replicates_from_multipliers(design, [given_labels[0]] * design.n_psu, boot.multipliers)


def test_every_replicate_is_raked_to_the_margins() -> None:
    data = stratified(12)
    design = design_create(data["w"], strata=data["strata"], psu=data["psu"])
    totals = np.bincount(data["g"], data["w"]) * np.array([1.1, 0.9, 1.05])
    raked = weights_rake(design, [Margin(data["g"], totals, "g")]).design
    for method in ("jkn", "bootstrap"):
        replicated = replicates_create(raked, method, replicates=15, seed=2)  # type: ignore[arg-type]
        weights = replicate_weights(replicated)
        for r in range(weights.shape[1]):
            np.testing.assert_allclose(np.bincount(data["g"], weights[:, r]), totals, rtol=1e-9)
        np.testing.assert_allclose(replicated.weights, raked.weights)


def test_jk1_refuses_a_stratified_design() -> None:
    data = stratified(2)
    design = design_create(data["w"], strata=data["strata"], psu=data["psu"])
    with pytest.raises(ValueError, match="JK1 is for unstratified designs"):
        replicates_create(design, "jk1")
