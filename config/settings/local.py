"""Local development and the demo county: SQLite, debug on, keys kept in var/."""
import os

from config.settings.base import *  # noqa: F403
from config.settings.base import VAR_DIR
from config.settings.secrets import local_secret

DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or local_secret(VAR_DIR, "secret_key")
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
SUYANG_FIELD_KEYS = [
    k for k in os.environ.get("SUYANG_FIELD_KEYS", "").split(",") if k
] or [local_secret(VAR_DIR, "field_key", fernet=True)]
