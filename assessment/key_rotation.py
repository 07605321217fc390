"""Re-encrypt every encrypted field under the newest field key, so older keys can be retired.

Keys are listed newest first in ``SUYANG_FIELD_KEYS``; every key decrypts, the first encrypts
(`assessment.crypto`).  Rotation: put the new key first everywhere (web nodes and workers),
run ``manage.py rotate_field_key``, check with ``--check``, then drop the old key.  Rows are
rewritten in batches of primary keys, each batch in its own transaction with its rows locked,
so a long rotation neither holds one huge transaction nor loses a concurrent edit.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models.functions import Cast

from assessment.crypto import fernet
from assessment.fields import EncryptedTextField


class KeyRotationError(ValueError):
    """A stored value that none of the configured keys opens."""


@dataclass
class ColumnRotation:
    """What rotation found (and did) in one encrypted column."""

    model: str
    field: str
    values: int = 0
    rotated: int = 0

    @property
    def current(self) -> int:
        return self.values - self.rotated


def encrypted_columns() -> list[tuple[type[models.Model], list[str]]]:
    """Return every model with encrypted fields, and the names of those fields."""
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


def _stored(model: type[models.Model], names: list[str], after: object, limit: int, lock: bool) -> list[tuple]:
    """Return (pk, *ciphertexts) of up to LIMIT rows after pk AFTER, as stored (not decrypted)."""
    rows = model._base_manager.filter(pk__gt=after).order_by("pk")
    if lock:
        rows = rows.select_for_update()
    raw = {f"_raw_{n}": Cast(n, output_field=models.TextField()) for n in names}
    return list(rows.annotate(**raw).values_list("pk", *raw)[:limit])


def field_keys_rotate(
    *, apply: bool = True, batch_size: int = 500, log: Callable[[str], None] = lambda _line: None
) -> list[ColumnRotation]:
    """Re-encrypt every value not under the newest key (only count them without APPLY).

    Raises KeyRotationError naming the model, row and field of a value no configured key opens;
    the batches before it stay rotated (they are correct), the failing batch is rolled back.
    """
    newest = Fernet(settings.SUYANG_FIELD_KEYS[0].encode())
    every_key = fernet()
    results = []
    for model, names in encrypted_columns():
        label = model._meta.label
        counts = {n: ColumnRotation(label, n) for n in names}
        last: object = 0
        while True:
            with transaction.atomic():
                rows = _stored(model, names, last, batch_size, lock=apply)
                for pk, *tokens in rows:
                    changes = {}
                    for name, token in zip(names, tokens):
                        if not token:
                            continue
                        counts[name].values += 1
                        try:
                            newest.decrypt(token.encode("ascii"))
                            continue
                        except InvalidToken:
                            pass
                        try:
                            changes[name] = every_key.rotate(token.encode("ascii")).decode("ascii")
                        except InvalidToken:
                            raise KeyRotationError(
                                f"{label} id={pk} field {name}: no configured key opens the stored value"
                            ) from None
                        counts[name].rotated += 1
                    if changes and apply:
                        # Value(…, TextField) writes the token as it is (the field would encrypt it again).
                        model._base_manager.filter(pk=pk).update(
                            **{n: models.Value(t, output_field=models.TextField()) for n, t in changes.items()}
                        )
            if not rows:
                break
            last = rows[-1][0]
            log(f"{label}: up to id {last}")
        results.extend(counts.values())
    return results
