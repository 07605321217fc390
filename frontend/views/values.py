"""Values read from form posts and query strings of the pages.

A hand-made or stale request must get a message naming the field, never a 500: ids that are
not numbers or overflow the database, numbers out of range, dates that do not exist.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from api.lists import ID_MAX
from assessment.errors import FieldworkError


def object_id(text: str | None) -> int | None:
    """Return TEXT as an object id (1 … 2⁶³−1), or None when it is not one (e.g. "abc", "²", 10³⁰)."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if 1 <= value <= ID_MAX else None


def local_datetime(value: str | None) -> datetime | None:
    """Return a datetime form value as an aware datetime (a value without zone is in the site's
    time zone), or None when it is empty or not a date and time that exists."""
    try:
        parsed = parse_datetime(value or "")
    except ValueError:  # well formed but impossible, e.g. month 13
        return None
    if parsed is None:
        return None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _read(post: Mapping[str, str], name: str, label: str, parse: type[int] | type[float], low: float, high: float) -> int | float | None:
    """Return field NAME parsed by PARSE (None when empty); FieldworkError naming LABEL unless it is in [LOW, HIGH]."""
    text = (post.get(name) or "").strip()
    if not text:
        return None
    try:
        value = parse(text)
    except ValueError:
        raise FieldworkError((_("“%(field)s”须为整数。") if parse is int else _("“%(field)s”须为数字。")) % {"field": label}) from None
    if not math.isfinite(value) or not low <= value <= high:
        if parse is int:
            raise FieldworkError(_("“%(field)s”须在 %(low)d 到 %(high)d 之间。") % {"field": label, "low": low, "high": high})
        raise FieldworkError(_("“%(field)s”须在 %(low)s 到 %(high)s 之间。") % {"field": label, "low": f"{low:g}", "high": f"{high:g}"})
    return value


def whole(post: Mapping[str, str], name: str, label: str, *, low: int, high: int, default: int | None = None) -> int | None:
    """Return the whole number of field NAME (DEFAULT when empty); FieldworkError naming LABEL otherwise."""
    value = _read(post, name, label, int, low, high)
    return default if value is None else int(value)


def decimal(post: Mapping[str, str], name: str, label: str, *, low: float, high: float) -> float | None:
    """Return the number of field NAME (None when empty); FieldworkError naming LABEL otherwise."""
    value = _read(post, name, label, float, low, high)
    return None if value is None else float(value)
