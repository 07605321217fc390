"""Make a new scoring-key version from a key file: manage.py key_import KEYS.xlsx --instrument science_literacy."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from questionnaires.management.commands._lookup import version_named
from questionnaires.services import QuestionnaireError, key_import, key_publish
from questionnaires.xlsform import XLSFormError


class Command(BaseCommand):
    help = (
        "Store a key file (see docs/questionnaires.md) as a new draft key of a published instrument version, "
        "revising its latest published key (or --based-on); --publish publishes it after the checks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the key file (.xlsx, .xls or .md)")
        parser.add_argument("--instrument", required=True, help="instrument code, e.g. science_literacy")
        parser.add_argument("--instrument-version", type=int, help="instrument version (default: the latest published)")
        parser.add_argument("--based-on", type=int, help="the key version it revises (default: the latest published)")
        parser.add_argument("--publish", action="store_true", help="publish the new key after the checks")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no file {path}")
        version = version_named(options["instrument"], options["instrument_version"])
        based_on = None
        if options["based_on"] is not None:
            based_on = version.scoring_keys.filter(version=options["based_on"]).first()
            if based_on is None:
                raise CommandError(f"{version} has no key {options['based_on']}")
        try:
            key, created = key_import(version=version, data=path.read_bytes(), filename=path.name, based_on=based_on)
            if options["publish"]:
                key = key_publish(key=key)
        except XLSFormError as exc:
            raise CommandError("the key file is refused:\n  " + "\n  ".join(str(p) for p in exc.problems)) from exc
        except QuestionnaireError as exc:
            raise CommandError("\n  ".join(["refused:", *exc.problems])) from exc
        what = "new" if created else "the same as the existing"
        self.stdout.write(self.style.SUCCESS(f"{key.label} ({key.status}): {what} key"))
