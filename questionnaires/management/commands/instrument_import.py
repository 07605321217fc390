"""Import an XLSForm as a draft instrument version: manage.py instrument_import FORM.xlsx [--publish]."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from questionnaires.services import QuestionnaireError, instrument_import, instrument_publish
from questionnaires.xlsform import XLSFormError


class Command(BaseCommand):
    help = "Import an XLSForm (.xlsx, .xls, .md; .csv for unscored forms) as a new draft version, and publish it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the XLSForm")
        parser.add_argument("--publish", action="store_true", help="publish the version (with its key) after the checks")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no file {path}")
        try:
            version = instrument_import(data=path.read_bytes(), filename=path.name)
            if options["publish"]:
                instrument_publish(version=version)
        except XLSFormError as exc:
            raise CommandError("the form is refused:\n  " + "\n  ".join(str(p) for p in exc.problems)) from exc
        except QuestionnaireError as exc:
            raise CommandError("cannot publish:\n  " + "\n  ".join(exc.problems)) from exc
        keys = ", ".join(f"key {k.version} ({k.status})" for k in version.scoring_keys.order_by("version")) or "no key"
        self.stdout.write(self.style.SUCCESS(f"{version} ({version.status}), {keys}"))
