"""The production stack on this machine, for the load and fault benchmarks.

A throwaway PostgreSQL cluster in /tmp (fsync and synchronous commit on, as in production, so
an acknowledged response is on disk), the schema migrated, a fielded survey with many
invitations (`survey.py`), gunicorn with 2 sync workers on `config.settings.production` (HTTP
here: the load generator sends ``X-Forwarded-Proto: https`` as the TLS proxy would), and a
load generator of client threads (`load.py`).
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from base64 import urlsafe_b64encode
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) used so far by process ROOT and its descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        # utime + stime, and cutime + cstime: the CPU of children already reaped (a database
        # backend replaced when its connection reached CONN_MAX_AGE, a killed gunicorn worker)
        used[pid] = sum(int(f) for f in fields[11:15]) / ticks
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += used.get(pid, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


class CpuMeter:
    """CPU seconds so far of the web server's processes, the database server's and this one
    (the load generator); `per_request` turns two readings into ms per request."""

    def __init__(self, web_pid: int, database_pid: int) -> None:
        self.roots = {"web": web_pid, "database": database_pid}

    def read(self) -> dict[str, float]:
        return {**{name: tree_cpu_seconds(pid) for name, pid in self.roots.items()},
                "load generator": sum(os.times()[:2])}

    @staticmethod
    def per_request(before: dict[str, float], after: dict[str, float], requests: int) -> str:
        return ", ".join(f"{name} {1000 * (after[name] - before[name]) / max(requests, 1):.2f}" for name in before)


class Postgres:
    """A PostgreSQL cluster of its own in /tmp; run as the postgres user when we are root."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not bins:
            raise SystemExit("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.bin = bins[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="suyang-bench-pg."))
        self.port = free_port()
        self.as_user: list[str] = []
        if os.getuid() == 0:
            subprocess.run(["id", "postgres"], check=True, capture_output=True)
            shutil.chown(self.dir, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.url = f"postgres://suyang@127.0.0.1:{self.port}/suyang"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=True, capture_output=True)

    def start(self) -> None:
        if not (self.dir / "data").exists():
            self._run("initdb", "-D", str(self.dir / "data"), "-U", "suyang", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=50"
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "server.log"), "-w", "-o", options, "start")

    def create_database(self) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "suyang", "suyang")

    def stop(self, mode: str = "fast") -> None:
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", mode, "-w", "stop"],
                       capture_output=True)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def postmaster_pid(self) -> int:
        return int((self.dir / "data" / "postmaster.pid").read_text().split()[0])

    def version(self) -> str:
        out = subprocess.run([str(self.bin / "postgres"), "--version"], capture_output=True, text=True, check=True)
        return out.stdout.split()[2]

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def production_env(database_url: str) -> dict[str, str]:
    """Return the environment of the production settings with fresh secrets."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SUYANG_", "DATABASE_", "CELERY_"))}
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "SUYANG_FIELD_KEYS": urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PYTHONUNBUFFERED": "1",
    }


def manage(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def build_survey(env: dict[str, str], invitations: int, out: Path) -> dict[str, object]:
    """Migrate and build the survey (bench/load/survey.py); return what it wrote to OUT."""
    manage(env, "migrate", "--noinput", "-v", "0")
    subprocess.run([PYTHON, str(Path(__file__).with_name("survey.py")), str(invitations), str(out)],
                   cwd=ROOT, env=env, check=True)
    return json.loads(out.read_text())


def survey_started(pg: Postgres, invitations: int) -> tuple[dict[str, str], dict[str, object]]:
    """Start PG with an empty database, build the survey with INVITATIONS in it; return the
    production environment pointing at it and the survey (tokens, items)."""
    pg.start()
    pg.create_database()
    env = production_env(pg.url)
    with tempfile.TemporaryDirectory() as tmp:
        return env, build_survey(env, invitations, Path(tmp) / "survey.json")


class Gunicorn:
    """gunicorn config.wsgi with sync workers; the master respawns a worker that dies."""

    def __init__(self, env: dict[str, str], workers: int = 2, log: Path | None = None, threads: int = 1) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log or Path(tempfile.mkstemp(prefix="suyang-gunicorn.", suffix=".log")[1])
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [GUNICORN, "config.wsgi", "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
                 "--timeout", "30", "--graceful-timeout", "5", "--backlog", "256",
                 *(["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else [])],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{self.log.read_text()}")
            try:
                request = urllib.request.Request(f"{self.base}/api/v1/ping/", headers={"X-Forwarded-Proto": "https"})
                with urllib.request.urlopen(request, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("gunicorn did not answer /api/v1/ping/")

    def worker_pids(self) -> list[int]:
        """Return the pids of the master's worker processes (children of its pid only)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                pids.append(int(stat.parent.name))
        return sorted(pids)

    def kill_worker(self) -> int:
        """SIGKILL one worker (as the OOM killer would); return its pid."""
        pid = self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
