"""Score stored responses under a published key: manage.py rescore --instrument science_literacy --key 2 [--wave 2025]."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from questionnaires.management.commands._lookup import key_named, wave_named
from questionnaires.services import QuestionnaireError, responses_rescore, wave_key_select


class Command(BaseCommand):
    help = (
        "Score the stored responses of an instrument under a published key version. Scores under other keys "
        "are kept; responses already scored under this key are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--instrument", required=True, help="instrument code, e.g. science_literacy")
        parser.add_argument("--key", required=True, type=int, help="key version number")
        parser.add_argument("--instrument-version", type=int, help="instrument version (needed when several have that key)")
        parser.add_argument("--wave", help="only the responses of this wave, e.g. 2025")
        parser.add_argument("--county", help="county code (needed only when several counties have the wave)")
        parser.add_argument("--official", action="store_true", help="also make the key the wave's official key (needs --wave)")

    def handle(self, *args: Any, **options: Any) -> None:
        key = key_named(options["instrument"], options["key"], options["instrument_version"])
        wave = wave_named(options["wave"], options["county"]) if options["wave"] else None
        if options["official"] and wave is None:
            raise CommandError("--official needs --wave")
        try:
            scored = responses_rescore(key=key, wave=wave)
            if options["official"] and wave is not None:
                wave_key_select(wave=wave, instrument_code=options["instrument"], key=key)
        except QuestionnaireError as exc:
            raise CommandError(str(exc)) from exc
        where = f" of wave {wave.code}" if wave else ""
        self.stdout.write(self.style.SUCCESS(f"Scored {scored} responses{where} under {key.label}."))
        if options["official"] and wave is not None:
            self.stdout.write(f"{key.label} is now the official key of {options['instrument']} in wave {wave.code}.")
