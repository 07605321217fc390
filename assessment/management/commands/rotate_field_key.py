"""Re-encrypt every encrypted field with the newest key of SUYANG_FIELD_KEYS."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessment.key_rotation import KeyRotationError, field_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt respondents' contact details (and invitation tokens) under the first key of "
        "SUYANG_FIELD_KEYS, in batches, each in its own transaction. With --check, only count the "
        "values still under an older key and fail if there are any (run it before retiring a key)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="count only; exit 1 if a value needs rotating")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        check = options["check"]
        log = self.stdout.write if options["verbosity"] > 1 else (lambda _line: None)
        try:
            columns = field_keys_rotate(apply=not check, batch_size=options["batch_size"], log=log)
        except KeyRotationError as exc:
            raise CommandError(f"{exc}; add the key it was written with to SUYANG_FIELD_KEYS (after the newest)") from exc
        for col in columns:
            verb = "to rotate" if check else "rotated"
            self.stdout.write(f"{col.model}.{col.field}: {col.values} values, {col.rotated} {verb}, {col.current} already under the newest key")
        pending = sum(c.rotated for c in columns)
        if check and pending:
            raise CommandError(f"{pending} values are still under an older key: run rotate_field_key before retiring it")
        self.stdout.write(self.style.SUCCESS("Every encrypted value is under the newest key."))
