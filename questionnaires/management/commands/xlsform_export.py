"""Write an instrument version as an .xlsx XLSForm, or one of its keys as a key file."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from questionnaires.management.commands._lookup import version_named
from questionnaires.selectors import export_filename, instrument_export, key_export


class Command(BaseCommand):
    help = (
        "Write an instrument version as an .xlsx XLSForm (scored by --key, default its latest published key), "
        "or with --key-file only the key, as the key file that key_import reads."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--instrument", required=True, help="instrument code, e.g. science_literacy")
        parser.add_argument("--instrument-version", type=int, help="instrument version (default: the latest published)")
        parser.add_argument("--key", type=int, help="key version (default: the latest published)")
        parser.add_argument("--key-file", action="store_true", help="write only the key, as a key file")
        parser.add_argument("--out", help="where to write (default: a file named after the version in the current folder)")

    def handle(self, *args: Any, **options: Any) -> None:
        version = version_named(options["instrument"], options["instrument_version"])
        key = None
        if options["key"] is not None:
            key = version.scoring_keys.filter(version=options["key"]).first()
            if key is None:
                raise CommandError(f"{version} has no key {options['key']}")
        if options["key_file"]:
            key = key or version.scoring_keys.filter(status="published").order_by("-version").first()
            if key is None:
                raise CommandError(f"{version} has no published key")
            data, name = key_export(key), f"{key.label}.xlsx"
        else:
            data, name = instrument_export(version, key), export_filename(version, key)
        out = Path(options["out"] or name)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        self.stdout.write(self.style.SUCCESS(f"Wrote {out} ({len(data) // 1024} KB)"))
