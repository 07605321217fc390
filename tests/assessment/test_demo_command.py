"""The `demo` management command: the Pingyin demo county in the database.

Uses the session's `demo_county` (built once); tests that change rows run in a rolled-back
transaction (`db`).
"""
from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, F, Value
from django.db.models.functions import Concat

from assessment.demo.build import GROUP_ORDER
from assessment.demo.population import OCCUPATION, Population
from assessment.estimation import estimate_overall, wave_design
from assessment.models import (
    AuditEvent,
    Case,
    County,
    HouseholdMember,
    SampledUnit,
    Stratum,
    Visit,
    Wave,
    WaveInstrument,
    Weight,
    WeightSet,
)
from assessment.sampling import pps_probabilities
from questionnaires.models import Invitation, Response, ResponseScore

YEARS = [2022, 2023, 2024, 2025]
LITERACY = ("science_literacy", "health_literacy")
AGES = {"science_literacy": (18, 69), "health_literacy": (15, 69)}


@pytest.fixture
def county(demo_county: Any, db: None) -> County:
    return County.objects.get(pk=demo_county.county_id)


def wave_of(county: County, year: int) -> Wave:
    """Return the household wave of YEAR (the enterprise survey has a wave of its own)."""
    return Wave.objects.get(county=county, year=year, kind=Wave.Kind.HOUSEHOLD)


def row_counts() -> dict[str, int]:
    models = (Case, Response, ResponseScore, WeightSet, Weight, Invitation, Visit, AuditEvent, HouseholdMember)
    counts = {m.__name__: m.objects.count() for m in models}
    counts["User"] = get_user_model().objects.count()
    return counts


def links(output: str) -> list[str]:
    return re.findall(r"https?://\S+/r/([A-Za-z0-9_-]+)/", output)


def test_second_run_says_it_is_already_built_and_creates_no_rows(county: County, demo_county: Any) -> None:
    before = row_counts()
    out = io.StringIO()
    call_command("demo", stdout=out)
    assert "already built" in out.getvalue()
    assert "Building" not in out.getvalue()
    assert row_counts() == before
    household = {"wave__county": county, "wave__kind": Wave.Kind.HOUSEHOLD}
    assert Case.objects.filter(**household).count() == 4 * 1080
    assert WeightSet.objects.filter(**household).count() == 8
    # The summary is printed again, with the same invitation links.
    assert links(out.getvalue()) == links(demo_county.output)


def test_four_yearly_waves_with_the_plan_targets(county: County) -> None:
    waves = list(Wave.objects.filter(county=county, kind=Wave.Kind.HOUSEHOLD).order_by("year"))
    assert [w.year for w in waves] == YEARS
    assert [w.status for w in waves] == ["closed", "closed", "closed", "fieldwork"]
    for wave in waves:
        targets = {t.indicator: t.value for t in wave.targets.all()}
        assert targets == {
            "science_literacy": Decimal("0.1850"),
            "health_literacy": Decimal("0.3000"),
            "occupational_health": Decimal("0.9000"),
        }
        fielded = WaveInstrument.objects.filter(wave=wave).values_list("instrument_version__instrument__code", flat=True)
        assert sorted(fielded) == ["demographics", "health_literacy", "science_literacy"]


@pytest.mark.parametrize("year", YEARS)
def test_each_wave_draws_72_psus_and_1080_households(county: County, year: int) -> None:
    wave = wave_of(county, year)
    assert SampledUnit.objects.filter(draw__design__wave=wave).count() == 72
    assert Stratum.objects.filter(design__wave=wave).aggregate(n=Count("pk"))["n"] == 9
    assert sum(Stratum.objects.filter(design__wave=wave).values_list("psu_allocated", flat=True)) == 72
    assert Case.objects.filter(wave=wave).count() == 1080
    per_psu = Counter(Case.objects.filter(wave=wave).values_list("sampled_unit_id", flat=True))
    assert set(per_psu.values()) == {15}


@pytest.mark.parametrize("year", YEARS)
def test_case_probability_is_the_product_of_its_recomputed_stage_probabilities(county: County, year: int) -> None:
    wave = wave_of(county, year)
    # Stage 1: systematic PPS within the town on the frame's measure of size.
    expected_psu: dict[int, tuple[float, bool]] = {}
    for stratum in Stratum.objects.filter(design__wave=wave):
        units = list(
            stratum.design.frame.units.filter(town=stratum.town).order_by("pk").values_list("pk", "measure_of_size")
        )
        pi, certain = pps_probabilities([size for _, size in units], stratum.psu_allocated)
        expected_psu.update({pk: (p, c) for (pk, _), p, c in zip(units, pi.tolist(), certain.tolist())})
    eligible: Counter[int] = Counter()
    selected: Counter[int] = Counter()
    for case_id, is_eligible, is_selected in HouseholdMember.objects.filter(case__wave=wave).values_list(
        "case_id", "eligible", "selected"
    ):
        eligible[case_id] += is_eligible
        selected[case_id] += is_selected
    cases = Case.objects.filter(wave=wave).select_related("sampled_unit__unit")
    for case in cases:
        unit = case.sampled_unit.unit
        p_psu, certain = expected_psu[unit.pk]
        assert case.prob_psu == pytest.approx(p_psu, rel=1e-9) == case.sampled_unit.probability
        assert case.sampled_unit.certainty is certain
        assert case.prob_household == pytest.approx(min(1.0, 15 / unit.households), rel=1e-12)
        if eligible[case.pk]:
            assert case.prob_person == pytest.approx(1 / eligible[case.pk])
            assert selected[case.pk] == 1
            assert case.inclusion_probability == pytest.approx(case.prob_psu * case.prob_household / eligible[case.pk])
        else:
            assert case.prob_person is None and case.inclusion_probability is None
            assert case.disposition == "not_eligible"


@pytest.mark.parametrize("year", YEARS)
def test_completed_cases_have_demographics_and_scored_literacy_responses(county: County, year: int) -> None:
    wave = wave_of(county, year)
    keys = dict(
        WaveInstrument.objects.filter(wave=wave).values_list("instrument_version__instrument__code", "scoring_key_id")
    )
    responses: dict[int, dict[str, Response]] = defaultdict(dict)
    for r in Response.objects.filter(wave=wave).select_related("instrument_version__instrument"):
        responses[r.case_id][r.instrument_version.instrument.code] = r
    scored = set(ResponseScore.objects.filter(response__wave=wave).values_list("response_id", "key_id"))
    completes = 0
    for case_id, disposition in Case.objects.filter(wave=wave).values_list("pk", "disposition"):
        got = responses.get(case_id, {})
        if disposition != "complete":
            assert not got, f"case {case_id} ({disposition}) has responses"
            continue
        completes += 1
        demographics = got["demographics"].answers
        assert {"age", "sex", "education", "occupation", "residence", "town"} <= set(demographics)
        for code, (low, high) in AGES.items():
            assert (code in got) == (low <= demographics["age"] <= high), (case_id, code)
        for code, response in got.items():
            assert (response.pk, keys[code]) in scored, (case_id, code)
    assert 750 < completes < 900


def test_stored_scores_equal_the_true_literacy_of_the_selected_resident(
    county: County, population: Population, truth_2025: Any
) -> None:
    # Households are stored as "<year>-<household index>" with their roster in population order.
    starts = population.household_slices()
    selected = {
        case_id: (int(code.split("-")[1]), line)
        for case_id, code, line in HouseholdMember.objects.filter(case__wave=wave_of(county, 2025), selected=True)
        .values_list("case_id", "case__household__code", "line")
    }
    for code in LITERACY:
        truth = truth_2025[code]
        rows = ResponseScore.objects.filter(
            response__wave=wave_of(county, 2025), response__instrument_version__instrument__code=code
        ).values_list("response__case_id", "benchmarks")
        persons, flags = [], []
        for case_id, benchmarks in rows:
            household, line = selected[case_id]
            persons.append(starts[household] + line - 1)
            flags.append(benchmarks[code])
        literate = truth.literate[np.searchsorted(truth.eligible, persons)]
        assert len(flags) > 700
        np.testing.assert_array_equal(np.asarray(flags), literate, err_msg=code)


def test_2025_keeps_one_unanswered_case_per_group_with_a_demo_invitation(county: County, population: Population) -> None:
    wave = wave_of(county, 2025)
    invitations = Invitation.objects.filter(wave=wave, label__startswith="demo:", revoked=False).select_related("case__household")
    by_group = {inv.label.removeprefix("demo:"): inv for inv in invitations}
    assert sorted(by_group) == sorted(GROUP_ORDER)
    starts = population.household_slices()
    for group, inv in by_group.items():
        case = inv.case
        assert case.disposition == "pending"
        assert not Response.objects.filter(case=case).exists()
        member = case.members.get(selected=True)
        person = starts[int(case.household.code.split("-")[1])] + member.line - 1
        age, occupation = int(population.age[person]), OCCUPATION[population.occupation[person]]
        assert age == member.age >= 18
        assert {
            "youth": 15 <= age <= 35,
            "elder": age >= 60,
            "farmer": occupation == "farmer",
            "worker": occupation == "industrial_worker",
            "cadre": occupation in ("cadre", "civil_servant"),
        }[group], (group, age, occupation)
    # Those five are the open wave's only pending households, and closed waves have no links.
    pending = Case.objects.filter(wave=wave, disposition="pending")
    assert set(pending) == {inv.case for inv in by_group.values()}
    for year in YEARS[:-1]:
        assert not Invitation.objects.filter(wave=wave_of(county, year)).exists()


def test_completed_households_of_the_open_wave_have_no_live_invitation(county: County) -> None:
    wave = wave_of(county, 2025)
    assert not Invitation.objects.filter(wave=wave, revoked=False, case__disposition="complete").exists()


@pytest.mark.parametrize("code", LITERACY)
def test_2025_county_estimate_covers_the_true_share(county: County, truth_2025: Any, demo_county: Any, code: str) -> None:
    cell = estimate_overall(wave_design(wave_of(county, 2025), code), code)
    truth = truth_2025[code].share
    assert cell.ci_method == "logit"
    assert cell.ci_low <= truth <= cell.ci_high, (cell.ci_low, truth, cell.ci_high)
    # The command prints the same estimate and truth.
    line = next(row for row in demo_county.output.splitlines() if row.strip().startswith(f"2025  {code}"))
    assert f"estimate {100 * cell.estimate:5.1f}%" in line
    assert f"truth {100 * truth:5.1f}%" in line
    assert "covered: yes" in line


def test_output_lists_accounts_of_every_role_and_five_invitation_links(county: County, demo_county: Any) -> None:
    out = demo_county.output
    for username in ("admin", "official", "official_yushan", "supervisor_yushan", "enumerator_yushan"):
        assert re.search(rf"^\s+{username}\s", out, re.M), username
    for role in ("管理员", "领导", "督导", "调查员"):
        assert role in out
    assert "password for all: suyang-demo" in out
    tokens = links(out)
    assert len(tokens) == 5
    stored = {inv.token for inv in Invitation.objects.filter(wave__county=county, label__startswith="demo:")}
    assert set(tokens) == stored
    assert len(re.findall(r"^\s+20\d\d\s+(science|health)_literacy\s+estimate", out, re.M)) == 8


def test_every_staff_account_exists_with_its_role_and_town(county: County) -> None:
    from assessment.models import StaffProfile

    profiles = {p.user.username: p for p in StaffProfile.objects.filter(county=county).select_related("user")}
    towns = list(county.towns.values_list("code", flat=True))
    assert len(towns) == 9
    assert profiles["admin"].role == "admin" and profiles["admin"].user.is_superuser
    assert profiles["official"].role == "official" and not profiles["official"].towns.exists()
    assert list(profiles["official_yushan"].towns.values_list("code", flat=True)) == ["yushan"]
    for town in towns:
        for role in ("supervisor", "enumerator"):
            profile = profiles[f"{role}_{town}"]
            assert profile.role == role
            assert list(profile.towns.values_list("code", flat=True)) == [town]
    # Cases are assigned to their town's enumerator.
    cases = Case.objects.filter(wave__county=county).annotate(expected=Concat(Value("enumerator_"), F("town__code")))
    assert not cases.exclude(assigned_to__username=F("expected")).exists()
