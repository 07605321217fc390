"""Benchmark of the estimation engine against R ``survey`` and the PyPI package ``svy``.

Run by hand (not part of the test suite)::

    .venv/bin/python bench/estimation.py [--rows 1000000] [--psus 2000] [--strata 50]
                                          [--repeat 3] [--output bench/results/estimation.txt]

It writes a synthetic stratified two-stage sample (``--rows`` respondents, ``--strata``
strata = towns x urban/rural, ``--psus`` villages, 5 groups, a 0/1 outcome) and its census
margins to CSV files in a temporary directory, then times whole processes on the same
machine, each reading the CSV file itself:

1. the weighted proportion by group with Taylor (linearisation) standard errors:
   ``python -m scoring estimate``; R ``fread`` + ``svydesign`` + ``svyby(~y, ~group,
   svymean)``; ``svy`` ``read_csv`` + ``Sample`` + ``estimation.mean("y", by="group")``;
2. the same after raking to four margins (town, sex x age group, urban/rural, education):
   ``--calibrate raking``; R ``calibrate(calfun = "raking")``; ``svy`` ``weighting.rake``.

Each command runs ``--repeat`` times (interleaved); the median wall time and the peak
resident memory of the process (``wait4``'s ``ru_maxrss``) are reported, with the ratios to
ours. The results of the three programs are compared as a check. The machine is shared, so
the user + system CPU time of each process is reported too.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
MARGINS = ("town", "sexage", "urban", "edu")


def synthetic_sample(rows: int, psus: int, strata: int, seed: int = 1) -> dict[str, np.ndarray]:
    """Return columns of a stratified two-stage sample with villages of varying size."""
    rng = np.random.default_rng(seed)
    psu = np.sort(rng.integers(0, psus, rows))
    stratum_of_psu = np.arange(psus) * strata // psus
    stratum = stratum_of_psu[psu]
    town = stratum // 2
    urban = stratum % 2
    pi = rng.uniform(0.002, 0.02, psus)[psu] * rng.uniform(0.5, 1.0, rows)
    sex = rng.integers(0, 2, rows)
    age = rng.integers(0, 5, rows)
    edu = np.minimum(3, rng.poisson(1.0 + urban, rows))
    group = rng.integers(0, 5, rows)
    village_effect = rng.normal(0, 0.5, psus)[psu]
    score = 50 + 7 * edu + 3 * urban - 2 * age + 3 * group + 8 * village_effect + rng.normal(0, 12, rows)
    return {
        "stratum": np.char.add("S", stratum.astype(str)),
        "psu": np.char.add("V", psu.astype(str)),
        "w": np.round(1.0 / pi, 4),
        "group": np.char.add("G", group.astype(str)),
        "y": (score >= 70).astype(int),
        "town": np.char.add("T", town.astype(str)),
        "sexage": np.char.add(np.where(sex == 1, "M", "F"), age.astype(str)),
        "urban": np.where(urban == 1, "U", "R"),
        "edu": np.char.add("E", edu.astype(str)),
    }


def write_data(path: Path, data: dict[str, np.ndarray]) -> None:
    """Write the columns as a plain CSV file."""
    columns = list(data)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(columns) + "\n")
        text = [data[c].astype(str) for c in columns]
        step = 200_000
        for start in range(0, len(text[0]), step):
            block = zip(*(c[start:start + step] for c in text))
            handle.write("\n".join(",".join(row) for row in block) + "\n")


def write_margins(path: Path, data: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Write census margins near the weighted sample totals, all with the same grand total."""
    rng = np.random.default_rng(2)
    weights = data["w"]
    grand = float(weights.sum())
    margins: dict[str, dict[str, float]] = {}
    for name in MARGINS:
        levels, codes = np.unique(data[name], return_inverse=True)
        totals = np.bincount(codes, weights) * rng.uniform(0.9, 1.1, levels.size)
        totals = np.round(totals * grand / totals.sum(), 3)
        totals[-1] = round(grand - totals[:-1].sum(), 3)
        margins[name] = dict(zip(levels.tolist(), totals.tolist()))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variable", "level", "total"])
        for name, totals in margins.items():
            for level, total in totals.items():
                writer.writerow([name, level, repr(total)])
    return margins


R_TAYLOR = """
suppressPackageStartupMessages({library(survey); library(data.table)})
args <- commandArgs(trailingOnly = TRUE)
d <- as.data.frame(fread(args[1]))
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = d)
r <- svyby(~y, ~group, des, svymean)
write.csv(data.frame(group = r$group, estimate = coef(r), se = SE(r)), args[2], row.names = FALSE)
"""

R_RAKING = """
suppressPackageStartupMessages({library(survey); library(data.table)})
args <- commandArgs(trailingOnly = TRUE)
d <- as.data.frame(fread(args[1]))
m <- as.data.frame(fread(args[3], colClasses = c("character", "character", "numeric")))
pop <- c(`(Intercept)` = sum(m$total[m$variable == "town"]))
for (v in c("town", "sexage", "urban", "edu")) {
  levels_v <- m$level[m$variable == v]
  d[[v]] <- factor(d[[v]], levels = levels_v)
  t <- m$total[m$variable == v]
  names(t) <- paste0(v, levels_v)
  pop <- c(pop, t[-1])
}
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = d)
rk <- calibrate(des, ~town + sexage + urban + edu, pop, calfun = "raking", epsilon = 1e-10,
                maxit = 200)
r <- svyby(~y, ~group, rk, svymean)
write.csv(data.frame(group = r$group, estimate = coef(r), se = SE(r)), args[2], row.names = FALSE)
"""

SVY_TAYLOR = """
import csv, json, sys
import svy
data = svy.read_csv(sys.argv[1])
sample = svy.Sample(data, svy.Design(stratum="stratum", psu="psu", wgt="w"))
if len(sys.argv) > 3:
    controls = {}
    with open(sys.argv[3], newline="") as handle:
        for row in csv.DictReader(handle):
            controls.setdefault(row["variable"], {})[row["level"]] = float(row["total"])
    sample = sample.weighting.rake(controls=controls, wgt_name="rk_wgt", tol=1e-10, max_iter=1000)
result = sample.estimation.mean("y", by="group").to_polars()
rows = [{"group": r["group"], "estimate": r["est"], "se": r["se"]} for r in result.iter_rows(named=True)]
with open(sys.argv[2], "w") as handle:
    json.dump(rows, handle)
"""


@dataclass
class Timing:
    """One process run."""

    wall: float
    cpu: float
    max_rss_mb: float
    returncode: int
    stderr: str


def run(command: list[str], cwd: Path, stdout: Path | None = None) -> Timing:
    """Run a command as a child process; return its wall time, CPU time and peak memory.

    The command runs under ``/usr/bin/time`` (when present), which measures its own small
    child; ``wait4`` on a child forked from this (large) process would count the pages it
    shares with us before ``exec``.
    """
    measure = shutil.which("time") or "/usr/bin/time"
    report = cwd / "time.txt"
    wrapped = ([measure, "-f", "%e %U %S %M", "-o", str(report), *command]
               if Path(measure).exists() else command)
    start = time.perf_counter()
    with (stdout.open("w", encoding="utf-8") if stdout else open(os.devnull, "w")) as out:
        completed = subprocess.run(wrapped, cwd=cwd, stdout=out, stderr=subprocess.PIPE,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    wall = time.perf_counter() - start
    cpu, memory = float("nan"), float("nan")
    if wrapped is not command and report.exists():
        fields = report.read_text(encoding="utf-8").split()[-4:]
        wall, cpu, memory = float(fields[0]), float(fields[1]) + float(fields[2]), float(fields[3]) / 1024
    return Timing(wall=wall, cpu=cpu, max_rss_mb=memory, returncode=completed.returncode,
                  stderr=completed.stderr.decode("utf-8", "replace")[-500:])


def read_results(path: Path) -> dict[str, tuple[float, float]]:
    """Return {group: (estimate, se)} from a CSV or JSON result file."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        records = json.loads(text)
        out = {}
        for r in records:
            group = r["domain"]["group"] if isinstance(r.get("domain"), dict) else r["group"]
            out[str(group)] = (float(r["estimate"]), float(r["se"]))
        return out
    return {row["group"]: (float(row["estimate"]), float(row["se"]))
            for row in csv.DictReader(text.splitlines())}


def max_relative_difference(a: dict[str, tuple[float, float]],
                            b: dict[str, tuple[float, float]]) -> tuple[float, float]:
    keys = sorted(set(a) & set(b))
    if not keys or len(keys) != len(a):
        return float("nan"), float("nan")
    est = max(abs(a[k][0] - b[k][0]) / abs(b[k][0]) for k in keys)
    se = max(abs(a[k][1] - b[k][1]) / abs(b[k][1]) for k in keys)
    return est, se


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--psus", type=int, default=2_000)
    parser.add_argument("--strata", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "estimation.txt")
    parser.add_argument("--keep", action="store_true", help="keep the temporary files")
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        data = synthetic_sample(args.rows, args.psus, args.strata)
        write_data(args.make / "sample.csv", data)
        write_margins(args.make / "margins.csv", data)
        levels = {m: int(np.unique(data[m]).size) for m in MARGINS}
        (args.make / "levels.json").write_text(json.dumps(levels), encoding="utf-8")
        return

    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    work = Path(tempfile.mkdtemp(prefix="suyang-bench-"))
    data_path, margins_path = work / "sample.csv", work / "margins.csv"
    # The sample is made by a child process, so that this one stays small while it runs others.
    subprocess.run([PYTHON, __file__, "--make", str(work), "--rows", str(args.rows),
                    "--psus", str(args.psus), "--strata", str(args.strata)], check=True)
    levels = json.loads((work / "levels.json").read_text(encoding="utf-8"))
    (work / "taylor.R").write_text(R_TAYLOR, encoding="utf-8")
    (work / "raking.R").write_text(R_RAKING, encoding="utf-8")
    (work / "svy_run.py").write_text(SVY_TAYLOR, encoding="utf-8")

    rscript = shutil.which("Rscript")
    r_version = subprocess.run([rscript, "-e", 'cat(R.version.string, "| survey",'
                                " as.character(packageVersion('survey')))"],
                               capture_output=True, text=True).stdout.strip() if rscript else "absent"
    svy_version = subprocess.run(
        [PYTHON, "-c", "import svy, polars; print('svy', svy.__version__, '| polars', polars.__version__)"],
        capture_output=True, text=True)
    say(f"Estimation benchmark, {time.strftime('%Y-%m-%d %H:%M')} on {platform.node()} "
        f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start)")
    say(f"python {platform.python_version()}, numpy {np.__version__}; {r_version}; "
        f"{svy_version.stdout.strip() or 'svy: ' + svy_version.stderr.strip()[-200:]}")
    say(f"data: {args.rows:,} respondents, {args.strata} strata, {args.psus:,} PSUs, 5 groups; "
        f"{data_path.stat().st_size / 1e6:.1f} MB CSV; 4 raking margins "
        f"({', '.join(f'{m} {levels[m]}' for m in MARGINS)} levels)")
    say(f"each process run {args.repeat} times, interleaved; median wall time, CPU = user + system "
        "time, memory = peak resident set size")
    say()

    design = ["--strata", "stratum", "--psu", "psu", "--weight", "w"]
    scenarios = {
        "Taylor SE of the proportion by group": {
            "ours": [PYTHON, "-m", "scoring", "estimate", str(data_path), "--var", "y", "--by",
                     "group", *design, "--format", "json"],
            "R survey": [rscript or "Rscript", str(work / "taylor.R"), str(data_path)],
            "svy": [PYTHON, str(work / "svy_run.py"), str(data_path)],
        },
        "raking to 4 margins, then the same": {
            "ours": [PYTHON, "-m", "scoring", "estimate", str(data_path), "--var", "y", "--by",
                     "group", *design, "--calibrate", "raking", "--margins", str(margins_path),
                     "--format", "json"],
            "R survey": [rscript or "Rscript", str(work / "raking.R"), str(data_path)],
            "svy": [PYTHON, str(work / "svy_run.py"), str(data_path)],
        },
    }
    for title, commands in scenarios.items():
        outputs = {name: work / f"{title[:6].strip()}-{name.replace(' ', '_')}.out"
                   for name in commands}
        # Output paths (and the margins for R and svy) are appended per program.
        full = {}
        for name, command in commands.items():
            if name == "ours":
                full[name] = command
            elif name == "R survey":
                full[name] = [*command, str(outputs[name])] + (
                    [str(margins_path)] if "raking" in title else [])
            else:
                full[name] = [*command, str(outputs[name])] + (
                    [str(margins_path)] if "raking" in title else [])
        timings: dict[str, list[Timing]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in full.items():
                if name == "ours":
                    timings[name].append(run(command, ROOT, stdout=outputs[name]))
                else:
                    timings[name].append(run(command, work))
        say(f"== {title}")
        say(f"  {'program':<10} {'wall s':>8} {'(min)':>8} {'CPU s':>8} {'peak MB':>9} "
            f"{'wall ratio':>11} {'CPU ratio':>10}")
        ours_wall = statistics.median(t.wall for t in timings["ours"])
        ours_cpu = statistics.median(t.cpu for t in timings["ours"])
        for name, runs in timings.items():
            failed = [t for t in runs if t.returncode != 0]
            if failed:
                say(f"  {name:<10} FAILED (exit {failed[0].returncode}): "
                    f"{' '.join(failed[0].stderr.split())[-300:]}")
                continue
            wall = statistics.median(t.wall for t in runs)
            cpu = statistics.median(t.cpu for t in runs)
            memory = max(t.max_rss_mb for t in runs)
            say(f"  {name:<10} {wall:8.2f} {min(t.wall for t in runs):8.2f} {cpu:8.2f} "
                f"{memory:9.0f} {wall / ours_wall:10.1f}x {cpu / ours_cpu:9.1f}x")
        reference = read_results(outputs["ours"])
        for name in ("R survey", "svy"):
            if outputs[name].exists():
                est, se = max_relative_difference(read_results(outputs[name]), reference)
                say(f"  agreement with ours, {name}: max relative difference estimate {est:.1e}, "
                    f"SE {se:.1e}")
        say()
    say("ratios are the other program's time over ours (above 1: ours is faster)")
    if args.keep:
        say(f"files kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
