"""AAPOR outcome rates (assessment/rates.py) against hand computations, and by group through the selector.

The fixture of dispositions: I = 40 complete, P = 5 partial, R = 10 refusals, NC = 8 non-contacts,
O = 2 other, U = 10 of unknown eligibility (6 unknown + 4 still pending), NE = 5 not eligible.
Known eligible: 40 + 5 + 10 + 8 + 2 = 65; e = 65 / (65 + 5) = 13/14, so e·U = 130/14 and the
denominator with e is 65 + 130/14 = 520/7.
"""
from __future__ import annotations

import math
from fractions import Fraction as F
from typing import Any

import pytest

from assessment import rates
from assessment.models import Case, SampleDesign
from assessment.selectors import rates_by, wave_cases
from assessment.services import sample_design_create, wave_draw_sample
from tests.assessment.fieldwork_setup import field_county

CODES = ["complete"] * 40 + ["partial"] * 5 + ["refusal"] * 10 + ["non_contact"] * 8 + ["other"] * 2 + ["unknown"] * 6 + [
    "pending"
] * 4 + ["not_eligible"] * 5
WITH_E = F(520, 7)
HAND = {
    "RR1": F(40, 75), "RR2": F(45, 75), "RR3": 40 / WITH_E, "RR4": 45 / WITH_E, "RR5": F(40, 65), "RR6": F(45, 65),
    "COOP1": F(40, 57), "COOP2": F(45, 57), "COOP3": F(40, 55), "COOP4": F(45, 55),
    "REF1": F(10, 75), "REF2": 10 / WITH_E, "REF3": F(10, 65),
    "CON1": F(57, 75), "CON2": 57 / WITH_E, "CON3": F(57, 65),
}


def test_counts_follow_the_aapor_groups_with_pending_as_unknown() -> None:
    c = rates.counts_from_dispositions(CODES)
    assert c == rates.DispositionCounts(I=40, P=5, R=10, NC=8, O=2, U=10, NE=5)
    assert c.total == len(CODES) and c.eligible_known == 65
    assert rates.counts_from_dispositions({"complete": 40, "pending": 4}) == rates.DispositionCounts(I=40, U=4)


def test_unknown_disposition_is_refused() -> None:
    with pytest.raises(ValueError, match="'interviewed'"):
        rates.counts_from_dispositions(["interviewed"])


def test_e_defaults_to_the_eligible_share_among_cases_of_known_eligibility() -> None:
    c = rates.counts_from_dispositions(CODES)
    assert rates.eligibility_known_share(c) == pytest.approx(float(F(13, 14)), abs=1e-15)


@pytest.mark.parametrize("name", rates.RATE_NAMES)
def test_every_rate_matches_the_hand_computation(name: str) -> None:
    got = rates.outcome_rates(rates.counts_from_dispositions(CODES))
    assert got[name] == pytest.approx(float(HAND[name]), rel=1e-14)
    assert got.e == pytest.approx(13 / 14)


def test_rates_are_ordered_as_aapor_says() -> None:
    r = rates.outcome_rates(rates.counts_from_dispositions(CODES))
    assert r["RR1"] <= r["RR3"] <= r["RR5"] and r["RR2"] <= r["RR4"] <= r["RR6"]
    assert r["COOP1"] <= r["COOP3"] and r["CON1"] <= r["CON2"] <= r["CON3"]


def test_e_of_one_or_zero_turns_rr3_into_rr1_or_rr5() -> None:
    c = rates.counts_from_dispositions(CODES)
    assert rates.rr3(c, e=1.0) == pytest.approx(rates.rr1(c))
    assert rates.rr3(c, e=0.0) == pytest.approx(rates.rr5(c))
    assert rates.outcome_rates(c, e=0.5).e == 0.5
    assert rates.outcome_rates(c, e=0.5)["RR3"] == pytest.approx(40 / (65 + 5))
    with pytest.raises(ValueError, match="e must lie"):
        rates.rr3(c, e=1.5)


def test_rates_needing_e_are_undefined_while_no_eligibility_is_known() -> None:
    fresh = rates.outcome_rates(rates.counts_from_dispositions(["pending"] * 10))
    assert math.isnan(fresh.e) and math.isnan(fresh["RR3"]) and math.isnan(fresh["CON2"])
    assert fresh["RR1"] == 0.0


def test_empty_denominators_give_nan() -> None:
    nothing = rates.outcome_rates(rates.DispositionCounts())
    assert all(math.isnan(v) for v in nothing.rates.values())
    only_ineligible = rates.outcome_rates(rates.DispositionCounts(NE=3))
    assert only_ineligible.e == 0.0 and math.isnan(only_ineligible["RR1"])


def test_counts_add_up() -> None:
    a = rates.DispositionCounts(I=1, R=2, U=3)
    b = rates.DispositionCounts(I=4, NE=1)
    assert a + b == rates.DispositionCounts(I=5, R=2, U=3, NE=1)


# --- by group, from stored cases ---------------------------------------------------------------


@pytest.fixture
def cases(db: None) -> Any:
    """A drawn sample of 12 cases (4 PSUs × 3) whose dispositions are set by hand."""
    fc = field_county()
    design = sample_design_create(
        wave=fc.wave, frame=fc.frame, name="d", allocation=SampleDesign.Allocation.FIXED, households_per_psu=3,
        parameters={"fixed": {"ta": 2, "tb": 2}},
    )
    wave_draw_sample(design=design, seed=9)
    rows = list(Case.objects.filter(wave=fc.wave).order_by("town__code", "code"))
    # Town A (6 cases): complete ×3, refusal, non_contact, not_eligible; town B: complete ×2, partial, unknown, pending ×2.
    for case, disposition in zip(rows, ["complete"] * 3 + ["refusal", "non_contact", "not_eligible"]
                                 + ["complete"] * 2 + ["partial", "unknown", "pending", "pending"]):
        case.disposition = disposition
        case.assigned_to = fc.users["enumerator_a"] if case.town.code == "ta" else fc.users["enumerator_b"]
        case.save()
    return fc


def test_rates_by_town_share_the_overall_e(cases: Any) -> None:
    overall, rows = rates_by(wave_cases(cases.wave), "town")
    # Overall: I=5, P=1, R=1, NC=1, U=3, NE=1; known eligible 8, e = 8/9.
    assert overall.counts == rates.DispositionCounts(I=5, P=1, R=1, NC=1, U=3, NE=1)
    assert overall.e == pytest.approx(8 / 9)
    assert overall["RR1"] == pytest.approx(5 / 11)
    assert overall["RR3"] == pytest.approx(5 / (8 + 3 * 8 / 9))
    by_town = {r.label: r.rates for r in rows}
    assert set(by_town) == {"甲镇", "乙镇"}
    a, b = by_town["甲镇"], by_town["乙镇"]
    assert a.counts == rates.DispositionCounts(I=3, R=1, NC=1, NE=1) and a["RR1"] == pytest.approx(3 / 5)
    assert a["COOP1"] == pytest.approx(3 / 4) and a["CON1"] == pytest.approx(4 / 5) and a["REF1"] == pytest.approx(1 / 5)
    # Town B has no case of known ineligibility; its RR3 still uses the overall e = 8/9.
    assert b.e == pytest.approx(8 / 9)
    assert b["RR3"] == pytest.approx(2 / (3 + 3 * 8 / 9))
    assert b["RR2"] == pytest.approx(3 / 6)


def test_rates_by_enumerator_and_psu_partition_the_cases(cases: Any) -> None:
    overall, by_enumerator = rates_by(wave_cases(cases.wave), "enumerator")
    assert sum((r.rates.counts for r in by_enumerator), rates.DispositionCounts()) == overall.counts
    assert {r.label for r in by_enumerator} == {"370177_enumerator_a", "370177_enumerator_b"}
    _, by_psu = rates_by(wave_cases(cases.wave), "psu")
    assert len(by_psu) == 4 and all(r.rates.counts.total == 3 for r in by_psu)
    with pytest.raises(ValueError):
        rates_by(wave_cases(cases.wave), "village")
