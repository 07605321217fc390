"""Load benchmark: sustained response submissions per second against gunicorn (2 workers) on
PostgreSQL, with GET /api/v1/ping/ on the same stack as the yardstick, in one run.

    .venv/bin/python bench/load/run.py [--seconds 30] [--threads 4] [--invitations 5000]

Goal (issue 8): submissions at least 50% of the yardstick's rate, p99 under 250 ms, and
afterwards exactly one stored response per acknowledged submission.  Writes
bench/results/load.txt.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check import exactly_once, report_write, responses_check, verdict_lines  # noqa: E402
from load import Tally, ping_work, respondent_work, run_phase, summary  # noqa: E402
from stack import ROOT, CpuMeter, Gunicorn, Postgres, survey_started  # noqa: E402

SUBMISSIONS = {"demographics", "science_literacy"}


def line(name: str, s: dict[str, float]) -> str:
    return (f"{name:<28} {s['per_second']:8.1f}/s  p50 {s['p50_ms']:6.1f} ms  p99 {s['p99_ms']:6.1f} ms  "
            f"max {s['max_ms']:7.1f} ms  ({s['ok']} ok, {s['failed']} failed)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each measured phase")
    parser.add_argument("--threads", type=int, default=4, help="concurrent clients (closed loop)")
    parser.add_argument("--invitations", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-threads", type=int, default=1, help="threads per worker (>1: gthread workers)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "load.txt")
    args = parser.parse_args()

    pg = Postgres()
    gunicorn = None
    try:
        version = pg.version()
        print(f"PostgreSQL {version} in {pg.dir}; building the survey ({args.invitations} invitations)…", flush=True)
        env, survey = survey_started(pg, args.invitations)
        gunicorn = Gunicorn(env, workers=args.workers, threads=args.worker_threads)
        print(f"gunicorn ({args.workers} workers) on {gunicorn.base}", flush=True)
        tokens = iter(survey["tokens"])
        tally = Tally()
        # Warm-up (not counted): imports, compiled forms and keys cached in each worker.
        run_phase(gunicorn.base, ping_work(Tally()), seconds=2, threads=args.threads)
        run_phase(gunicorn.base, respondent_work(tally, tokens, survey["items"], seed=1), seconds=4, threads=args.threads)
        warm = len(tally.records)
        meter = CpuMeter(gunicorn.process.pid, pg.postmaster_pid())
        print("measuring the yardstick…", flush=True)
        c0 = meter.read()
        p0, p1, _ = run_phase(gunicorn.base, ping_work(tally), seconds=args.seconds, threads=args.threads)
        c1 = meter.read()
        print("measuring submissions…", flush=True)
        s0, s1, _ = run_phase(gunicorn.base, respondent_work(tally, tokens, survey["items"], seed=2),
                              seconds=args.seconds, threads=args.threads)
        c2 = meter.read()
        gunicorn.stop()
        gunicorn = None
        check = responses_check(pg.url, tally.acks)
    finally:
        if gunicorn is not None:
            gunicorn.stop()
        pg.remove()

    ping = summary(tally.records, p0, p1, {"ping"})
    subs = summary(tally.records, s0, s1, SUBMISSIONS)
    demo = summary(tally.records, s0, s1, {"demographics"})
    sci = summary(tally.records, s0, s1, {"science_literacy"})
    ratio = subs["per_second"] / ping["per_second"]

    def cpu_line(label: str, before: dict[str, float], after: dict[str, float], requests: float) -> str:
        return f"{label:<32} {CpuMeter.per_request(before, after, int(requests))}  (ms of CPU per request)"

    once = exactly_once(check)
    report = [
        f"# bench/load/run.py — {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), shared; Python {platform.python_version()}; "
        f"PostgreSQL {version} (fsync on, synchronous_commit on)",
        f"stack: gunicorn {args.workers} "
        f"{'sync workers' if args.worker_threads <= 1 else f'gthread workers of {args.worker_threads} threads'}, config.settings.production (DEBUG off, HTTPS via X-Forwarded-Proto), "
        f"persistent DB connections; {args.threads} closed-loop client threads on the same machine; "
        f"{args.seconds:.0f} s per phase after a warm-up ({warm} warm-up requests not counted)",
        "submission = POST /api/v1/invitations/<token>/responses/ (validated, stored, case disposition updated, "
        "science sheet scored at once: one read and one write statement); each respondent sends demographics "
        "(6 items) then science literacy (50 items), answer sheets drawn before the run",
        "CPU = user + system time of the gunicorn processes (web), the PostgreSQL server (database) and this "
        "process (load generator) over the phase, per request",
        "",
        line("yardstick GET /api/v1/ping/", ping),
        line("submissions (both kinds)", subs),
        line("  demographics", demo),
        line("  science_literacy", sci),
        cpu_line("CPU, yardstick", c0, c1, ping["requests"]),
        cpu_line("CPU, submissions", c1, c2, subs["requests"]),
        "",
        f"submissions / yardstick: {100 * ratio:.1f}%  (goal >= 50%: {'MET' if ratio >= 0.5 else 'NOT MET'})",
        f"submission p99: {subs['p99_ms']:.1f} ms  (goal < 250 ms: {'MET' if subs['p99_ms'] < 250 else 'NOT MET'})",
        *verdict_lines(check, tally.refused),
    ]
    report_write(report, args.out)
    return 0 if once and not tally.refused else 1


if __name__ == "__main__":
    sys.exit(main())
