"""Agreement with R's `survey` package on the reference cases of results/make_results.R.

Each case of results/reference.json names a data file, a design, an optional calibration and
a statistic; R's numbers were produced by svymean/svytotal/svyby/svyciprop/calibrate/
postStratify on the very same CSV rows. Quantities computed by iteration or linear algebra
must agree to 1e-9 relative; interval formulas fed with R's own estimate, SE and df must
agree to 1e-10.
"""

from __future__ import annotations

import csv
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scoring import (
    CellEstimate,
    LonelyPsuError,
    Margin,
    RakeResult,
    SurveyDesign,
    design_create,
    estimate_mean,
    estimate_proportion,
    estimate_total,
    proportion_ci,
    weights_post_stratify,
    weights_rake,
)

RESULTS = Path(__file__).parent / "results"
REFERENCE: dict[str, Any] = json.loads((RESULTS / "reference.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = REFERENCE["cases"]
PROPORTION_CASES = [case for case in CASES if case["statistic"] == "proportion"]

RTOL = 1e-9
RTOL_CLOSED_FORM = 1e-10


@cache
def load_data(name: str) -> dict[str, np.ndarray]:
    """Return the CSV columns as string arrays."""
    with (RESULTS / name).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {column: np.array([row[column] for row in rows]) for column in rows[0]}


def numeric(column: np.ndarray) -> np.ndarray:
    return np.array([math.nan if value == "NA" else float(value) for value in column])


def as_list(value: str | list[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def build_design(case: dict[str, Any]) -> SurveyDesign:
    data = load_data(case["data"])
    spec = case["design"]
    design = design_create(
        numeric(data[spec["weights"]]),
        strata=None if spec["strata"] is None else data[spec["strata"]],
        psu=None if spec["psu"] is None else data[spec["psu"]],
        fpc=None if spec["fpc"] is None else numeric(data[spec["fpc"]]),
        lonely_psu=spec["lonely_psu"],
    )
    if case["calibration"] is None:
        return design
    return calibrate(design, case["data"], case["calibration"]).design


def calibrate(design: SurveyDesign, data_name: str, calibration_name: str) -> RakeResult:
    data = load_data(data_name)
    calibration = REFERENCE["calibrations"][calibration_name]
    margins = [
        Margin.from_labels(
            margin["column"], data[margin["column"]], dict(zip(margin["levels"], margin["totals"]))
        )
        for margin in calibration["margins"]
    ]
    if calibration["method"] == "raking":
        return weights_rake(design, margins, tol=1e-13)
    assert len(margins) == 1
    return weights_post_stratify(design, margins[0].codes, margins[0].totals)


def estimate_case(case: dict[str, Any]) -> dict[tuple[str, ...] | None, CellEstimate]:
    data = load_data(case["data"])
    design = build_design(case)
    by_columns = as_list(case["by"])
    by = None if by_columns is None else [data[column] for column in by_columns]
    y = numeric(data[case["variable"]])
    if case["statistic"] == "mean":
        cells = estimate_mean(design, y, var=case["variable"], by=by, level=case["level"])
    elif case["statistic"] == "total":
        cells = estimate_total(design, y, var=case["variable"], by=by, level=case["level"])
    else:
        cells = estimate_proportion(
            design, y, var=case["variable"], by=by, ci=case["ci_method"], level=case["level"]
        )
    return {
        None if cell.domain is None else tuple(str(label) for label in cell.domain): cell
        for cell in cells
    }


def domain_key(result: dict[str, Any]) -> tuple[str, ...] | None:
    labels = as_list(result["domain"])
    return None if labels is None else tuple(labels)


def relative_error(ours: float, reference: float) -> float:
    return abs(ours - reference) / max(abs(reference), 1e-300)


def assert_close(ours: float, reference: float | None, what: str, rtol: float = RTOL) -> None:
    if reference is None:
        assert math.isnan(ours), f"{what}: R gives NaN, we give {ours!r}"
        return
    assert relative_error(ours, reference) <= rtol, f"{what}: {ours!r} vs R {reference!r}"


def is_boundary_beta(case: dict[str, Any], result: dict[str, Any]) -> bool:
    """R's Korn-Graubard interval is NaN at p = 0 or 1; ours follows Korn & Graubard."""
    return case["ci_method"] == "beta" and result["estimate"] in (0, 1)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_estimates_match_r(case: dict[str, Any]) -> None:
    cells = estimate_case(case)
    assert len(cells) == len(case["results"]), "domains differ from svyby's"
    for result in case["results"]:
        key = domain_key(result)
        cell = cells[key]
        where = f"{case['id']} domain {key}"
        assert cell.n == result["n"], where
        assert cell.df == result["df"], where
        if result["n"] == 0:
            # R reports 0 (a sum over no rows) where every value is missing; we report NaN.
            assert math.isnan(cell.estimate) and math.isnan(cell.se), where
            continue
        for field in ("estimate", "se", "deff", "weighted_n"):
            assert_close(getattr(cell, field), result[field], f"{where} {field}")
        if is_boundary_beta(case, result):
            assert result["ci_low"] is None and result["ci_high"] is None
            assert 0.0 <= cell.ci_low <= cell.estimate <= cell.ci_high <= 1.0
            continue
        assert_close(cell.ci_low, result["ci_low"], f"{where} ci_low")
        assert_close(cell.ci_high, result["ci_high"], f"{where} ci_high")


@pytest.mark.parametrize("case", PROPORTION_CASES, ids=[case["id"] for case in PROPORTION_CASES])
def test_proportion_interval_formula_matches_r(case: dict[str, Any]) -> None:
    results = [r for r in case["results"] if r["se"] is not None and not is_boundary_beta(case, r)]
    low, high = proportion_ci(
        case["ci_method"],
        np.array([r["estimate"] for r in results]),
        np.array([r["se"] for r in results]),
        np.array([r["df"] for r in results]),
        np.array([r["n_domain"] for r in results]),
        case["level"],
    )
    for j, result in enumerate(results):
        where = f"{case['id']} domain {domain_key(result)}"
        assert_close(float(low[j]), result["ci_low"], f"{where} ci_low", RTOL_CLOSED_FORM)
        assert_close(float(high[j]), result["ci_high"], f"{where} ci_high", RTOL_CLOSED_FORM)


CALIBRATION_DATA = {
    name: next(case for case in CASES if case["calibration"] == name)
    for name in REFERENCE["calibrations"]
}


@pytest.mark.parametrize("name", sorted(CALIBRATION_DATA))
def test_calibrated_weights_match_r(name: str) -> None:
    case = CALIBRATION_DATA[name]
    uncalibrated = build_design({**case, "calibration": None})
    result = calibrate(uncalibrated, case["data"], name)
    expected = np.array(REFERENCE["calibrations"][name]["weights"])
    assert result.converged
    assert result.max_rel_error <= 1e-13
    np.testing.assert_allclose(result.weights, expected, rtol=RTOL, atol=0)
    assert not np.allclose(result.weights, uncalibrated.weights, rtol=1e-3)


def test_county_margins_share_the_census_total() -> None:
    calibration = REFERENCE["calibrations"]["county_raking"]
    for margin in calibration["margins"]:
        assert sum(margin["totals"]) == REFERENCE["county_population"]


def test_lonely_psu_fail_names_the_stratum_as_r_does() -> None:
    data = load_data("county.csv")
    with pytest.raises(LonelyPsuError) as raised:
        design_create(
            numeric(data["w"]), strata=data["stratum"], psu=data["village"],
            fpc=numeric(data["N_villages"]),
        )
    assert REFERENCE["lonely_fail_message"] in str(raised.value)
    assert raised.value.strata == ("T6-U",)
    assert isinstance(raised.value, ValueError)


def test_reference_covers_every_method() -> None:
    covered = {
        (case["statistic"], case["ci_method"], case["design"]["lonely_psu"],
         None if case["calibration"] is None
         else REFERENCE["calibrations"][case["calibration"]]["method"],
         case["by"] is not None)
        for case in CASES
    }
    assert {c[1] for c in covered if c[0] == "proportion"} == {"logit", "wald", "beta"}
    assert {c[2] for c in covered} == {"fail", "remove", "certainty", "adjust", "average"}
    assert {c[3] for c in covered} == {None, "raking", "poststratification"}
    assert {c[0] for c in covered if c[4]} == {"mean", "total", "proportion"}
