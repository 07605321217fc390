"""Delete the contact details of a closed wave's respondents (dry run unless --apply)."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessment.models import Wave
from assessment.retention import RetentionError, wave_contacts_purge


class Command(BaseCommand):
    help = (
        "Delete names, phone numbers and addresses of the cases, household rosters and listed "
        "households of a closed wave. Without --apply, only count them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wave", required=True, help="wave code, e.g. 2025")
        parser.add_argument("--county", help="county code, when several counties have a wave of that code")
        parser.add_argument("--apply", action="store_true", help="delete (default: dry run)")

    def handle(self, *args: Any, **options: Any) -> None:
        waves = Wave.objects.filter(code=options["wave"])
        if options["county"]:
            waves = waves.filter(county__code=options["county"])
        found = list(waves.select_related("county")[:2])
        if not found:
            raise CommandError(f"no wave with code {options['wave']!r}")
        if len(found) > 1:
            raise CommandError(f"several counties have a wave {options['wave']!r}: name one with --county")
        try:
            counts = wave_contacts_purge(wave=found[0], apply=options["apply"])
        except RetentionError as exc:
            raise CommandError(str(exc)) from exc
        done = "deleted" if options["apply"] else "would be deleted (dry run; --apply deletes)"
        self.stdout.write(
            f"Wave {found[0].code}: contact details of {counts.cases} cases, {counts.members} household members "
            f"and {counts.households} households {done}."
        )
