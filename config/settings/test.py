"""Test settings: fast hashing, fixed keys, in-memory SQLite unless DATABASE_URL is set."""
import os

import dj_database_url

from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, postgresql_tuned, with_reporting_replica

DEBUG = False
SECRET_KEY = "test-only-secret-key-not-for-production-0123456789abcdef"
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SUYANG_FIELD_KEYS = ["5ZoI2HUU8b3Hq3Y2tT4XXW2xLwdbQ2u7tb5a9Pn3Vqk="]
MEDIA_ROOT = BASE_DIR / "var" / "test-media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if os.environ.get("DATABASE_URL"):
    DATABASES = with_reporting_replica({"default": postgresql_tuned(dj_database_url.config())})  # as production runs it
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

# The suite sends many requests from one address and token; the throttle tests set low rates
# themselves (tests/api/test_throttling.py).
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"invitation": "100000/min", "submission": "100000/min", "login": "100000/min"},
}
