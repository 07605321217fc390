"""Static files written into the page itself, for the respondent pages' first load on a slow network.

Each request a phone makes on a weak village network costs a round trip of several hundred
milliseconds; the respondent pages carry their CSS and scripts inline instead (measured in
bench/frontend/budget.py).  The files are read once per process: a deployment restarts it.
"""
from __future__ import annotations

from functools import lru_cache

from django import template
from django.contrib.staticfiles import finders
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@lru_cache(maxsize=16)
def _source(name: str) -> str:
    path = finders.find(name)
    if not path:
        raise template.TemplateSyntaxError(f"no static file {name!r}")
    with open(path, encoding="utf-8") as handle:
        return handle.read()


@register.simple_tag
def inline_script(*names: str) -> SafeString:
    """Return <script> elements holding the static files NAMES, in order."""
    # "</" would end the element early; scripts never need it literally ("<\/" is the same string).
    closing = "<" + "\\/"
    return mark_safe("".join("<script>" + _source(n).replace("</", closing) + "</script>" for n in names))


@register.simple_tag
def inline_style(name: str) -> SafeString:
    """Return a <style> element holding the static stylesheet NAME."""
    return mark_safe(f"<style>{_source(name).replace('</', '')}</style>")
