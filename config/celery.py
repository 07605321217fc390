"""The Celery application: background jobs (report batches, weighting runs) on workers.

Used only when ``CELERY_BROKER_URL`` is set (production, with Redis); without it jobs run in
the web process (`reports.jobs`).  Start a worker with::

    DJANGO_SETTINGS_MODULE=config.settings.production celery -A config worker -l info

The worker imports the modules that register jobs (``CELERY_IMPORTS``), as the web process
does in ``ReportsConfig.ready``.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("suyang")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["reports"])
