"""Settings shared by every environment; the environment modules override them."""
import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "assessment",
    "questionnaires",
    "reports",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context_processors.staff_role",
            ],
        },
    },
]

# SQLite by default; DATABASE_URL (e.g. postgres://user:pass@host:5432/suyang) switches.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'suyang.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the site read while a long demo/report job writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0


POSTGRESQL = ("django.db.backends.postgresql", "config.postgresql")


def postgresql_tuned(database: dict) -> dict:  # type: ignore[type-arg]
    """Server-side parameters, and statements a connection runs often (the submission's lookup
    and its one-statement write, say) prepared after SUYANG_DB_PREPARE_THRESHOLD runs (5), so
    PostgreSQL plans them once per connection instead of on every request (the invitation
    lookup: 1.5 ms -> 0.5 ms here).  Behind PgBouncer in transaction mode set it to `off`
    (prepared statements do not survive its connection swaps)."""
    if database["ENGINE"] in POSTGRESQL:
        database["ENGINE"] = "config.postgresql"  # refuses out-of-range integers (config/postgresql/base.py)
        threshold = os.environ.get("SUYANG_DB_PREPARE_THRESHOLD", "5")
        database.setdefault("OPTIONS", {}).update(
            server_side_binding=True,
            prepare_threshold=None if threshold.lower() in ("off", "none", "") else int(threshold),
        )
    return database


DATABASES["default"] = postgresql_tuned(DATABASES["default"])


def with_reporting_replica(databases: dict) -> dict:  # type: ignore[type-arg]
    """Add the `replica` alias when DATABASE_REPLICA_URL names a streaming replica of the primary.

    Report building then reads from it once it has caught up (config/routers.py,
    reports/replica.py); everything else stays on the primary.
    """
    url = os.environ.get("DATABASE_REPLICA_URL")
    if url and databases["default"]["ENGINE"] in POSTGRESQL:
        replica = postgresql_tuned(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
        # A replica that drops packets must not hold a report for the kernel's TCP timeout.
        replica["OPTIONS"].setdefault("connect_timeout", 5)
        replica["TEST"] = {"MIRROR": "default"}  # tests: the replica of the test database
        databases["replica"] = replica
    return databases


DATABASES = with_reporting_replica(DATABASES)
DATABASE_ROUTERS = ["config.routers.ReportingReadsRouter"]
# How long report building waits for the replica to replay what the primary had written before
# reading from the primary instead (seconds).
SUYANG_REPLICA_MAX_WAIT = float(os.environ.get("SUYANG_REPLICA_MAX_WAIT", "5"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.SuyangAutoSchema",
    "DEFAULT_PARSER_CLASSES": [  # JSON too deeply nested is a 400 (api/parsers.py)
        "api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ApiPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "rest_framework.views.exception_handler",
    # Per client IP (invitation tokens that open nothing, login) or per invitation token
    # (submission); see api/throttles.py.  The counters live in the default cache, which must be
    # shared (Redis) when several processes serve the site.
    "DEFAULT_THROTTLE_RATES": {
        "invitation": os.environ.get("SUYANG_THROTTLE_INVITATION", "60/min"),
        "submission": os.environ.get("SUYANG_THROTTLE_SUBMISSION", "30/min"),
        "login": os.environ.get("SUYANG_THROTTLE_LOGIN", "10/min"),
    },
    # Reverse proxies in front of the site (1 behind nginx): the client IP is taken from that
    # many hops of X-Forwarded-For, never from a header the client could forge.
    "NUM_PROXIES": int(os.environ.get("SUYANG_NUM_PROXIES", "0")),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Suyang (素养) API",
    "DESCRIPTION": "Survey and literacy-assessment platform. See docs/api.md.",
    "VERSION": "0.1.0",
    # The docs pages load Swagger UI and Redoc from our own static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "PublishStateEnum": "questionnaires.models.instruments.PublishState",
        "ReportKindEnum": "reports.models.Report.Kind",
        "ReviewDecisionEnum": "assessment.api_records.DECISIONS",
    },
}

# CJK TrueType font embedded in every PDF (Debian package fonts-wqy-microhei).
SUYANG_PDF_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

# Reliability rule for every published estimate cell.
SUYANG_RELIABILITY_MIN_N = 30
SUYANG_RELIABILITY_MAX_CV = 0.30

# Invitation links stay valid this many days.
SUYANG_INVITATION_DAYS = 120

# Fernet keys (url-safe base64, 32 bytes) for respondents' contact details; the first one
# encrypts, all of them decrypt, so keys can be rotated (see docs).
SUYANG_FIELD_KEYS: list[str] = []

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"tokens": {"()": "config.logfilters.MaskInvitationTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["tokens"]}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    # runserver's request lines, with the same filter (Django's own handler has none)
    "loggers": {"django.server": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

# -- Celery: background jobs (report batches, weighting runs) -----------------------------------
# With CELERY_BROKER_URL (redis://host:6379/0) jobs go to Celery workers (config/celery.py);
# without it they run in the web process (the embedded SQLite demo needs no Redis).  Jobs
# record their progress and results in the database, so no result backend is kept.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_IMPORTS = ["reports.services", "assessment.weighting"]
# A job is acknowledged when it ends, so a worker killed mid-job leaves it for another worker.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
SUYANG_JOB_BACKEND = "celery" if CELERY_BROKER_URL else "thread"
