"""Benchmark of report generation on a demo county scaled to about 10,000 responses per wave.

Run by hand (not part of the test suite)::

    .venv/bin/python bench/reports.py [--db /tmp/suyang-bench.sqlite3] [--rebuild]
                                      [--output bench/results/reports.txt]

It builds (once; the database file is kept for later runs) the demo county with 108 PSUs of
125 households per wave instead of 72 of 15, so that each of the four household waves has
about 13,500 sampled households and 10,000 completed interviews, plus the demo's enterprise
survey; then times, each in a fresh process (nothing cached in memory):

1. the county report of 2025 as PDF the way it is first asked for: after the weighting runs,
   whose `reports.estimates_store` jobs stored each year's report figures (the job's own time
   is case 4);
2. the same from nothing stored (after an upgrade that changes the estimation, until
   `manage.py estimates_store` runs): the builder loads the 2025 wave and every earlier wave
   its trends show;
3. the full batch, county + every town + every population group, each as PDF, XLSX and CSV,
   packed into one ZIP, after the weighting runs and from nothing stored;
4. the `reports.estimates_store` job of the 2025 wave (run after its weighting, in the
   background), the earlier years' figures stored.

Targets (issue 7): the county report under 5 s, the full batch under 60 s, on a 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PSU_TOTAL, HOUSEHOLDS_PER_PSU = 108, 125


def setup(db: Path, media: Path | None = None) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    django.setup()
    settings.MEDIA_ROOT = str(media or Path(tempfile.mkdtemp(prefix="suyang-bench-media-")))
    settings.SUYANG_JOB_BACKEND = "inline"


def build(db: Path) -> dict[str, Any]:
    """Build the scaled demo county into DB; return the build's timings."""
    setup(db)
    from django.core.management import call_command

    from assessment.demo.build import DemoBuilder
    from assessment.demo.enterprise import enterprise_surveys_build
    from assessment.models import Wave
    from assessment.weighting import weight_set_compute
    from questionnaires.models import ScoringKey
    from questionnaires.services import responses_score

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    builder = DemoBuilder(log=lambda line: print(line, flush=True), psu_total=PSU_TOTAL, households_per_psu=HOUSEHOLDS_PER_PSU)
    result = builder.build()
    for key in ScoringKey.objects.filter(status="published"):
        responses_score(key=key)
    for wave in Wave.objects.filter(county=result.county, kind=Wave.Kind.HOUSEHOLD):
        for code in ("science_literacy", "health_literacy"):
            weight_set_compute(wave=wave, instrument_code=code, store_estimates=False)  # measure() stores them
    enterprise_surveys_build(result.county, population=builder.pop, log=lambda line: print(line, flush=True), store_estimates=False)
    return {"build_s": time.perf_counter() - started}


def measure(db: Path, what: str) -> dict[str, Any]:
    """Time one case in this (fresh) process; print its result as JSON."""
    setup(db)
    from assessment.models import Wave
    from questionnaires.models import Response
    from reports.builders import build_report
    from reports.estimates import Estimates
    from reports.models import EstimateSnapshot, Report, ReportBatch
    from reports.pdf import render_pdf
    from reports.services import estimates_store, report_batch_start, report_file

    wave = Wave.objects.get(code="2025")
    Report.objects.all().delete()
    ReportBatch.objects.all().delete()
    EstimateSnapshot.objects.all().delete()
    stored = not what.endswith("-nothing-stored")
    if stored:
        # What the weighting runs' jobs left: every year's report figures (2025's too, except
        # when the job itself is the case measured).
        for each in Wave.objects.filter(county=wave.county, kind=Wave.Kind.HOUSEHOLD).order_by("year"):
            if each.pk != wave.pk or what != "store":
                estimates_store(wave=each)
    responses = {
        code: Response.objects.filter(wave=wave, instrument_version__instrument__code=code).count()
        for code in ("science_literacy", "health_literacy")
    }
    out: dict[str, Any] = {"case": what, "responses": responses, "load": os.getloadavg()[0]}
    started, cpu = time.perf_counter(), time.process_time()
    if what == "store":
        out["tables"] = estimates_store(wave=wave)
        out["total_s"], out["cpu_s"] = time.perf_counter() - started, time.process_time() - cpu
    elif what.startswith("county"):
        report = report_file(wave=wave)
        out["total_s"], out["cpu_s"] = time.perf_counter() - started, time.process_time() - cpu
        out["pages_kb"] = report.file.size // 1024
        # The same again, split into building and drawing (the estimates now in memory are not reused).
        estimates = Estimates(snapshots=stored)
        t0 = time.perf_counter()
        data = build_report(wave, estimates=estimates)
        t1 = time.perf_counter()
        render_pdf(data)
        out["build_s"], out["render_s"] = t1 - t0, time.perf_counter() - t1
    else:
        batch = report_batch_start(wave=wave, background=False)
        out["total_s"], out["cpu_s"] = time.perf_counter() - started, time.process_time() - cpu
        out["reports"], out["files"] = batch.total, Report.objects.filter(batch=batch).count()
        out["zip_kb"] = batch.archive.size // 1024
        out["status"] = batch.status
    return out


def machine() -> str:
    load = os.getloadavg()[0]
    return f"{platform.node()} ({os.cpu_count()} cores, load average {load:.1f} at start), Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "suyang-bench-reports.sqlite3")
    parser.add_argument("--rebuild", action="store_true", help="build the scaled county again even if the database exists")
    parser.add_argument("--output", type=Path, help="also write the results here")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(build(args.db) if args.measure == "build" else measure(args.db, args.measure)))
        return
    lines = [f"Report benchmark, {time.strftime('%Y-%m-%d %H:%M')} on {machine()}"]
    if args.rebuild or not args.db.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
        done = subprocess.run([sys.executable, __file__, "--db", str(args.db), "--measure", "build"], check=True, capture_output=True, text=True, cwd=ROOT)
        built = json.loads(done.stdout.strip().splitlines()[-1])
        lines.append(f"scaled demo county built in {built['build_s']:.0f} s ({PSU_TOTAL} PSUs x {HOUSEHOLDS_PER_PSU} households per wave)")
    else:  # a database kept from an earlier run: bring it to the code's migrations
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], check=True, cwd=ROOT,
                       env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": f"sqlite:///{args.db}"})
    results = []
    for case in ("county", "county-nothing-stored", "batch", "batch-nothing-stored", "store"):
        done = subprocess.run([sys.executable, __file__, "--db", str(args.db), "--measure", case], check=True, capture_output=True, text=True, cwd=ROOT)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    sizes = results[0]["responses"]
    lines.append(
        f"data: wave 2025 with {sizes['science_literacy']:,} science-literacy and {sizes['health_literacy']:,} health-literacy "
        "responses (and demographics); 2022-2024 of the same size; the enterprise survey as in the demo (about 530 workers a year)"
    )
    lines.append(
        "each case in a fresh process; wall-clock seconds, then the process's CPU seconds (user + system: what the"
        " case costs on an otherwise idle machine; the machine is shared, see the load average at each case's start)"
    )
    lines.append("")
    names = {
        "county": "county report (PDF), after the weighting runs",
        "county-nothing-stored": "county report (PDF), nothing stored",
        "batch": "full batch: 15 reports x PDF+XLSX+CSV, ZIP, after weighting",
        "batch-nothing-stored": "full batch, nothing stored",
        "store": "estimates_store job of 2025 (background, after weighting)",
    }
    for r in results:
        detail = ""
        if "build_s" in r:
            detail = f"   (build {r['build_s']:.2f} s + draw {r['render_s']:.2f} s; {r['pages_kb']} KB)"
        elif "files" in r:
            detail = f"   ({r['reports']} reports, {r['files']} files, ZIP {r['zip_kb']} KB, {r['status']})"
        elif "tables" in r:
            detail = f"   ({r['tables']} estimate tables stored)"
        lines.append(f"  {names[r['case']]:<58} {r['total_s']:6.2f} s  CPU {r['cpu_s']:6.2f} s  load {r['load']:.1f}{detail}")
    target = {"county": 5.0, "batch": 60.0}
    lines.append("")
    for case, limit in target.items():
        rows = [r for r in results if r["case"].startswith(case)]
        lines.append(
            f"target {case}: under {limit:.0f} s; wall {min(r['total_s'] for r in rows):.2f}-{max(r['total_s'] for r in rows):.2f} s, "
            f"CPU {min(r['cpu_s'] for r in rows):.2f}-{max(r['cpu_s'] for r in rows):.2f} s"
        )
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)


if __name__ == "__main__":
    main()
