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
