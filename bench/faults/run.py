"""Fault benchmark: faults during a sustained submission load, then check that every
acknowledged response is stored exactly once.

    .venv/bin/python bench/faults/run.py [--seconds 50] [--threads 4]

The stack is bench/load's (PostgreSQL with fsync and synchronous commit on, gunicorn with 2
sync workers, production settings).  Clients behave like the respondent page: a submission is
retried with the same client id and body after a timeout, a dropped connection or a 5xx, until
it is acknowledged.  Scripted faults, at fixed seconds into the load:

1. kill -9 of a gunicorn worker (the master starts a new one);
2. PostgreSQL restarted (fast shutdown: open connections are cut);
3. PostgreSQL crashed (immediate shutdown, crash recovery on start);
4. client timeouts: for a while every third attempt gives up after 5 ms (well under a
   submission's p50), so the server stores a submission the client never hears about, and the
   retry must not make a second one.

Writes bench/results/faults.txt.
"""
from __future__ import annotations

import argparse
import datetime
import itertools
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "load"))

from check import exactly_once, report_write, responses_check, verdict_lines  # noqa: E402
from load import Tally, respondent_work, run_phase, summary  # noqa: E402
from stack import ROOT, Gunicorn, Postgres, survey_started  # noqa: E402

SHORT_TIMEOUT = 0.005  # seconds: the client gives up on these attempts, the server goes on


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=50.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--invitations", type=int, default=12000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "faults.txt")
    args = parser.parse_args()
    span = args.seconds

    pg = Postgres()
    gunicorn = None
    short_window = (0.22 * span, 0.38 * span)
    attempts = itertools.count()
    started = [0.0]

    def timeout_policy() -> float | None:
        elapsed = time.monotonic() - started[0]
        if short_window[0] <= elapsed < short_window[1] and next(attempts) % 3 == 0:
            return SHORT_TIMEOUT
        return None

    def kill_worker() -> str:
        assert gunicorn is not None
        return f"kill -9 gunicorn worker {gunicorn.kill_worker()}"

    def pg_restart(mode: str) -> str:
        t = time.monotonic()
        pg.restart(mode)
        return f"PostgreSQL {'restarted (fast)' if mode == 'fast' else 'crashed and restarted (immediate)'}, down {time.monotonic() - t:.1f} s"

    def window(edge: str) -> str:
        return f"client timeouts of {1000 * SHORT_TIMEOUT:.0f} ms on every third attempt {edge}"

    try:
        env, survey = survey_started(pg, args.invitations)
        version = pg.version()
        gunicorn = Gunicorn(env, workers=2)
        before = gunicorn.worker_pids()
        tally = Tally()
        print(f"PostgreSQL {version}; gunicorn workers {before}; {span:.0f} s of load with faults…", flush=True)
        events = [
            (0.12 * span, kill_worker),
            (0.50 * span, lambda: pg_restart("fast")),
            (0.70 * span, lambda: pg_restart("immediate")),
            (short_window[0], lambda: window("start")),
            (short_window[1], lambda: window("end")),
        ]
        started[0] = time.monotonic()
        start, end, happened = run_phase(
            gunicorn.base, respondent_work(tally, iter(survey["tokens"]), survey["items"], seed=3, timeout_policy=timeout_policy),
            seconds=span, threads=args.threads, events=events,
        )
        after = gunicorn.worker_pids()
        gunicorn.stop()
        gunicorn = None
        check = responses_check(pg.url, tally.acks)
    finally:
        if gunicorn is not None:
            gunicorn.stop()
        pg.remove()

    kinds = {"demographics", "science_literacy"}
    stats = summary(tally.records, start, end, kinds)
    failures = Counter(r.note or str(r.status) for r in tally.records if r.status not in (200, 201))
    retried = sum(1 for a in tally.acks if a.attempts > 1)
    once = exactly_once(check)
    report = [
        f"# bench/faults/run.py — {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"stack: PostgreSQL {version} (fsync on, synchronous_commit on), gunicorn 2 sync workers, "
        f"config.settings.production; {args.threads} client threads, {span:.0f} s of submissions",
        "",
        "faults (seconds into the load):",
        *[f"  {at:6.1f} s  {label}" for at, label in happened],
        f"  gunicorn workers before {before}, after {after}",
        "",
        f"attempts: {stats['requests']} ({stats['ok']} acknowledged, {stats['failed']} failed and retried); "
        f"failures by kind: {dict(sorted(failures.items()))}",
        f"submissions acknowledged after more than one attempt: {retried}; "
        f"of which answered 'already_stored' (the server had stored an attempt the client never heard about): "
        f"{check['already_stored_replies']}",
        f"throughput under faults: {stats['per_second']:.1f} submissions/s; p50 {stats['p50_ms']:.0f} ms, "
        f"p99 {stats['p99_ms']:.0f} ms, max {stats['max_ms']:.0f} ms (acknowledged attempts)",
        "",
        *verdict_lines(check, tally.refused),
    ]
    report_write(report, args.out)
    return 0 if once and not tally.refused else 1


if __name__ == "__main__":
    sys.exit(main())
