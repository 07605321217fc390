"""The production settings pass Django's deployment checklist and refuse to start without secrets."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "x" * 20 + "production-secret-for-the-deploy-check-0123456789abcdef",
    "DJANGO_ALLOWED_HOSTS": "suyang.example.cn",
    "DATABASE_URL": "postgres://suyang:secret@127.0.0.1:5432/suyang",
    "SUYANG_FIELD_KEYS": "5ZoI2HUU8b3Hq3Y2tT4XXW2xLwdbQ2u7tb5a9Pn3Vqk=",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SUYANG_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=SECRETS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_the_field_keys() -> None:
    env = {k: v for k, v in SECRETS.items() if k != "SUYANG_FIELD_KEYS"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SUYANG_FIELD_KEYS" in result.stderr


def test_a_replica_url_adds_the_reporting_replica() -> None:
    env = {**SECRETS, "DATABASE_REPLICA_URL": "postgres://reader:secret@10.0.0.6:5432/suyang", "SUYANG_REPLICA_MAX_WAIT": "2"}
    shown = manage(
        "shell", "-c",
        "from django.conf import settings as s; from config.routers import replica_alias; r = s.DATABASES['replica']; "
        "print(r['HOST'], r['USER'], r['OPTIONS']['prepare_threshold'], r['OPTIONS']['connect_timeout'], replica_alias(), "
        "s.SUYANG_REPLICA_MAX_WAIT, s.DATABASE_ROUTERS)",
        env=env,
    )
    assert shown.stdout.splitlines()[-1].split() == ["10.0.0.6", "reader", "5", "5", "replica", "2.0", "['config.routers.ReportingReadsRouter']"], shown.stderr
    plain = manage("shell", "-c", "from django.conf import settings as s; from config.routers import replica_alias; print(sorted(s.DATABASES), replica_alias())", env=SECRETS)
    assert plain.stdout.splitlines()[-1] == "['default'] None", plain.stderr
