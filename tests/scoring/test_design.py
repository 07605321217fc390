"""Design description and validation: strata, PSUs, FPC, lonely PSUs, degrees of freedom."""

from __future__ import annotations

import numpy as np
import pytest

from scoring import (
    LONELY_PSU_OPTIONS,
    LonelyPsuError,
    design_create,
    design_degrees_of_freedom,
)

WEIGHTS = np.array([10.0, 10.0, 20.0, 20.0, 5.0, 5.0, 8.0])
STRATA = np.array(["b", "b", "a", "a", "c", "c", "c"])
PSU = np.array([7, 8, 3, 4, 1, 1, 2])


def test_strata_and_psus_are_numbered_with_psus_contiguous_by_stratum() -> None:
    design = design_create(WEIGHTS, strata=STRATA, psu=PSU)
    assert design.stratum_labels == ("a", "b", "c")
    assert design.n_strata == 3
    assert design.n_psu == 6
    assert design.stratum_n_psu.tolist() == [2, 2, 2]
    assert np.all(np.diff(design.psu_stratum) >= 0)
    # Rows of one PSU share a code; rows of different PSUs do not.
    assert design.psu[4] == design.psu[5] != design.psu[6]
    assert design.psu_stratum[design.psu].tolist() == design.stratum.tolist()


def test_several_strata_columns_are_crossed() -> None:
    town = np.array(["T1", "T1", "T1", "T1", "T2", "T2"])
    urban = np.array(["U", "U", "R", "R", "R", "R"])
    design = design_create(np.ones(6), strata=[town, urban], psu=np.arange(6))
    assert design.stratum_labels == (("T1", "R"), ("T1", "U"), ("T2", "R"))
    assert design.degrees_of_freedom == 6 - 3


def test_without_psu_every_row_is_a_psu_and_df_is_n_minus_strata() -> None:
    design = design_create(WEIGHTS, strata=STRATA)
    assert design.n_psu == WEIGHTS.size
    assert design.degrees_of_freedom == WEIGHTS.size - 3


def test_without_strata_there_is_one_stratum() -> None:
    design = design_create(WEIGHTS, psu=PSU)
    assert design.n_strata == 1
    assert design.degrees_of_freedom == 6 - 1


def test_psu_in_two_strata_is_rejected_unless_nested() -> None:
    psu = np.array([1, 2, 1, 2, 1, 1, 2])
    with pytest.raises(ValueError, match="more than one stratum"):
        design_create(WEIGHTS, strata=STRATA, psu=psu)
    nested = design_create(WEIGHTS, strata=STRATA, psu=psu, nest=True)
    assert nested.n_psu == 6


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.array([1.0, 0.0, 2.0]), "not positive"),
        (np.array([1.0, -3.0, 2.0]), "not positive"),
        (np.array([1.0, np.nan, 2.0]), "not allowed"),
        (np.array([1.0, np.inf, 2.0]), "not allowed"),
        (np.zeros(0), "no rows"),
        (np.ones((2, 2)), "1-D"),
    ],
)
def test_invalid_weights_are_rejected(weights: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        design_create(weights)


def test_missing_stratum_or_psu_is_rejected_with_its_row() -> None:
    strata = np.array(["a", None, "b"], dtype=object)
    with pytest.raises(ValueError, match="strata: missing value at row 1"):
        design_create(np.ones(3), strata=strata)
    with pytest.raises(ValueError, match="psu: missing value at row 2"):
        design_create(np.ones(3), psu=np.array([1.0, 2.0, np.nan]))


def test_fpc_must_be_constant_within_a_stratum() -> None:
    fpc = np.array([5, 5, 9, 9, 4, 4, 3])
    with pytest.raises(ValueError, match="varies within stratum c"):
        design_create(WEIGHTS, strata=STRATA, psu=PSU, fpc=fpc)


def test_fpc_smaller_than_the_sample_is_rejected() -> None:
    fpc = np.array([5, 5, 0.5, 0.5, 4, 4, 4])
    with pytest.raises(ValueError, match="stratum a has 2 sampled PSUs"):
        design_create(WEIGHTS, strata=STRATA, psu=PSU, fpc=fpc)


def test_fpc_gives_the_unsampled_fraction_and_inf_means_none() -> None:
    fpc = np.array([np.inf, np.inf, 8, 8, 2, 2, 2])
    design = design_create(WEIGHTS, strata=STRATA, psu=PSU, fpc=fpc)
    np.testing.assert_allclose(design.stratum_fraction_unsampled, [0.75, 1.0, 0.0])


def test_lonely_psu_fails_by_default_naming_every_lonely_stratum() -> None:
    strata = np.array(["a", "a", "b", "c", "c", "d"])
    psu = np.array([1, 2, 3, 4, 5, 6])
    with pytest.raises(LonelyPsuError) as raised:
        design_create(np.ones(6), strata=strata, psu=psu)
    assert isinstance(raised.value, ValueError)
    assert raised.value.strata == ("b", "d")
    assert "Strata (b, d) have only one PSU at stage 1" in str(raised.value)


def test_a_certainty_stratum_with_one_psu_is_not_lonely() -> None:
    strata = np.array(["a", "a", "b", "b"])
    psu = np.array([1, 2, 3, 3])
    fpc = np.array([10, 10, 1, 1])
    design = design_create(np.ones(4), strata=strata, psu=psu, fpc=fpc)
    assert not design.lonely_strata.any()
    with pytest.raises(LonelyPsuError, match=r"Stratum \(b\)"):
        design_create(np.ones(4), strata=strata, psu=psu, fpc=np.array([10, 10, 2, 2]))


@pytest.mark.parametrize("option", [o for o in LONELY_PSU_OPTIONS if o != "fail"])
def test_other_lonely_options_accept_a_lonely_stratum(option: str) -> None:
    strata = np.array(["a", "a", "b"])
    design = design_create(
        np.ones(3), strata=strata, psu=np.arange(3), lonely_psu=option  # type: ignore[arg-type]
    )
    assert design.lonely_strata.tolist() == [False, True]


def test_unknown_lonely_option_is_rejected() -> None:
    with pytest.raises(ValueError, match="lonely_psu must be one of"):
        design_create(np.ones(3), lonely_psu="drop")  # type: ignore[arg-type]


def test_single_psu_without_strata_is_rejected() -> None:
    with pytest.raises(ValueError, match="only one primary sampling unit"):
        design_create(np.ones(3), psu=np.array([4, 4, 4]))


def test_domain_degrees_of_freedom_count_psus_and_strata_reached() -> None:
    design = design_create(WEIGHTS, strata=STRATA, psu=PSU)
    rows = np.array([True, False, True, True, False, False, False])
    # PSUs 7 (stratum b), 3 and 4 (stratum a): 3 PSUs - 2 strata.
    assert design_degrees_of_freedom(design, rows) == 1
    assert design_degrees_of_freedom(design) == 6 - 3


def test_design_arrays_are_read_only_and_copied() -> None:
    weights = WEIGHTS.copy()
    design = design_create(weights, strata=STRATA, psu=PSU)
    weights[0] = 1e6
    assert design.weights[0] == 10.0
    with pytest.raises(ValueError):
        design.weights[0] = 3.0


# --- later stages and certainty PSUs --------------------------------------------------------


TWO_STAGE_STRATA = np.array(["a"] * 6 + ["b"] * 4)
TWO_STAGE_PSU = np.array([1, 1, 1, 2, 2, 2, 3, 3, 4, 4])
TWO_STAGE_SSU = np.array([1, 2, 2, 1, 2, 3, 1, 2, 1, 1])


def test_later_stage_strata_are_the_units_of_the_previous_stage() -> None:
    fpc1 = np.array([5.0] * 6 + [3.0] * 4)
    fpc2 = np.array([4.0] * 3 + [10.0] * 3 + [2.0] * 2 + [6.0] * 2)
    design = design_create(np.ones(10), strata=TWO_STAGE_STRATA, psu=TWO_STAGE_PSU,
                           ssu=TWO_STAGE_SSU, fpc=[fpc1, fpc2], lonely_psu="adjust")
    (stage,) = design.stages
    assert stage.number == 2 and stage.n_strata == design.n_psu == 4
    assert stage.stratum_n_units.tolist() == [2, 3, 2, 1]
    np.testing.assert_allclose(stage.stratum_population, [4, 10, 2, 6])
    np.testing.assert_allclose(stage.stratum_multiplier, [2 / 5, 2 / 5, 2 / 3, 2 / 3])
    assert stage.stratum_labels == ("a.1", "a.2", "b.3", "b.4")
    assert stage.lonely_strata.tolist() == [False, False, False, True]
    # Rows of one second-stage unit share a code; units of a stratum are contiguous.
    assert stage.unit[1] == stage.unit[2] != stage.unit[0]
    assert np.all(np.diff(stage.unit_stratum) >= 0)


def test_a_lonely_unit_at_stage_two_fails_naming_the_stage() -> None:
    fpc1 = np.array([5.0] * 6 + [3.0] * 4)
    fpc2 = np.array([4.0] * 3 + [10.0] * 3 + [2.0] * 2 + [6.0] * 2)
    with pytest.raises(LonelyPsuError) as raised:
        design_create(np.ones(10), strata=TWO_STAGE_STRATA, psu=TWO_STAGE_PSU,
                      ssu=TWO_STAGE_SSU, fpc=[fpc1, fpc2])
    assert raised.value.stage == 2 and raised.value.strata == ("b.4",)
    assert "Stratum (b.4) has only one PSU at stage 2" in str(raised.value)


def test_later_stages_count_only_with_an_fpc_for_every_stage() -> None:
    design = design_create(np.ones(10), strata=TWO_STAGE_STRATA, psu=TWO_STAGE_PSU,
                           ssu=TWO_STAGE_SSU)
    assert design.stages == ()  # R ignores later stages without an FPC: ultimate cluster
    with pytest.raises(ValueError, match="give the FPC of every stage"):
        design_create(np.ones(10), psu=TWO_STAGE_PSU, ssu=[TWO_STAGE_SSU, np.arange(10)],
                      fpc=[np.full(10, 9.0), np.full(10, 9.0)])
    with pytest.raises(ValueError, match=r"fpc\[1\]: stratum a.1 has 2 sampled stage-2 units"):
        design_create(np.ones(10), strata=TWO_STAGE_STRATA, psu=TWO_STAGE_PSU,
                      ssu=TWO_STAGE_SSU, fpc=[np.full(10, 9.0), np.full(10, 1.0)],
                      lonely_psu="adjust")


def test_a_certainty_psu_becomes_a_stratum_of_its_own_without_first_stage_variance() -> None:
    certainty = (TWO_STAGE_PSU == 2).astype(float)
    fpc = np.array([5.0] * 6 + [3.0] * 4)
    design = design_create(np.ones(10), strata=TWO_STAGE_STRATA, psu=TWO_STAGE_PSU, fpc=fpc,
                           certainty=certainty, lonely_psu="adjust")
    assert design.n_strata == 3
    assert "(certainty)" in str(design.stratum_labels[1])
    np.testing.assert_allclose(design.stratum_population, [4.0, 1.0, 3.0])
    assert design.stratum_fraction_unsampled.tolist()[1] == 0.0
    (stage,) = design.stages
    assert stage.stratum_evaluated.tolist() == [False, True, False, False]
    with pytest.raises(ValueError, match="certainty: the flag varies within the PSU"):
        design_create(np.ones(10), strata=TWO_STAGE_STRATA, psu=TWO_STAGE_PSU,
                      certainty=np.r_[1.0, np.zeros(9)])
