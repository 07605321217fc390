"""Agreement with R's `survey` package on the reference cases of results/make_results.R.

Each case of results/reference.json names a data file, a design (strata, PSUs, FPC of every
stage, certainty PSUs, lonely-PSU rule), an optional calibration (raking, post-stratification,
GREG, bounded or logit calibration, trimming), optional replicate weights (JK1, JKn, BRR, Fay,
or bootstrap multipliers exported from R) and a statistic; R's numbers were produced by
svymean/svytotal/svyratio/svyby/svyciprop/svycontrast/calibrate/postStratify/trimWeights on
the very same CSV rows. Quantities computed by iteration or linear algebra must agree to 1e-9
relative (the likelihood interval, which goes through R's glm iterations, to 1e-8); interval
formulas fed with R's own estimate, SE and df must agree to 1e-10.
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
    NumericTotal,
    RakeResult,
    ReplicateDesign,
    SurveyDesign,
    design_create,
    estimate_contrast,
    estimate_difference,
    estimate_mean,
    estimate_proportion,
    estimate_ratio,
    estimate_total,
    proportion_ci,
    replicates_create,
    replicates_from_multipliers,
    weights_calibrate,
    weights_nonresponse,
    weights_post_stratify,
    weights_rake,
    weights_trim,
)

RESULTS = Path(__file__).parent / "results"
REFERENCE: dict[str, Any] = json.loads((RESULTS / "reference.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = REFERENCE["cases"]
EXTRA: dict[str, Any] = REFERENCE["extra"]
PROPORTION_CASES = [
    case for case in CASES if case["statistic"] == "proportion" and case["ci_method"] != "likelihood"
]

RTOL = 1e-9
RTOL_LIKELIHOOD = 1e-8
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


def base_design(case: dict[str, Any]) -> SurveyDesign:
    data = load_data(case["data"])
    spec = case["design"]
    fpc_columns = as_list(spec["fpc"])
    fpc: Any = None
    if fpc_columns is not None:
        fpc = [numeric(data[c]) for c in fpc_columns]
        fpc = fpc[0] if len(fpc) == 1 else fpc
    return design_create(
        numeric(data[spec["weights"]]),
        strata=None if spec["strata"] is None else data[spec["strata"]],
        psu=None if spec["psu"] is None else data[spec["psu"]],
        fpc=fpc,
        lonely_psu=spec["lonely_psu"],
        ssu=None if spec.get("ssu") is None else data[spec["ssu"]],
        certainty=None if spec.get("certainty") is None else numeric(data[spec["certainty"]]),
    )


def calibrate(design: SurveyDesign, data_name: str, calibration_name: str) -> RakeResult:
    data = load_data(data_name)
    calibration = REFERENCE["calibrations"][calibration_name]
    margins = [
        Margin.from_labels(
            margin["column"], data[margin["column"]], dict(zip(margin["levels"], margin["totals"]))
        )
        for margin in calibration["margins"]
    ]
    numerics = [
        NumericTotal(numeric(data[item["column"]]), item["total"], item["column"])
        for item in calibration.get("numeric") or []
    ]
    bounds = calibration.get("bounds")
    method = calibration["method"]
    if method == "poststratification":
        assert len(margins) == 1
        result = weights_post_stratify(design, margins[0].codes, margins[0].totals)
    elif method == "raking" and bounds is None:
        result = weights_rake(design, margins, tol=1e-13)
    else:
        result = weights_calibrate(
            design, margins, numerics, calfun=method, tol=1e-13, max_iter=500,
            bounds=None if bounds is None else (bounds[0], bounds[1]),
        )
    trim = calibration.get("trim")
    if trim is not None:
        trimmed = weights_trim(result.design, lower=trim[0], upper=trim[1])
        result = RakeResult(trimmed.design, result.iterations, result.converged,
                            result.max_rel_error)
    return result


def replicated(design: SurveyDesign, case: dict[str, Any]) -> ReplicateDesign:
    spec = case["replicates"]
    method = spec["method"]
    if method == "multipliers":
        with (RESULTS / spec["file"]).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))[1:]
        labels: list[object] = [row[0] for row in rows]
        if case["design"]["psu"] is None:
            labels = [str(int(label) - 1) for label in labels]  # R numbers rows from 1
        matrix = np.array([[float(v) for v in row[1:]] for row in rows])
        return replicates_from_multipliers(
            design, labels, matrix, scale=spec["scale"], mse=spec["mse"]
        )
    hadamard = None
    if spec.get("hadamard") == "apipairs":
        hadamard = np.array(EXTRA["hadamard_apipairs"])
    return replicates_create(
        design, method, fay_rho=spec.get("fay_rho") or 0.0, hadamard=hadamard, mse=spec["mse"]
    )


def build_design(case: dict[str, Any]) -> SurveyDesign | ReplicateDesign:
    design = base_design(case)
    if case["calibration"] is not None:
        design = calibrate(design, case["data"], case["calibration"]).design
    if case.get("replicates") is not None:
        return replicated(design, case)
    return design


def estimate_case(case: dict[str, Any]) -> dict[tuple[str, ...] | None, CellEstimate]:
    data = load_data(case["data"])
    design = build_design(case)
    by_columns = as_list(case["by"])
    by = None if by_columns is None else [data[column] for column in by_columns]
    y = numeric(data[case["variable"]])
    level = case["level"]
    if case["statistic"] == "mean":
        cells = estimate_mean(design, y, var=case["variable"], by=by, level=level)
    elif case["statistic"] == "total":
        cells = estimate_total(design, y, var=case["variable"], by=by, level=level)
    elif case["statistic"] == "ratio":
        x = numeric(data[case["denominator"]])
        cells = estimate_ratio(design, y, x, var=case["variable"], by=by, level=level)
    else:
        cells = estimate_proportion(
            design, y, var=case["variable"], by=by, ci=case["ci_method"], level=level
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


def asin_clipped(case: dict[str, Any], result: dict[str, Any]) -> bool:
    """R maps a negative arcsine bound through sin(.)^2 unclipped; ours clips it."""
    if case["ci_method"] != "asin" or result["ci_low"] is None:
        return False
    return not result["ci_low"] <= result["estimate"] <= result["ci_high"]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_estimates_match_r(case: dict[str, Any]) -> None:
    cells = estimate_case(case)
    assert len(cells) == len(case["results"]), "domains differ from svyby's"
    rtol_ci = RTOL_LIKELIHOOD if case["ci_method"] == "likelihood" else RTOL
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
        for field in ("estimate", "se", "weighted_n"):
            assert_close(getattr(cell, field), result[field], f"{where} {field}")
        for field in ("deff", "deff_replace"):
            if result.get(field) is not None:
                assert_close(getattr(cell, field), result[field], f"{where} {field}")
        if is_boundary_beta(case, result) or asin_clipped(case, result):
            assert 0.0 <= cell.ci_low <= cell.estimate <= cell.ci_high <= 1.0
            continue
        assert_close(cell.ci_low, result["ci_low"], f"{where} ci_low", rtol_ci)
        assert_close(cell.ci_high, result["ci_high"], f"{where} ci_high", rtol_ci)


@pytest.mark.parametrize("case", PROPORTION_CASES, ids=[case["id"] for case in PROPORTION_CASES])
def test_proportion_interval_formula_matches_r(case: dict[str, Any]) -> None:
    results = [
        r for r in case["results"]
        if r["se"] is not None and not is_boundary_beta(case, r) and not asin_clipped(case, r)
    ]
    sizes = "n" if case["ci_method"] == "wilson" else "n_domain"
    low, high = proportion_ci(
        case["ci_method"],
        np.array([r["estimate"] for r in results]),
        np.array([r["se"] for r in results]),
        np.array([r["df"] for r in results]),
        np.array([r[sizes] for r in results]),
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
    uncalibrated = base_design(case)
    result = calibrate(uncalibrated, case["data"], name)
    expected = np.array(REFERENCE["calibrations"][name]["weights"])
    assert result.converged
    assert result.max_rel_error <= 1e-12
    np.testing.assert_allclose(result.weights, expected, rtol=RTOL, atol=0)
    assert not np.allclose(result.weights, uncalibrated.weights, rtol=1e-3)


@pytest.mark.parametrize("contrast", EXTRA["contrasts"], ids=[c["id"] for c in EXTRA["contrasts"]])
def test_domain_contrasts_match_r_svycontrast(contrast: dict[str, Any]) -> None:
    data = load_data(contrast["data"])
    design = build_design({**contrast, "by": None})
    y = numeric(data[contrast["variable"]])
    for result in contrast["results"]:
        ours = estimate_contrast(
            design, y, by=data[contrast["by"]], contrast=result["coefficients"],
            statistic=contrast["statistic"], var=contrast["variable"],
        )
        assert_close(ours.estimate, result["estimate"], f"{contrast['id']} estimate")
        assert_close(ours.se, result["se"], f"{contrast['id']} se")
        assert ours.df == contrast["df"]
        assert ours.ci_low < ours.estimate < ours.ci_high
        assert 0.0 <= ours.p_value <= 1.0


def test_difference_between_independent_samples_matches_the_welch_formula() -> None:
    waves = EXTRA["waves"]
    cells = {case["id"]: estimate_case(case)[None] for case in CASES
             if case["id"] in (waves["current"], waves["previous"])}
    difference = estimate_difference(cells[waves["current"]], cells[waves["previous"]])
    assert_close(difference.estimate, waves["estimate"], "estimate")
    assert_close(difference.se, waves["se"], "se")
    assert_close(difference.df, waves["df"], "df")


def test_nonresponse_adjustment_matches_r_post_stratification_of_respondents() -> None:
    spec = EXTRA["nonresponse"]
    data = load_data(spec["data"])
    result = weights_nonresponse(
        numeric(data[spec["weights"]]), numeric(data[spec["responded"]]),
        [data[c] for c in spec["classes"]],
    )
    ids = numeric(data["id"]).astype(int)
    position = {identifier: row for row, identifier in enumerate(ids)}
    ours = result.weights[[position[i] for i in spec["respondent_ids"]]]
    np.testing.assert_allclose(ours, spec["adjusted_weights"], rtol=1e-12, atol=0)
    responded = numeric(data[spec["responded"]]) == 1
    assert (result.weights[~responded] == 0).all()
    assert result.weights.sum() == pytest.approx(numeric(data[spec["weights"]]).sum(), rel=1e-12)


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
         case["by"] is not None,
         None if case.get("replicates") is None else case["replicates"]["method"])
        for case in CASES
    }
    assert {c[1] for c in covered if c[0] == "proportion"} == {
        "logit", "wald", "mean", "beta", "likelihood", "asin", "wilson"
    }
    assert {c[2] for c in covered} == {"fail", "remove", "certainty", "adjust", "average"}
    assert {c[3] for c in covered} == {None, "raking", "poststratification", "linear", "logit"}
    assert {c[0] for c in covered if c[4]} == {"mean", "total", "proportion", "ratio"}
    assert {c[5] for c in covered} == {None, "jk1", "jkn", "brr", "fay", "multipliers"}
    designs = [case["design"] for case in CASES]
    assert any(isinstance(d["fpc"], list) for d in designs)  # multistage FPC
    assert any(d.get("certainty") for d in designs)
    calibrations = REFERENCE["calibrations"].values()
    assert any(c.get("bounds") for c in calibrations) and any(c.get("trim") for c in calibrations)
    assert any(c.get("numeric") for c in calibrations)
    assert any(c["replicates"] and c["replicates"]["mse"] for c in CASES)
