"""Sample designs and draws through the services (assessment/services/designs.py): allocation,
stage probabilities against the formula, reproducibility by seed, and by simulation over many
draws that each PSU is selected with frequency π and the Kish selection is uniform.

The simulation's tolerances are per-unit binomial z-bounds with a Bonferroni correction at a
family-wise level of 1e-3 (as tests/assessment/test_sampling.py), and the seeds are fixed, so
the test is deterministic.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from assessment.errors import FieldworkError
from assessment.models import AuditEvent, Case, Disposition, HouseholdMember, SampleDesign, SampledUnit, Visit
from assessment.services import (
    MemberInput,
    household_roster_record,
    households_import,
    sample_design_create,
    wave_draw_sample,
)
from tests.assessment.fieldwork_setup import UNITS, FieldCounty, field_county
from tests.assessment.test_sampling import assert_binomial

pytestmark = pytest.mark.django_db

# π_psu by hand: town A, n = 2 of sizes summing to 1100; town B, 900 is certain (2·900/1250 ≥ 1)
# and the other PSU goes by size among the remaining 350.
EXPECTED_PSU = {
    "ta-01": 1000 / 1100, "ta-02": 600 / 1100, "ta-03": 240 / 1100, "ta-04": 160 / 1100, "ta-05": 120 / 1100,
    "ta-06": 80 / 1100,
    "tb-01": 1.0, "tb-02": 150 / 350, "tb-03": 100 / 350, "tb-04": 60 / 350, "tb-05": 40 / 350,
}
LISTED = {code: n for rows in UNITS.values() for code, _, _, n in rows}
M = 3  # households per PSU
# Kish: men by age descending, then women; eligible ages 15–69 → order m45, m19, f43 (k = 3).
ROSTER = [MemberInput("male", 45), MemberInput("female", 43), MemberInput("male", 19), MemberInput("female", 80),
          MemberInput("male", 10)]


@pytest.fixture
def fc(db: None) -> FieldCounty:
    return field_county()


def fixed_design(fc: FieldCounty, method: str = SampleDesign.HouseholdMethod.SYSTEMATIC) -> SampleDesign:
    return sample_design_create(
        wave=fc.wave, frame=fc.frame, name="两阶段 PPS", allocation=SampleDesign.Allocation.FIXED,
        households_per_psu=M, household_method=method, parameters={"fixed": {"ta": 2, "tb": 2}},
    )


def short(unit_code: str) -> str:
    return unit_code.split("-", 1)[1]


# --- allocation ---------------------------------------------------------------------------


def allocation_of(fc: FieldCounty, allocation: str, psu_total: int | None = None, m: int = M, **parameters: Any) -> dict[str, int]:
    design = sample_design_create(
        wave=fc.wave, frame=fc.frame, name=allocation, allocation=allocation, psu_total=psu_total,
        households_per_psu=m, parameters=parameters,
    )
    return dict(design.strata.values_list("code", "psu_allocated"))


def test_strata_hold_the_frame_counts_and_sizes(fc: FieldCounty) -> None:
    design = fixed_design(fc)
    rows = {s.code: (s.frame_units, s.frame_size, s.town_id) for s in design.strata.all()}
    assert rows == {"ta": (6, 1100.0, fc.towns["ta"].pk), "tb": (5, 1250.0, fc.towns["tb"].pk)}


def test_proportional_allocation_rounds_by_largest_remainder(fc: FieldCounty) -> None:
    # 5·1100/2350 = 2.34, 5·1250/2350 = 2.66 → 2 + 3
    assert allocation_of(fc, "proportional", 5) == {"ta": 2, "tb": 3}


def test_equal_allocation_gives_the_odd_unit_to_the_first_stratum(fc: FieldCounty) -> None:
    assert allocation_of(fc, "equal", 5) == {"ta": 3, "tb": 2}


def test_allocation_never_exceeds_the_units_of_a_stratum(fc: FieldCounty) -> None:
    assert allocation_of(fc, "proportional", 11) == {"ta": 6, "tb": 5}
    with pytest.raises(FieldworkError, match="at most 11"):
        allocation_of(fc, "proportional", 12)


def test_minimum_per_town_holds_and_the_rest_is_proportional(fc: FieldCounty) -> None:
    # min 3 each, 7 in all: 7·1100/2350 = 3.28, 3.72 → 3 + 4
    assert allocation_of(fc, "min_per_town", 7, min_psu_per_town=3) == {"ta": 3, "tb": 4}
    with pytest.raises(FieldworkError, match="exceeds the total of 5"):
        allocation_of(fc, "min_per_town", 5, min_psu_per_town=3)


def test_fixed_allocation_must_name_every_stratum_within_its_units(fc: FieldCounty) -> None:
    assert allocation_of(fc, "fixed", fixed={"ta": 1, "tb": 4}) == {"ta": 1, "tb": 4}
    with pytest.raises(FieldworkError, match="tb"):
        allocation_of(fc, "fixed", fixed={"ta": 2})
    with pytest.raises(FieldworkError, match="tb"):
        allocation_of(fc, "fixed", fixed={"ta": 2, "tb": 6})


def test_target_cv_allocation_follows_the_stated_formula(fc: FieldCounty) -> None:
    # n = deff·(1−p)/(p·CV²) = 2·0.8/(0.2·0.09) = 88.9 → 89 completes; households 88.9/(0.8·1.0) = 111.1;
    # PSUs 111.1/20 = 5.56 → 6 for the county, split by size with two per stratum: 2.81, 3.19 → 3 + 3.
    params = {"p": 0.2, "cv": 0.3, "deff": 2.0, "response_rate": 0.8, "eligibility_rate": 1.0}
    assert allocation_of(fc, "target_cv", m=20, level="county", **params) == {"ta": 3, "tb": 3}
    design = SampleDesign.objects.get(name="target_cv")
    assert design.parameters["completes_needed"] == 89 and design.psu_total == 6
    # Every stratum on its own needs the same 6 PSUs; town B has only 5.
    assert allocation_of(fc, "target_cv", m=20, level="stratum", **params) == {"ta": 6, "tb": 5}


def test_target_cv_design_effect_from_the_intra_class_correlation(fc: FieldCounty) -> None:
    # deff = 1 + (m·RR·E − 1)·ρ = 1 + (20·0.8·1 − 1)·0.05 = 1.75
    allocation_of(fc, "target_cv", m=20, p=0.2, cv=0.3, roh=0.05, response_rate=0.8, eligibility_rate=1.0, level="county")
    assert SampleDesign.objects.get(name="target_cv").parameters["deff"] == pytest.approx(1.75)


def test_target_cv_needs_p_and_cv(fc: FieldCounty) -> None:
    with pytest.raises(FieldworkError, match="cv"):
        allocation_of(fc, "target_cv", p=0.2)


def test_targets_of_completed_interviews_use_the_expected_rates(fc: FieldCounty) -> None:
    design = sample_design_create(
        wave=fc.wave, frame=fc.frame, name="d", allocation="fixed", households_per_psu=10,
        parameters={"fixed": {"ta": 2, "tb": 3}, "response_rate": 0.8, "eligibility_rate": 0.9},
    )
    assert dict(design.strata.values_list("code", "target_completes")) == {"ta": round(2 * 10 * 0.72), "tb": round(3 * 10 * 0.72)}


def test_stratifying_by_urban_rural_splits_the_towns(fc: FieldCounty) -> None:
    design = sample_design_create(
        wave=fc.wave, frame=fc.frame, name="d", allocation="proportional", psu_total=4, households_per_psu=3,
        stratify_by=["town", "urban_rural"],
    )
    assert set(design.strata.values_list("code", "frame_units")) == {("ta-urban", 1), ("ta-rural", 5), ("tb-urban", 1), ("tb-rural", 4)}


def test_a_frame_of_another_county_is_refused(fc: FieldCounty) -> None:
    other = field_county("370166", with_users=False)
    with pytest.raises(FieldworkError):
        sample_design_create(wave=fc.wave, frame=other.frame, name="d", allocation="equal", psu_total=2, households_per_psu=3)


# --- one draw: every probability against the formula ---------------------------------------


def test_every_stage_probability_matches_the_formula(fc: FieldCounty) -> None:
    design = fixed_design(fc)
    draw = wave_draw_sample(design=design, seed=20260901)
    units = {short(su.unit.code): su for su in SampledUnit.objects.filter(draw=draw).select_related("unit")}
    assert len(units) == 4 and "tb-01" in units and units["tb-01"].certainty
    for code, su in units.items():
        assert su.probability == pytest.approx(EXPECTED_PSU[code], rel=1e-12), code
        assert su.certainty == (EXPECTED_PSU[code] == 1.0)
    cases = list(Case.objects.filter(draw=draw).select_related("sampled_unit__unit", "household"))
    assert len(cases) == 4 * M
    for case in cases:
        code = short(case.sampled_unit.unit.code)
        assert case.prob_psu == pytest.approx(EXPECTED_PSU[code], rel=1e-12)
        assert case.prob_household == pytest.approx(M / LISTED[code], rel=1e-12)
        assert case.prob_person is None and case.inclusion_probability is None  # the roster decides
        assert 0 <= case.kish_u < 1
        assert case.town_id == case.sampled_unit.unit.town_id and case.wave_id == fc.wave.pk
    # Households within a PSU are distinct and M of them.
    per_unit = Counter(c.sampled_unit_id for c in cases)
    assert set(per_unit.values()) == {M}
    assert len({c.household_id for c in cases}) == len(cases)
    case = cases[0]
    household_roster_record(case=case, members=ROSTER)
    case.refresh_from_db()
    assert case.prob_person == pytest.approx(1 / 3)
    expected = EXPECTED_PSU[short(case.sampled_unit.unit.code)] * M / LISTED[short(case.sampled_unit.unit.code)] / 3
    assert case.inclusion_probability == pytest.approx(expected, rel=1e-12)
    event = AuditEvent.objects.get(action="sample.draw", object_id=str(draw.pk))
    assert event.details == {"seed": 20260901, "psus": 4, "cases": 4 * M}


def test_simple_random_households_have_probability_m_over_listed(fc: FieldCounty) -> None:
    draw = wave_draw_sample(design=fixed_design(fc, SampleDesign.HouseholdMethod.SRS), seed=5)
    for case in Case.objects.filter(draw=draw).select_related("sampled_unit__unit"):
        assert case.prob_household == pytest.approx(M / LISTED[short(case.sampled_unit.unit.code)])


def sample_signature(draw: Any) -> list[tuple[str, str, float]]:
    return sorted(
        (short(c.sampled_unit.unit.code), c.household.code, c.kish_u)
        for c in Case.objects.filter(draw=draw).select_related("sampled_unit__unit", "household")
    )


def test_the_same_seed_gives_the_same_sample(fc: FieldCounty) -> None:
    design = fixed_design(fc)
    first = sample_signature(wave_draw_sample(design=design, seed=42))
    other = sample_signature(wave_draw_sample(design=design, seed=43))
    again = sample_signature(wave_draw_sample(design=design, seed=42))
    assert first == again
    assert first != other
    assert design.draws.filter(is_current=True).count() == 1
    assert Case.objects.filter(draw__design=design).count() == 4 * M  # earlier draws lost their cases


def test_a_seed_is_chosen_and_stored_when_none_is_given(fc: FieldCounty) -> None:
    draw = wave_draw_sample(design=fixed_design(fc))
    assert 0 <= draw.seed < 2**63


def test_households_listed_after_the_draw_give_the_same_sample(db: None) -> None:
    listed = field_county("370155", with_users=False)
    late = field_county("370144", listed=False, with_users=False)
    reference = sample_signature(wave_draw_sample(design=fixed_design(listed), seed=7))
    draw = wave_draw_sample(design=fixed_design(late), seed=7)
    assert Case.objects.filter(draw=draw).count() == 0
    rows = ["unit,code"] + [f"{u.code},{h:03d}" for u in late.units.values() for h in range(1, LISTED[short(u.code)] + 1)]
    result = households_import(frame=late.frame, data="\n".join(rows).encode(), filename="listing.csv")
    assert result.cases == 4 * M
    assert sample_signature(draw) == reference


def test_redrawing_is_refused_once_fieldwork_has_started(fc: FieldCounty) -> None:
    import uuid

    from django.utils import timezone

    design = fixed_design(fc)
    draw = wave_draw_sample(design=design, seed=1)
    case = Case.objects.filter(draw=draw).first()
    Visit.objects.create(client_id=uuid.uuid4(), case=case, enumerator=fc.users["admin"], visited_at=timezone.now(), outcome="non_contact")
    with pytest.raises(FieldworkError, match="不能重新抽样"):
        wave_draw_sample(design=design, seed=2)
    draw.refresh_from_db()
    assert draw.is_current


# --- Kish roster ----------------------------------------------------------------------------


def test_household_without_eligible_member_is_not_eligible(fc: FieldCounty) -> None:
    case = Case.objects.filter(draw=wave_draw_sample(design=fixed_design(fc), seed=3)).first()
    assert household_roster_record(case=case, members=[MemberInput("female", 80), MemberInput("male", 9)]) is None
    case.refresh_from_db()
    assert case.disposition == Disposition.NOT_ELIGIBLE and case.prob_person is None
    assert not HouseholdMember.objects.filter(case=case, eligible=True).exists()


def test_roster_can_be_corrected_until_a_questionnaire_is_answered(fc: FieldCounty) -> None:
    case = Case.objects.filter(draw=wave_draw_sample(design=fixed_design(fc), seed=3)).first()
    household_roster_record(case=case, members=ROSTER[:2])
    household_roster_record(case=case, members=ROSTER)
    assert HouseholdMember.objects.filter(case=case).count() == len(ROSTER)
    assert HouseholdMember.objects.filter(case=case, selected=True).count() == 1
    with pytest.raises(FieldworkError):
        household_roster_record(case=case, members=[MemberInput("other", 30)])
    with pytest.raises(FieldworkError):
        household_roster_record(case=case, members=[])


def test_kish_row_is_fixed_by_the_draw_so_the_roster_alone_decides(fc: FieldCounty) -> None:
    case = Case.objects.filter(draw=wave_draw_sample(design=fixed_design(fc), seed=11)).first()
    chosen = {household_roster_record(case=case, members=ROSTER).line for _ in range(5)}  # type: ignore[union-attr]
    assert len(chosen) == 1
    order = [0, 2, 1]  # roster positions of m45, m19, f43 in Kish order
    assert chosen == {order[int(case.kish_u * 3)] + 1}


# --- many draws -----------------------------------------------------------------------------


@pytest.mark.slow
def test_over_many_draws_psus_are_selected_with_frequency_pi_and_kish_is_uniform(fc: FieldCounty) -> None:
    design = fixed_design(fc)
    trials = 1200
    psu_counts: Counter[str] = Counter()
    household_counts: Counter[tuple[str, str]] = Counter()
    kish_counts: Counter[int] = Counter()
    for seed in range(trials):
        draw = wave_draw_sample(design=design, seed=seed)
        rows = list(Case.objects.filter(draw=draw).order_by("code").values_list("pk", "sampled_unit__unit__code", "household__code"))
        psu_counts.update({short(unit) for _, unit, _ in rows})
        household_counts.update((short(unit), household) for _, unit, household in rows)
        selected = household_roster_record(case=Case.objects.get(pk=rows[0][0]), members=ROSTER)
        kish_counts[selected.line] += 1  # type: ignore[union-attr]
    codes = sorted(EXPECTED_PSU)
    assert_binomial(np.asarray([psu_counts[c] for c in codes]), trials, np.asarray([EXPECTED_PSU[c] for c in codes]))
    # A household's overall probability is π_psu · m/M.
    pairs = [(u, f"{h:03d}") for u in codes for h in range(1, LISTED[u] + 1)]
    assert_binomial(
        np.asarray([household_counts[p] for p in pairs]), trials,
        np.asarray([EXPECTED_PSU[u] * min(1.0, M / LISTED[u]) for u, _ in pairs]),
    )
    eligible_lines = [1, 2, 3]  # m45, f43, m19
    assert set(kish_counts) <= set(eligible_lines)
    assert_binomial(np.asarray([kish_counts[line] for line in eligible_lines]), trials, np.full(3, 1 / 3))
