"""The command line ``python -m scoring``: results equal R's, bad input exits 2 with one line.

Every command runs as a real subprocess; they are started together (the interpreter start-up
dominates) and each test checks one of them.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).parent / "results"
REFERENCE: dict[str, Any] = json.loads((RESULTS / "reference.json").read_text(encoding="utf-8"))
CASES = {case["id"]: case for case in REFERENCE["cases"]}
COUNTY = str(RESULTS / "county.csv")
MARGINS = str(RESULTS / "county_margins.csv")
COUNTY_DESIGN = ["--strata", "stratum", "--psu", "village", "--weight", "w",
                 "--fpc", "N_villages", "--lonely-psu", "adjust"]


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


def _inputs(directory: Path) -> dict[str, str]:
    """Write the small bad-input files; return their paths."""
    paths = {}
    bad_weight = directory / "bad_weight.csv"
    bad_weight.write_text("s,p,w,y\nA,1,10,1\nA,2,abc,0\nB,3,5,1\nB,4,5,0\n", encoding="utf-8")
    paths["bad_weight"] = str(bad_weight)
    with open(MARGINS, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    absent = directory / "absent_level.csv"
    with absent.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["variable", "level", "total"])
        writer.writeheader()
        writer.writerows(rows)
        writer.writerow({"variable": "edu", "level": "doctorate", "total": "10"})
    paths["absent_level"] = str(absent)
    disagree = directory / "disagree.csv"
    with disagree.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["variable", "level", "total"])
        writer.writeheader()
        for row in rows:
            if row["variable"] == "urban" and row["level"] == "R":
                row = {**row, "total": str(float(row["total"]) + 5000)}
            writer.writerow(row)
    paths["disagree"] = str(disagree)
    missing_level = directory / "missing_level.csv"
    with missing_level.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["variable", "level", "total"])
        writer.writeheader()
        writer.writerows(r for r in rows if not (r["variable"] == "town" and r["level"] == "T6"))
    paths["missing_level"] = str(missing_level)
    return paths


def _commands(paths: dict[str, str], output: Path) -> dict[str, list[str]]:
    raked = [*COUNTY_DESIGN, "--calibrate", "raking", "--margins", MARGINS]
    return {
        "raked_by_town": ["estimate", COUNTY, "--var", "literate", "--by", "town", *raked],
        "raked_by_sex_agegrp_csv": ["estimate", COUNTY, "--var", "literate", "--var", "score",
                                    "--by", "sex", "--by", "agegrp", *raked, "--format", "csv"],
        "total_by_urban": ["estimate", COUNTY, "--var", "literate", "--by", "urban",
                           "--stat", "total", *COUNTY_DESIGN],
        "beta_overall": ["estimate", COUNTY, "--var", "literate", "--ci", "beta", *raked],
        "likelihood_by_edu": ["estimate", COUNTY, "--var", "literate", "--by", "edu",
                              "--ci", "likelihood", *raked],
        "jkn_raked": ["estimate", COUNTY, "--var", "literate", "--by", "town", *raked,
                      "--replicates", "jkn"],
        "bootstrap_file": ["estimate", COUNTY, "--var", "literate", "--by", "town", *raked,
                           "--replicates", str(RESULTS / "county_bootstrap.csv"),
                           "--replicate-scale",
                           repr(CASES["county_bootstrap_raked_adjust_prop_literate_by_town_logit"]
                                ["replicates"]["scale"])],
        "weights": ["weights", COUNTY, *raked, "--id", "id", "--output", str(output)],
        "help": ["estimate", "--help"],
        "bad_column": ["estimate", COUNTY, "--var", "literacy", *COUNTY_DESIGN],
        "bad_weight": ["estimate", paths["bad_weight"], "--var", "y", "--strata", "s",
                       "--psu", "p", "--weight", "w"],
        "absent_level": ["estimate", COUNTY, "--var", "literate", *COUNTY_DESIGN,
                         "--calibrate", "raking", "--margins", paths["absent_level"]],
        "missing_level": ["estimate", COUNTY, "--var", "literate", *COUNTY_DESIGN,
                          "--calibrate", "raking", "--margins", paths["missing_level"]],
        "disagree": ["estimate", COUNTY, "--var", "literate", *COUNTY_DESIGN,
                     "--calibrate", "raking", "--margins", paths["disagree"]],
        "singleton": ["estimate", COUNTY, "--var", "literate", "--strata", "stratum",
                      "--psu", "village", "--weight", "w", "--fpc", "N_villages"],
        "bad_replicates": ["estimate", COUNTY, "--var", "literate", *COUNTY_DESIGN,
                           "--replicates", "halfsample"],
        "no_margins": ["estimate", COUNTY, "--var", "literate", *COUNTY_DESIGN,
                       "--calibrate", "raking"],
        "no_file": ["estimate", str(RESULTS / "nowhere.csv"), "--var", "y"],
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    directory = tmp_path_factory.mktemp("cli")
    paths = _inputs(directory)
    output = directory / "weights.csv"
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "scoring", *arguments], cwd=ROOT, env=environment,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name, arguments in _commands(paths, output).items()
    }
    results = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=120)
        results[name] = Run(process.returncode, stdout, stderr)
    results["weights_file"] = Run(0, output.read_text(encoding="utf-8") if output.exists() else "",
                                  "")
    return results


def close(ours: float | None, reference: float | None, rtol: float = 1e-9) -> bool:
    if reference is None or ours is None:
        return reference is None and (ours is None or math.isnan(ours))
    return abs(ours - reference) <= rtol * max(abs(reference), 1e-300)


def domain_of(result: dict[str, Any], by: list[str]) -> dict[str, str] | None:
    if result["domain"] is None:
        return None
    labels = [result["domain"]] if isinstance(result["domain"], str) else result["domain"]
    return dict(zip(by, labels))


def by_domain(records: list[dict[str, Any]], case_id: str, by: list[str]) -> list[
        tuple[dict[str, Any], dict[str, Any]]]:
    """Pair our records with R's results by domain (R orders factor levels its own way)."""
    results = CASES[case_id]["results"]
    assert len(records) == len(results)
    ours = {json.dumps(record["domain"], sort_keys=True): record for record in records}
    return [(ours[json.dumps(domain_of(result, by), sort_keys=True)], result)
            for result in results]


def assert_matches_case(records: list[dict[str, Any]], case_id: str, by: list[str]) -> None:
    for record, result in by_domain(records, case_id, by):
        for key in ("estimate", "se", "ci_low", "ci_high", "deff"):
            assert close(record[key], result[key]), (case_id, key, record[key], result[key])
        assert record["df"] == result["df"] and record["n"] == result["n"]
        assert close(record["n_eff"], result["n"] / result["deff"])
        assert close(record["cv"], result["se"] / abs(result["estimate"]))
        assert record["reliable"] == (result["n"] >= 30 and result["se"] / result["estimate"] <= 0.3)


def test_json_output_has_exactly_the_documented_keys(runs: dict[str, Run]) -> None:
    run = runs["raked_by_town"]
    assert run.returncode == 0, run.stderr
    records = json.loads(run.stdout)
    assert all(list(r) == ["var", "domain", "estimate", "se", "ci_low", "ci_high", "df", "deff",
                           "n", "n_eff", "cv", "reliable"] for r in records)
    assert run.stderr == ""


def test_raked_proportions_by_domain_equal_r(runs: dict[str, Run]) -> None:
    records = json.loads(runs["raked_by_town"].stdout)
    assert_matches_case(records, "county_raked_adjust_prop_literate_by_town_logit", ["town"])


def test_totals_and_other_intervals_equal_r(runs: dict[str, Run]) -> None:
    assert_matches_case(json.loads(runs["total_by_urban"].stdout),
                        "county_adjust_total_literate_by_urban", ["urban"])
    assert_matches_case(json.loads(runs["beta_overall"].stdout),
                        "county_raked_adjust_prop_literate_beta", [])
    records = json.loads(runs["likelihood_by_edu"].stdout)
    for record, result in by_domain(records, "county_raked_adjust_prop_literate_by_edu_likelihood",
                                    ["edu"]):
        assert close(record["ci_low"], result["ci_low"], 1e-8)
        assert close(record["ci_high"], result["ci_high"], 1e-8)


def test_replicate_variance_from_the_command_line_equals_r(runs: dict[str, Run]) -> None:
    assert_matches_case(json.loads(runs["jkn_raked"].stdout),
                        "county_jkn_raked_adjust_prop_literate_by_town_logit", ["town"])
    assert_matches_case(json.loads(runs["bootstrap_file"].stdout),
                        "county_bootstrap_raked_adjust_prop_literate_by_town_logit", ["town"])


def test_csv_output_has_one_column_per_grouping_variable(runs: dict[str, Run]) -> None:
    run = runs["raked_by_sex_agegrp_csv"]
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(run.stdout.splitlines()))
    assert list(rows[0]) == ["var", "sex", "agegrp", "estimate", "se", "ci_low", "ci_high", "df",
                             "deff", "n", "n_eff", "cv", "reliable"]
    literate = {(r["sex"], r["agegrp"]): r for r in rows if r["var"] == "literate"}
    reference = CASES["county_raked_adjust_prop_literate_by_sex_agegrp_logit"]["results"]
    assert len(literate) == len(reference)
    # Domains come sorted by their labels, first grouping variable first.
    assert list(literate) == sorted(literate)
    for result in reference:
        row = literate[tuple(result["domain"])]
        assert close(float(row["estimate"]), result["estimate"])
        assert close(float(row["ci_low"]), result["ci_low"])
    # score is not 0/1: a mean with a Wald t interval, whatever --ci says.
    score = [r for r in rows if r["var"] == "score"]
    assert score and all(float(r["ci_low"]) < float(r["estimate"]) < float(r["ci_high"])
                         for r in score)


def test_weights_command_writes_the_raked_weights(runs: dict[str, Run]) -> None:
    assert runs["weights"].returncode == 0, runs["weights"].stderr
    rows = list(csv.DictReader(runs["weights_file"].stdout.splitlines()))
    assert list(rows[0]) == ["id", "base_weight", "weight"]
    expected = REFERENCE["calibrations"]["county_raking"]["weights"]
    assert len(rows) == len(expected)
    for row, weight in zip(rows, expected):
        assert close(float(row["weight"]), weight)


def test_help_documents_the_interval_semantics(runs: dict[str, Run]) -> None:
    run = runs["help"]
    assert run.returncode == 0
    assert "--ci applies to proportions" in run.stdout
    assert "Wald t interval" in run.stdout


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad_column", "county.csv: no column 'literacy'"),
        ("bad_weight", "column 'w', row 2: 'abc' is not a number"),
        ("absent_level", "level 'doctorate' of 'edu' has a population total of 10 but no "
                         "respondents"),
        ("missing_level", "'town' = 'T6' occurs in county.csv but has no population total"),
        ("disagree", "disagree on the grand total"),
        ("singleton", "Stratum (T6-U) has only one PSU at stage 1"),
        ("bad_replicates", "--replicates 'halfsample'"),
        ("no_margins", "--calibrate raking needs --margins"),
        ("no_file", "nowhere.csv: cannot read the file"),
    ],
)
def test_bad_input_exits_2_with_one_line_on_stderr(
    runs: dict[str, Run], name: str, message: str
) -> None:
    run = runs[name]
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]
