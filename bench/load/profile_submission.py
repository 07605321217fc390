"""Where a submission's time goes: one process, the production settings on a throwaway
PostgreSQL, N respondents submitted through Django's test client under cProfile.

    .venv/bin/python bench/load/profile_submission.py [--respondents 200] [--top 30]

Prints the mean wall time and query count per submission and the functions with the most
cumulative time.  For finding work to cut, not a benchmark (run.py is the benchmark).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import re
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import answers_for  # noqa: E402
from stack import ROOT, Postgres, survey_started  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--respondents", type=int, default=200)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--no-cprofile", action="store_true", help="skip the cProfile pass (e.g. under py-spy)")
    args = parser.parse_args()
    pg = Postgres()
    try:
        env, survey = survey_started(pg, 2 * args.respondents + 20)
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.db import connection
        from django.test import Client

        client = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="127.0.0.1")
        rng = random.Random(1)
        tokens = iter(survey["tokens"])  # type: ignore[call-overload]

        def submit(token: str, code: str) -> None:
            body = {"client_id": str(uuid.UUID(int=rng.getrandbits(128))), "instrument": code,
                    "answers": answers_for(survey["items"][code], rng)}  # type: ignore[index]
            answer = client.post(f"/api/v1/invitations/{token}/responses/", json.dumps(body),
                                 content_type="application/json")
            assert answer.status_code == 201, answer.content[:300]

        for _ in range(10):  # warm-up: imports, compiled forms and keys cached
            token = next(tokens)
            submit(token, "demographics")
            submit(token, "science_literacy")
        n = 2 * args.respondents
        queries: dict[str, list[float]] = defaultdict(list)

        def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            began = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                queries[re.sub(r"\"s\d+_x\d+\"", "<sp>", " ".join(sql.split()))[:110]].append(time.perf_counter() - began)

        for _ in range(200):
            client.get("/api/v1/ping/")
        started = time.perf_counter()
        for _ in range(1000):
            assert client.get("/api/v1/ping/").status_code == 200
        ping = (time.perf_counter() - started) / 1000
        with connection.execute_wrapper(timed):
            started = time.perf_counter()
            for _ in range(args.respondents):
                token = next(tokens)
                submit(token, "demographics")
                submit(token, "science_literacy")
            plain = time.perf_counter() - started
        print(f"{n} submissions: {1000 * plain / n:.2f} ms each, "
              f"{sum(map(len, queries.values())) / n:.1f} queries each, "
              f"{1000 * sum(map(sum, queries.values())) / n:.2f} ms of them in the database driver; "
              f"GET /api/v1/ping/ {1000 * ping:.2f} ms (ratio {ping * n / plain:.1%})")
        for sql, times in sorted(queries.items(), key=lambda kv: -sum(kv[1])):
            print(f"  {len(times) / n:4.2f}/sub  {1000 * sum(times) / len(times):6.2f} ms  {sql}")
        if args.no_cprofile:
            return 0
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.respondents):
            token = next(tokens)
            submit(token, "demographics")
            submit(token, "science_literacy")
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
        out = io.StringIO()  # the project's own functions
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(str(ROOT / "[a-z]"), args.top)
        print(out.getvalue())
    finally:
        pg.remove()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
