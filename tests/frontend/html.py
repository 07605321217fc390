"""Small readers of rendered pages, so tests can talk about questions rather than markup."""
from __future__ import annotations

import re
from html import unescape

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")


def text_of(html: str) -> str:
    """Return the visible text of HTML (tags, scripts and styles removed, whitespace collapsed)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def main_text(html: str) -> str:
    """Return the visible text of the page's <main>."""
    found = re.search(r"<main>(.*)</main>", html, flags=re.S)
    assert found, "page has no <main>"
    return text_of(found.group(1))


def questions(html: str) -> dict[str, str]:
    """Return {question name: its block's HTML} for every question block of a questionnaire page."""
    blocks = {}
    for chunk in re.split(r'(?=<div class="question)', html)[1:]:
        name = re.search(r'data-name="([^"]+)"', chunk)
        if name:
            blocks[name.group(1)] = chunk.split('<button class="button big"')[0]
    return blocks


def is_invalid(block: str) -> bool:
    return re.match(r'<div class="question[^"]*\binvalid\b', block) is not None


def error_of(block: str) -> str:
    """Return the error message shown inside a question block ('' if none)."""
    found = re.search(r'<p class="error"[^>]*>(.*?)</p>', block, flags=re.S)
    return unescape(found.group(1)).strip() if found else ""


def checked_values(block: str) -> list[str]:
    return re.findall(r'value="([^"]*)" checked', block)
