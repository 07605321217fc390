"""The floor under any durable submission design: how fast can gunicorn (2 workers) on PostgreSQL
acknowledge a submission that is only checked (token, shape) and appended to a table, against
the ping yardstick and the real submission, in one run on one stack.

    .venv/bin/python bench/load/floor.py [--seconds 30] [--threads 4]

The floor endpoint (bench/load/floor/floor_urls.py, mounted only here) is what an "acknowledge
now, validate and score in a worker" design would leave on the web node; the worker's own work
is not counted.  If even the floor is far from the ping, no such redesign reaches issue 8's
"submissions >= 50% of the ping".  Writes bench/results/floor.txt.
"""
from __future__ import annotations

import argparse
import datetime
import itertools
import os
import sys
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from check import report_write, responses_check, verdict_lines  # noqa: E402
from load import Tally, ping_work, respondent_work, run_phase, summary  # noqa: E402
from stack import CpuMeter, Gunicorn, Postgres, survey_started  # noqa: E402

FLOOR_ROUTE = "/bench/floor/{token}/"
APPEND_ROUTE = "/bench/append/{token}/"
SUBMISSIONS = {"demographics", "science_literacy"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--invitations", type=int, default=6000)
    parser.add_argument("--out", type=Path, default=HERE.parents[1] / "bench" / "results" / "floor.txt")
    args = parser.parse_args()
    pg = Postgres()
    gunicorn = None
    try:
        env, survey = survey_started(pg, args.invitations)
        with psycopg.connect(pg.url, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE bench_inbox (id bigserial PRIMARY KEY, client_id uuid NOT NULL UNIQUE,"
                " invitation_id bigint NOT NULL REFERENCES questionnaires_invitation (id),"
                " received_at timestamptz NOT NULL DEFAULT now(), body jsonb NOT NULL)"
            )
            conn.execute(
                "CREATE TABLE bench_append (id bigserial PRIMARY KEY, client_id uuid NOT NULL UNIQUE,"
                " body jsonb NOT NULL)"
            )
        floor_env = {**env, "DJANGO_SETTINGS_MODULE": "floor_settings",
                     "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE / "floor"), env.get("PYTHONPATH", "")]))}
        gunicorn = Gunicorn(floor_env, workers=2)
        tokens: list[str] = survey["tokens"]  # type: ignore[assignment]
        fresh = iter(tokens[2000:])
        reused = itertools.cycle(tokens[:2000])  # the floor writes nothing to the invitation's case
        items = survey["items"]
        meter = CpuMeter(gunicorn.process.pid, pg.postmaster_pid())
        base = gunicorn.base
        run_phase(base, ping_work(Tally()), seconds=2, threads=args.threads)  # warm-up, not counted
        run_phase(base, respondent_work(Tally(), reused, items, seed=1, route=FLOOR_ROUTE), seconds=3, threads=args.threads)
        warm = Tally()
        run_phase(base, respondent_work(warm, fresh, items, seed=1), seconds=3, threads=args.threads)
        floor_tally, sub_tally, append_tally = Tally(), Tally(), Tally()
        works = {
            "ping": (Tally(), ping_work),
            "append": (append_tally, lambda t: respondent_work(t, reused, items, seed=4, route=APPEND_ROUTE)),
            "floor": (floor_tally, lambda t: respondent_work(t, reused, items, seed=2, route=FLOOR_ROUTE)),
            "submission": (sub_tally, lambda t: respondent_work(t, fresh, items, seed=3)),
        }
        phases = {}
        for name, (tally, work) in works.items():
            print(f"measuring {name}…", flush=True)
            before = meter.read()
            start, end, _ = run_phase(base, work(tally), seconds=args.seconds, threads=args.threads)
            phases[name] = (tally, start, end, before, meter.read())
        gunicorn.stop()
        gunicorn = None
        with psycopg.connect(pg.url) as conn:
            inbox = {str(row[0]) for row in conn.execute("SELECT client_id FROM bench_inbox")}
            appended = {str(row[0]) for row in conn.execute("SELECT client_id FROM bench_append")}
        sub_check = responses_check(pg.url, warm.acks + sub_tally.acks)
    finally:
        if gunicorn is not None:
            gunicorn.stop()
        pg.remove()

    lines = [
        f"# bench/load/floor.py — {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {os.cpu_count()} CPUs, shared; gunicorn 2 sync workers, config.settings.production plus the floor "
        f"route; PostgreSQL (fsync on, synchronous_commit on); {args.threads} client threads on the same machine; "
        f"{args.seconds:.0f} s per phase",
        "floor = POST /bench/floor/<token>/: token looked up and throttled as a submission, body shape checked, "
        "appended to a table under a unique client id, committed; nothing validated, planned or scored",
        "append = POST /bench/append/<token>/: below the floor: no token lookup, no throttle, the body appended and "
        "committed",
        "",
    ]
    rates = {}
    for name, (tally, start, end, before, after) in phases.items():
        kinds = {"ping"} if name == "ping" else SUBMISSIONS
        stats = summary(tally.records, start, end, kinds)
        rates[name] = stats["per_second"]
        cpu_text = CpuMeter.per_request(before, after, int(stats["requests"]))
        lines.append(f"{name:<11} {stats['per_second']:8.1f}/s  p50 {stats['p50_ms']:6.1f} ms  p99 {stats['p99_ms']:6.1f} ms"
                     f"   CPU per request: {cpu_text} ms")
    floor_acked = {a.client_id for a in floor_tally.acks}
    append_acked = {a.client_id for a in append_tally.acks}
    lines += [
        "",
        f"append / ping: {100 * rates['append'] / rates['ping']:.1f}%   "
        f"floor / ping: {100 * rates['floor'] / rates['ping']:.1f}%   submission / ping: "
        f"{100 * rates['submission'] / rates['ping']:.1f}%   submission / floor: {100 * rates['submission'] / rates['floor']:.1f}%",
        f"floor: {len(floor_acked)} acknowledged in the measured phase, all stored: {'YES' if floor_acked <= inbox else 'NO'}",
        f"append: {len(append_acked)} acknowledged in the measured phase, all stored: {'YES' if append_acked <= appended else 'NO'}",
        *verdict_lines(sub_check, sub_tally.refused),
    ]
    report_write(lines, args.out)
    return 0 if floor_acked <= inbox and append_acked <= appended else 1


if __name__ == "__main__":
    raise SystemExit(main())
