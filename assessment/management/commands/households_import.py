"""Import a household listing for the units of a frame from CSV or XLSX."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessment.management.uploads import file_bytes, problems_reported
from assessment.models import Frame
from assessment.services import households_import


class Command(BaseCommand):
    help = "Import a household listing. Columns: unit, code [, size, address, head_name] (单位代码, 户编号, 人数, 地址, 户主姓名)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--frame", type=int, required=True, help="frame id")

    def handle(self, *args: Any, **options: Any) -> None:
        frame = Frame.objects.filter(pk=options["frame"]).first()
        if frame is None:
            raise CommandError(f"no frame with id {options['frame']}")
        path: Path = options["file"]
        with problems_reported(path, self.stderr.write):
            result = households_import(frame=frame, data=file_bytes(path), filename=path.name)
        self.stdout.write(self.style.SUCCESS(
            f"{result.households} households imported; {result.cases} cases drawn in sampled PSUs waiting for them."
        ))
