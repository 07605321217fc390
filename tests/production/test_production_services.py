"""Production settings with their services: Redis as the shared cache and the Celery broker."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "y" * 20 + "production-secret-for-the-services-check-0123456789abcdef",
    "DJANGO_ALLOWED_HOSTS": "suyang.example.cn",
    "DATABASE_URL": "postgres://suyang:secret@127.0.0.1:5432/suyang",
    "SUYANG_FIELD_KEYS": "5ZoI2HUU8b3Hq3Y2tT4XXW2xLwdbQ2u7tb5a9Pn3Vqk=",
}
PROBE = """
from django.conf import settings
from django.core.cache import caches
cache = caches["default"]
from config.celery import app
cache.set("probe", 41)
cache.incr("probe")
print(type(cache).__name__, cache.get("probe"), settings.SUYANG_JOB_BACKEND, app.conf.broker_url, app.conf.task_acks_late)
"""


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SUYANG_", "DATABASE_URL", "CELERY_"))}
    return subprocess.run(args, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120)


def test_with_redis_urls_the_cache_is_shared_redis_and_jobs_go_to_celery(redis_url: str) -> None:
    env = {**SECRETS, "SUYANG_CACHE_URL": redis_url.replace("/0", "/1"), "CELERY_BROKER_URL": redis_url}
    result = run([sys.executable, "manage.py", "shell", "-c", PROBE], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["RedisCache", "42", "celery", redis_url, "True"]
    deploy = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert deploy.returncode == 0 and "no issues" in deploy.stdout, deploy.stdout + deploy.stderr


def test_without_a_broker_production_runs_jobs_in_the_web_process() -> None:
    result = run([sys.executable, "manage.py", "shell", "-c", PROBE], SECRETS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split()[:3] == ["LocMemCache", "42", "thread"]
