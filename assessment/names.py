"""Names of towns, waves and instruments in the request's language."""
from __future__ import annotations

from django.utils.translation import get_language


def shown_name(zh: str, en: str) -> str:
    """A town's, wave's or instrument's name in the request's language (Chinese if no English one)."""
    return (en or zh) if (get_language() or "").startswith("en") else zh
