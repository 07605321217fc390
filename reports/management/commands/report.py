"""Write a wave's reports for scripts.

    python manage.py report --wave 2025 --out county.pdf
    python manage.py report --wave 2025 --town yushan --format xlsx --out yushan.xlsx
    python manage.py report --wave 2025 --group farmer --out farmers.pdf
    python manage.py report --wave 2025 --batch --out all-reports.zip
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.models import JobStatus, ReportBatch
from reports.selectors import ReportRequestError, report_county_id, report_wave
from reports.services import report_batch_run, report_batch_start, report_file
from scoring.adapters import DataProblem


class Command(BaseCommand):
    help = "Write an assessment report (PDF, XLSX or CSV; Chinese) of a wave: the county's, a town's, a group's, or all of them as a ZIP."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wave", required=True, help="wave code, e.g. 2025")
        parser.add_argument("--county", help="county code (needed only when several counties have the wave)")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--town", help="a town's or street's code, e.g. yushan: its report beside the county's")
        scope.add_argument("--group", help="a population group, e.g. farmer: its report beside the county's")
        scope.add_argument("--batch", action="store_true", help="every report (county, towns, groups; PDF, XLSX, CSV) as one ZIP")
        parser.add_argument("--format", choices=("pdf", "csv", "xlsx"), default="pdf", help="file format (default pdf; ignored with --batch)")
        parser.add_argument("--out", required=True, help="where to write the file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            wave = report_wave(code=options["wave"], county_id=report_county_id(options["county"]))
            if options["batch"]:
                source = self.batch(wave)
            else:
                kind, code = ("town", options["town"]) if options["town"] else ("group", options["group"]) if options["group"] else ("county", "")
                source = report_file(wave=wave, kind=kind, code=code, fmt=options["format"]).file
        except (DataProblem, ReportRequestError) as exc:
            raise CommandError(str(exc)) from exc
        out = Path(options["out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as stored:
            out.write_bytes(stored.read())
        self.stdout.write(self.style.SUCCESS(f"Wrote {out} ({out.stat().st_size // 1024} KB)"))

    def batch(self, wave: Any) -> Any:
        """Build the batch here and now (a script waits for its file), whatever the job backend."""
        batch = report_batch_start(wave=wave, background=False)
        if batch.status in (JobStatus.QUEUED, JobStatus.RUNNING):  # a web process is building it: build it here too
            report_batch_run(batch_id=batch.pk)
            batch = ReportBatch.objects.get(pk=batch.pk)
        if batch.status != JobStatus.DONE:
            raise CommandError(f"the batch failed: {batch.error}")
        self.stdout.write(f"{batch.total} reports built")
        return batch.archive
