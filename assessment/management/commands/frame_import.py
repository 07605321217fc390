"""Import a PSU frame (villages/communities, schools, enterprises, agencies) from CSV or XLSX."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessment.management.uploads import file_bytes, problems_reported
from assessment.models import County, Frame
from assessment.services import frame_import


class Command(BaseCommand):
    help = (
        "Import a sampling frame. Columns: code, name, town (code or name), urban_rural, measure_of_size "
        "[, households]; Chinese headers (代码, 名称, 乡镇, 城乡, 规模/人口, 户数) work too."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--county", required=True, help="county code, e.g. 370124")
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", choices=Frame.Kind.values, default=Frame.Kind.AREA)
        parser.add_argument("--year", type=int, required=True, help="reference year of the measure of size")

    def handle(self, *args: Any, **options: Any) -> None:
        county = County.objects.filter(code=options["county"]).first()
        if county is None:
            raise CommandError(f"no county with code {options['county']}")
        path: Path = options["file"]
        with problems_reported(path, self.stderr.write):
            frame = frame_import(
                county=county, name=options["name"], kind=options["kind"], reference_year=options["year"],
                data=file_bytes(path), filename=path.name,
            )
        self.stdout.write(self.style.SUCCESS(f"Frame {frame.pk} “{frame.name}”: {frame.units.count()} units imported."))
