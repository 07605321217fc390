"""Fieldwork monitoring reads (assessment/selectors.py) on the demo county's 2025 wave."""
from __future__ import annotations

import math
from typing import Any

import pytest

from assessment.estimation import estimate_by, estimate_overall, wave_design
from assessment.models import Case, County, Town, Wave
from assessment.precision import ci_width
from assessment.selectors import enumerator_workload, precision_outlook, progress_by_stratum, rates_by, wave_cases
from questionnaires.models import Response


@pytest.fixture
def wave(demo_county: Any, db: None) -> Wave:
    return Wave.objects.get(county=County.objects.get(pk=demo_county.county_id), year=2025, kind=Wave.Kind.HOUSEHOLD)


def towns(wave: Wave, *codes: str) -> Any:
    found = Town.objects.filter(county_id=wave.county_id)
    return found.filter(code__in=codes) if codes else found


def test_progress_counts_every_case_once_per_stratum(wave: Wave) -> None:
    rows = progress_by_stratum(wave, towns(wave))
    assert len(rows) == 9
    assert sum(r.cases for r in rows) == Case.objects.filter(wave=wave).count()
    assert sum(r.completes for r in rows) == Case.objects.filter(wave=wave, disposition="complete").count()
    yushan = next(r for r in rows if r.stratum == "yushan")
    # The demo stores no targets: 15 PSUs × 15 households × 0.75 × 0.95, stated as assumed.
    assert yushan.target_assumed and yushan.target == round(yushan.psus * 15 * 0.75 * 0.95)
    assert [r.stratum for r in progress_by_stratum(wave, towns(wave, "donge"))] == ["donge"]


def test_workload_counts_each_enumerators_cases_and_interviews(wave: Wave) -> None:
    rows = {r.username: r for r in enumerator_workload(wave, towns(wave, "donge", "meigui"))}
    assert set(rows) == {"enumerator_donge", "enumerator_meigui"}
    donge = rows["enumerator_donge"]
    assert donge.assigned == Case.objects.filter(wave=wave, town__code="donge").count()
    interviewed = Response.objects.filter(wave=wave, case__town__code="donge", mode="interviewer").values("case").distinct().count()
    assert donge.interviews == interviewed and donge.median_minutes > 0


def test_precision_outlook_agrees_with_the_published_estimate_when_weights_are_current(wave: Wave) -> None:
    rows = precision_outlook(wave, towns(wave))
    county = next(r for r in rows if r.instrument == "science_literacy" and r.town == "")
    official = estimate_overall(wave_design(wave, "science_literacy"), "science_literacy")
    assert county.source == "W2025-1"
    assert county.estimate == pytest.approx(official.estimate, rel=1e-12) and county.se == pytest.approx(official.se, rel=1e-12)
    assert county.width == pytest.approx(ci_width(official.se))
    by_town = {c.domain[0]: c for c in estimate_by(wave_design(wave, "science_literacy"), "science_literacy", "town")}
    donge = next(r for r in rows if r.instrument == "science_literacy" and r.town == "东阿镇")
    assert donge.se == pytest.approx(by_town["donge"].se, rel=1e-12)
    for r in rows:
        assert r.n_target >= r.n
        if math.isfinite(r.width):
            assert r.width_target == pytest.approx(r.width * math.sqrt(r.n / r.n_target))
            assert r.gain_per_10 == pytest.approx(r.width * (1 - math.sqrt(r.n / (r.n + 10))))


def test_a_supervisor_sees_the_county_and_their_own_town_only(wave: Wave) -> None:
    rows = precision_outlook(wave, towns(wave, "donge"))
    assert {r.town for r in rows} == {"", "东阿镇"}
    overall, by_town = rates_by(wave_cases(wave, towns(wave, "donge")), "town")
    assert [r.label for r in by_town] == ["东阿镇"] and overall.counts == by_town[0].rates.counts
