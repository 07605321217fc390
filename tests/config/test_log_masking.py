"""What the site gives away about itself: no invitation token in a log line, no unthrottled
password guessing at the admin's login, no media file served by URL.

An invitation token in a URL opens a respondent's questionnaire, so a log line quoting the URL
(Django's "Not Found: /r/<token>/", runserver's request line) must not carry it
(`config/logfilters.py`).  The admin's login counts attempts per client IP with the site's
login (`frontend/views/site.py`).  MEDIA_ROOT holds reports and uploads; they leave only through
the views that check who asks, never as /media/… (`config/urls.py`), not even under DEBUG.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import Resolver404, resolve
from rest_framework.test import APIClient

import config.urls
from config.logfilters import MaskInvitationTokens, masked
from questionnaires.invitations import invitation_create
from tests.frontend.survey_setup import Survey, build_survey

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "Ab3_-" + "x" * 26 + "Z"  # 32 characters of the token alphabet (base64url)
assert len(TOKEN) == 32


# --- the filter ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    (f"Not Found: /r/{TOKEN}/", "Not Found: /r/<token>/"),
    (f"Bad Request: /r/{TOKEN}/science_literacy/", "Bad Request: /r/<token>/science_literacy/"),
    (f"Gone: /api/v1/invitations/{TOKEN}/responses/", "Gone: /api/v1/invitations/<token>/responses/"),
    (f'"GET /api/v1/invitations/{TOKEN}/ HTTP/1.1" 404 58', '"GET /api/v1/invitations/<token>/ HTTP/1.1" 404 58'),
    (f"/r/{TOKEN}", "/r/<token>"),
    (f"/r/{TOKEN}?lang=en and /r/{TOKEN[::-1]}/", "/r/<token>?lang=en and /r/<token>/"),
])
def test_invitation_tokens_in_paths_are_masked(text: str, expected: str) -> None:
    assert masked(text) == expected


@pytest.mark.parametrize("text", [
    f"Not Found: /api/v1/cases/{TOKEN}/roster/",
    f"Not Found: /reports/{TOKEN}/",
    f"Not Found: /staff/cases/{TOKEN}/",
    f"Not Found: /rr/{TOKEN}/",
    f"Not Found: /r/{TOKEN}x/",  # 33 characters: not a token
    f"Not Found: /r/{TOKEN[:31]}/",  # 31 characters
    "Internal Server Error: /api/v1/ping/",
])
def test_other_paths_and_other_lengths_are_left_as_they_are(text: str) -> None:
    assert masked(text) == text


def test_values_that_are_not_text_are_left_as_they_are() -> None:
    for value in (None, 404, 1.5, b"/r/" + TOKEN.encode() + b"/", ["/r/" + TOKEN]):
        assert masked(value) is value


def record(msg: str, args: Any) -> logging.LogRecord:
    return logging.LogRecord("django.request", logging.WARNING, __file__, 1, msg, args, None)


def test_the_filter_masks_the_message_and_tuple_arguments() -> None:
    entry = record("Not Found: %s (%d) from /r/" + TOKEN + "/", (f"/r/{TOKEN}/demographics/", 404))
    assert MaskInvitationTokens().filter(entry) is True
    assert entry.getMessage() == "Not Found: /r/<token>/demographics/ (404) from /r/<token>/"


def test_the_filter_masks_dict_arguments() -> None:
    entry = record("%(method)s %(path)s %(status)d", {"method": "POST", "path": f"/api/v1/invitations/{TOKEN}/responses/", "status": 400})
    assert MaskInvitationTokens().filter(entry) is True
    assert entry.getMessage() == "POST /api/v1/invitations/<token>/responses/ 400"
    assert entry.args == {"method": "POST", "path": "/api/v1/invitations/<token>/responses/", "status": 400}


def test_a_record_without_arguments_keeps_none() -> None:
    entry = record(f"Not Found: /r/{TOKEN}/", None)
    assert MaskInvitationTokens().filter(entry) is True
    assert entry.args is None and entry.getMessage() == "Not Found: /r/<token>/"


# --- requests, logged ---------------------------------------------------------------------------


@pytest.fixture
def survey(db: None) -> Survey:
    return build_survey()


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "django.request"]


def test_a_404_on_an_unknown_invitation_is_logged_without_the_token(db: None, caplog: pytest.LogCaptureFixture) -> None:
    client = APIClient()
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.post(f"/api/v1/invitations/{TOKEN}/responses/", {}, format="json").status_code == 404
        assert Client().get(f"/r/{TOKEN}/").status_code == 404
    assert logged(caplog) == ["Not Found: /api/v1/invitations/<token>/responses/", "Not Found: /r/<token>/"]
    assert TOKEN not in caplog.text


def test_a_400_and_a_410_on_a_real_invitation_are_logged_without_the_token(survey: Survey, caplog: pytest.LogCaptureFixture) -> None:
    client = APIClient()
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.post(f"/api/v1/invitations/{survey.token}/responses/", {}, format="json").status_code == 400
        invitation_create(case=survey.case)  # a new link revokes this one
        assert client.get(f"/api/v1/invitations/{survey.token}/").status_code == 410
    assert logged(caplog) == ["Bad Request: /api/v1/invitations/<token>/responses/", "Gone: /api/v1/invitations/<token>/"]
    assert survey.token not in caplog.text


def logged_by_a_process(settings_module: str, extra_env: dict[str, str], loggers: tuple[str, ...]) -> str:
    """Return what a fresh process with SETTINGS_MODULE writes to its console when Django logs a
    refused request (`django.request`) and, if asked, runserver's request line (`django.server`)."""
    lines = {
        "django.request": f"logging.getLogger('django.request').warning('Not Found: %s', '/api/v1/invitations/{TOKEN}/')",
        "django.server": f"logging.getLogger('django.server').info('\"GET /r/{TOKEN}/ HTTP/1.1\" 200 5120')",
    }
    script = "; ".join(["import logging", *(lines[name] for name in loggers)])
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SUYANG_", "DATABASE_URL"))}
    env = {**clean, "DJANGO_SETTINGS_MODULE": settings_module, **extra_env}
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_the_development_console_log_carries_no_token() -> None:
    """Both Django's refused requests and runserver's request lines."""
    written = logged_by_a_process("config.settings.test", {}, ("django.request", "django.server"))
    assert "Not Found: /api/v1/invitations/<token>/" in written
    assert '"GET /r/<token>/ HTTP/1.1" 200 5120' in written
    assert TOKEN not in written


def test_the_production_console_log_carries_no_token() -> None:
    """(Production runs under gunicorn, without runserver's request lines; docs/deploy.md.)"""
    env = {
        "DJANGO_SECRET_KEY": "x" * 20 + "production-secret-for-the-log-check-0123456789abcdef",
        "DJANGO_ALLOWED_HOSTS": "suyang.example.cn",
        "DATABASE_URL": "postgres://suyang:secret@127.0.0.1:5432/suyang",
        "SUYANG_FIELD_KEYS": "5ZoI2HUU8b3Hq3Y2tT4XXW2xLwdbQ2u7tb5a9Pn3Vqk=",
    }
    written = logged_by_a_process("config.settings.production", env, ("django.request",))
    assert "Not Found: /api/v1/invitations/<token>/" in written
    assert TOKEN not in written


# --- the admin's login is throttled ---------------------------------------------------------------

PASSWORD = "correct-horse-battery"


@pytest.fixture
def superuser(db: None) -> Any:
    return get_user_model().objects.create_user("throttled_admin", password=PASSWORD, is_staff=True, is_superuser=True)


def assert_throttled(response: Any) -> None:
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60


def test_password_guessing_at_the_admin_login_is_throttled_and_then_even_the_right_password_is_refused(superuser: Any, low_rates: None) -> None:
    client = Client()
    for _ in range(4):
        assert client.post("/admin/login/", {"username": superuser.username, "password": "wrong"}).status_code == 200
    assert_throttled(client.post("/admin/login/", {"username": superuser.username, "password": "wrong"}))
    right = client.post("/admin/login/?next=/admin/", {"username": superuser.username, "password": PASSWORD})
    assert_throttled(right)
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/login/").status_code == 200  # the page itself still shows
    # Another address has its own budget, and the right password works there.
    elsewhere = Client(REMOTE_ADDR="10.0.5.1").post("/admin/login/?next=/admin/", {"username": superuser.username, "password": PASSWORD})
    assert elsewhere.status_code == 302 and elsewhere["Location"] == "/admin/"


def test_the_admin_and_site_logins_share_one_counter_per_address(superuser: Any, low_rates: None) -> None:
    client = Client()
    wrong = {"username": superuser.username, "password": "wrong"}
    assert [client.post(url, wrong).status_code for url in ("/accounts/login/", "/admin/login/") * 2] == [200] * 4
    assert_throttled(client.post("/admin/login/", wrong))
    assert_throttled(client.post("/accounts/login/", wrong))


# --- MEDIA_ROOT is not served -------------------------------------------------------------------------


@pytest.fixture
def urls_built_under_debug(settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """config/urls.py evaluated afresh with DEBUG on (a URLconf is read once, at import), as ROOT_URLCONF."""
    settings.DEBUG = True
    spec = importlib.util.spec_from_file_location("tests_config_urls_under_debug", config.urls.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    settings.ROOT_URLCONF = module.__name__
    return module.__name__


def test_no_url_serves_media_files_even_with_debug_on(urls_built_under_debug: str, settings: Any, tmp_path: Path, db: None) -> None:
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "county-2025.pdf").write_bytes(b"%PDF-1.4 a report")
    assert settings.MEDIA_URL == "/media/"
    with pytest.raises(Resolver404):
        resolve("/media/reports/county-2025.pdf", urlconf=urls_built_under_debug)
    assert resolve("/api/v1/ping/", urlconf=urls_built_under_debug).url_name == "api-ping"  # the URLconf itself works
    assert Client().get("/media/reports/county-2025.pdf").status_code == 404
    assert resolve("/staff/", urlconf=urls_built_under_debug).url_name == "staff_monitor"
