"""A closed-loop load generator: client threads, each with its own HTTP connection.

A respondent (one invitation token) submits the demographics, then the science-literacy
questionnaire, each with a client id made once on the "device".  A submission is retried with
the same client id and body after a timeout, a dropped connection or a 5xx, until the server
acknowledges it (201 stored, or 200 already stored) — as the respondent page does.
"""
from __future__ import annotations

import http.client
import itertools
import json
import random
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

HEADERS = {"X-Forwarded-Proto": "https", "Content-Type": "application/json", "Accept": "application/json"}
RETRYABLE = {500, 502, 503, 504}


@dataclass
class Record:
    kind: str  # "ping" or the instrument code
    status: int  # HTTP status, or 0 for a client-side failure (timeout, refused, reset)
    latency: float  # seconds
    at: float  # monotonic time the request ended
    note: str = ""


@dataclass
class Ack:
    client_id: str
    token: str
    instrument: str
    status: str  # "stored" or "already_stored"
    attempts: int


@dataclass
class Tally:
    records: list[Record] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # 4xx answers: the submission was bad
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)

    def ack(self, ack: Ack) -> None:
        with self.lock:
            self.acks.append(ack)


class Client:
    """One keep-alive HTTP connection, reopened after any failure."""

    def __init__(self, base: str, timeout: float) -> None:
        parts = urlsplit(base)
        self.host, self.port, self.timeout = parts.hostname or "127.0.0.1", parts.port or 80, timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None, timeout: float | None = None) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        self.conn.timeout = timeout or self.timeout
        if self.conn.sock is not None:
            self.conn.sock.settimeout(self.conn.timeout)
        try:
            self.conn.request(method, path, body=body, headers=HEADERS)
            answer = self.conn.getresponse()
            data = answer.read()
            if answer.will_close:
                self.reset()
            return answer.status, data
        except BaseException:
            self.reset()
            raise

    def reset(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None


def answers_for(items: list[dict[str, Any]], rng: random.Random) -> dict[str, Any]:
    """Return a random valid answer sheet for the items."""
    answers: dict[str, Any] = {}
    for item in items:
        kind, choices = item["type"], item["choices"]
        if kind == "integer":
            answers[item["name"]] = rng.randint(18, 69)
        elif kind == "multiple" and choices:
            answers[item["name"]] = sorted(rng.sample(choices, rng.randint(1, len(choices))))
        elif choices:
            answers[item["name"]] = rng.choice(choices)
        elif item["required"]:
            answers[item["name"]] = "无"
    return answers


SHEET_POOL = 500  # distinct answer sheets per questionnaire in a run

# Decides the client-side timeout of each attempt (the fault script shortens some).
TimeoutPolicy = Callable[[], float | None]


SUBMISSION_ROUTE = "/api/v1/invitations/{token}/responses/"


def submit(client: Client, tally: Tally, token: str, instrument: str, answers: bytes,
           timeout_policy: TimeoutPolicy, give_up_at: float, route: str = SUBMISSION_ROUTE) -> bool:
    """Submit ANSWERS (a JSON object, encoded) until acknowledged (True) or refused with a 4xx /
    out of time (False)."""
    client_id = str(uuid.uuid4())
    body = b'{"client_id": "%s", "instrument": "%s", "answers": %s}' % (client_id.encode(), instrument.encode(), answers)
    path = route.format(token=token)
    attempts, backoff = 0, 0.05
    while time.monotonic() < give_up_at:
        attempts += 1
        start = time.monotonic()
        try:
            status, data = client.request("POST", path, body, timeout=timeout_policy())
        except (OSError, http.client.HTTPException) as exc:
            note = "timeout" if isinstance(exc, socket.timeout | TimeoutError) else type(exc).__name__
            tally.add(Record(instrument, 0, time.monotonic() - start, time.monotonic(), note))
            time.sleep(backoff)
            backoff = min(backoff * 2, 1.0)
            continue
        tally.add(Record(instrument, status, time.monotonic() - start, time.monotonic()))
        if status in (200, 201):
            tally.ack(Ack(client_id, token, instrument, json.loads(data)["status"], attempts))
            return True
        if status in RETRYABLE:
            time.sleep(backoff)
            backoff = min(backoff * 2, 1.0)
            continue
        with tally.lock:
            tally.refused.append(f"{instrument} {status} {data[:200]!r}")
        return False
    return False


def run_phase(
    base: str,
    work: Callable[[Client, float], None],
    *,
    seconds: float,
    threads: int,
    events: list[tuple[float, Callable[[], str]]] | None = None,
    timeout: float = 10.0,
) -> tuple[float, float, list[tuple[float, str]]]:
    """Run WORK in THREADS client threads for SECONDS (each finishes its unit of work);
    run EVENTS (seconds after the start, action returning a label) meanwhile.
    Return (start, end, [(seconds, label) of each event])."""
    start = time.monotonic()
    stop_at = start + seconds
    happened: list[tuple[float, str]] = []

    def loop() -> None:
        client = Client(base, timeout)
        while time.monotonic() < stop_at:
            work(client, stop_at)
        client.reset()

    def controller() -> None:
        for at, action in sorted(events or [], key=lambda e: e[0]):
            time.sleep(max(0.0, start + at - time.monotonic()))
            label = action()
            happened.append((round(time.monotonic() - start, 2), label))

    workers = [threading.Thread(target=loop, name=f"client-{n}") for n in range(threads)]
    workers.append(threading.Thread(target=controller, name="events"))
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return start, time.monotonic(), happened


def ping_work(tally: Tally) -> Callable[[Client, float], None]:
    def work(client: Client, _stop: float) -> None:
        start = time.monotonic()
        try:
            status, _ = client.request("GET", "/api/v1/ping/")
        except (OSError, http.client.HTTPException) as exc:
            tally.add(Record("ping", 0, time.monotonic() - start, time.monotonic(), type(exc).__name__))
            return
        tally.add(Record("ping", status, time.monotonic() - start, time.monotonic()))

    return work


def respondent_work(tally: Tally, tokens: Iterator[str], items: dict[str, list[dict[str, Any]]], seed: int,
                    timeout_policy: TimeoutPolicy = lambda: None, patience: float = 120.0,
                    route: str = SUBMISSION_ROUTE) -> Callable[[Client, float], None]:
    """Each call: the next respondent submits the demographics, then the science questionnaire.

    The answer sheets are drawn and encoded before the run (a pool per questionnaire, reused
    round robin), so the load generator spends its CPU on requests, not on making them up.
    """
    lock = threading.Lock()
    rng = random.Random(seed)
    codes = ("demographics", "science_literacy")
    pool = {code: [json.dumps(answers_for(items[code], rng)).encode() for _ in range(SHEET_POOL)] for code in codes}
    turn = itertools.count()

    def work(client: Client, _stop: float) -> None:
        with lock:
            token = next(tokens, None)
            n = next(turn) % SHEET_POOL
            sheets = [(code, pool[code][n]) for code in codes]
        if token is None:
            raise SystemExit("ran out of invitations: build the survey with more")
        give_up_at = time.monotonic() + patience
        for code, answers in sheets:
            if not submit(client, tally, token, code, answers, timeout_policy, give_up_at, route):
                return

    return work


def summary(records: list[Record], start: float, end: float, kinds: set[str]) -> dict[str, float]:
    """Return the rate of acknowledged requests and latency percentiles of KINDS in [start, end]."""
    chosen = [r for r in records if r.kind in kinds and start <= r.at <= end]
    ok = [r for r in chosen if r.status in (200, 201)]
    latencies = sorted(r.latency for r in ok)

    def pct(q: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    return {
        "requests": len(chosen),
        "ok": len(ok),
        "per_second": len(ok) / (end - start),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": 1000 * latencies[-1] if latencies else float("nan"),
        "mean_ms": 1000 * statistics.fmean(latencies) if latencies else float("nan"),
        "failed": len(chosen) - len(ok),
    }
