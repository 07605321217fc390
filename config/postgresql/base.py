"""Django's PostgreSQL backend, made safe for server-side binding (settings `postgresql_tuned`).

With `server_side_binding`, Django hands psycopg each integer field's value wrapped in the
column's width (`Int2` for a SmallIntegerField, `Int4` for an IntegerField), and psycopg's C
dumper packs it into that many bytes without a range check: 70000 in a smallint column is
stored as 4464, silently.  A value outside the column's range is passed here as a plain
integer instead; psycopg sends it wide and PostgreSQL refuses it ("smallint out of range", a
DataError), as it does with client-side binding.
"""
from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base, operations

SMALL = (-(2**15), 2**15 - 1)
REGULAR = (-(2**31), 2**31 - 1)
RANGES = {
    "SmallIntegerField": SMALL,
    "PositiveSmallIntegerField": SMALL,
    "IntegerField": REGULAR,
    "PositiveIntegerField": REGULAR,
}


class DatabaseOperations(operations.DatabaseOperations):
    def adapt_integerfield_value(self, value: Any, internal_type: str) -> Any:
        bounds = RANGES.get(internal_type)
        if bounds is not None and isinstance(value, int) and not bounds[0] <= value <= bounds[1]:
            return value  # unwrapped: PostgreSQL answers "out of range"
        return super().adapt_integerfield_value(value, internal_type)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
