"""Write a wave's county report as PDF: python manage.py report --wave 2025 --out FILE.pdf."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessment.models import Wave
from reports.services import county_report_file
from scoring.adapters import DataProblem


class Command(BaseCommand):
    help = "Write the county assessment report (PDF, Chinese) of a wave."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wave", required=True, help="wave code, e.g. 2025")
        parser.add_argument("--county", help="county code (needed only when several counties have the wave)")
        parser.add_argument("--out", required=True, help="where to write the PDF")

    def handle(self, *args: Any, **options: Any) -> None:
        waves = Wave.objects.filter(code=options["wave"])
        if options["county"]:
            waves = waves.filter(county__code=options["county"])
        if not waves.exists():
            known = ", ".join(Wave.objects.order_by("code").values_list("code", flat=True)) or "none"
            raise CommandError(f"no wave {options['wave']!r} (known waves: {known})")
        if waves.count() > 1:
            raise CommandError(f"wave {options['wave']!r} exists in several counties: pass --county")
        wave = waves.get()
        try:
            report = county_report_file(wave=wave)
        except DataProblem as exc:
            raise CommandError(str(exc)) from exc
        out = Path(options["out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        with report.file.open("rb") as source:
            out.write_bytes(source.read())
        self.stdout.write(self.style.SUCCESS(f"Wrote {out} ({out.stat().st_size // 1024} KB)"))
