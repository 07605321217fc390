"""Compute and store the report figures of every year (or of one wave), as weighting runs do.

    python manage.py estimates_store                 # every household wave of every county
    python manage.py estimates_store --wave 2025     # one wave (--county when several have it)

For after an upgrade that changes the estimation (`reports.estimates.ESTIMATES_VERSION`) or
the reliability settings: the stored figures no longer apply, and without this the first
report of each year would compute them itself (docs/deploy.md, upgrades).
"""
from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessment.models import Wave
from reports.selectors import ReportRequestError, report_county_id, report_wave
from reports.services import estimates_store


class Command(BaseCommand):
    help = "Compute and store the report figures of every household wave (or of one wave), as weighting runs do."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wave", help="wave code, e.g. 2025 (default: every household wave)")
        parser.add_argument("--county", help="county code (needed only when several counties have the wave)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            county_id = report_county_id(options["county"])
            if options["wave"]:
                waves = [report_wave(code=options["wave"], county_id=county_id)]
            else:
                found = Wave.objects.filter(kind=Wave.Kind.HOUSEHOLD).select_related("county")
                waves = list((found.filter(county_id=county_id) if county_id else found).order_by("county_id", "year"))
        except ReportRequestError as exc:
            raise CommandError(str(exc)) from exc
        for wave in waves:
            started = time.monotonic()
            tables = estimates_store(wave=wave)
            self.stdout.write(f"{wave.county.code} {wave.code}: {tables} estimate tables stored ({time.monotonic() - started:.1f} s)")
        self.stdout.write(self.style.SUCCESS(f"Report figures stored for {len(waves)} wave(s)."))
