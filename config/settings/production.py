"""Production: PostgreSQL from DATABASE_URL, secrets from the environment, HTTPS only."""
import os

import dj_database_url

from config.settings.base import *  # noqa: F403
from config.settings.base import MEDIA_ROOT, postgresql_tuned, with_reporting_replica

DEBUG = False
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]
DATABASES = with_reporting_replica({"default": postgresql_tuned(dj_database_url.config(conn_max_age=60, conn_health_checks=True))})
# Newest key first: it encrypts, every key decrypts (rotation: docs/deploy.md, rotate_field_key).
SUYANG_FIELD_KEYS = [k for k in os.environ["SUYANG_FIELD_KEYS"].split(",") if k]

# The cache holds the API throttle counters: with several web processes or nodes it must be
# shared, so production uses Redis when SUYANG_CACHE_URL is set (e.g. redis://10.0.0.5:6379/1).
if os.environ.get("SUYANG_CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["SUYANG_CACHE_URL"],
            "KEY_PREFIX": "suyang",
        }
    }

# Report files: written by workers, served by web nodes, so shared storage when they are apart.
MEDIA_ROOT = os.environ.get("SUYANG_MEDIA_ROOT") or MEDIA_ROOT

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "INFO"}}  # noqa: F405  (the base's, tokens masked, at INFO)
