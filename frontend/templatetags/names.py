"""`{{ thing|named }}`: the name of a town, wave or instrument in the page's language.

Models keep a Chinese and an English name (`name_zh`, `name_en`); Chinese is the default and
stands in where the English one is empty.
"""
from __future__ import annotations

from typing import Any

from django import template

from assessment.names import shown_name

register = template.Library()


@register.filter
def named(thing: Any) -> str:
    zh = getattr(thing, "name_zh", None)
    if zh is None:
        return str(thing)
    return shown_name(zh, getattr(thing, "name_en", ""))
