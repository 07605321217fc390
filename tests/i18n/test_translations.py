"""English must be complete, and the compiled catalogue must match its source."""
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parents[2] / "locale"


def test_every_message_has_an_english_translation() -> None:
    po = polib.pofile(str(LOCALE / "en" / "LC_MESSAGES" / "django.po"))
    untranslated = [e.msgid for e in po if not e.obsolete and not e.translated()]
    fuzzy = [e.msgid for e in po if "fuzzy" in e.flags]
    assert untranslated == [] and fuzzy == []


def test_compiled_catalogue_matches_the_source() -> None:
    po = polib.pofile(str(LOCALE / "en" / "LC_MESSAGES" / "django.po"))
    mo = polib.mofile(str(LOCALE / "en" / "LC_MESSAGES" / "django.mo"))
    compiled = {(e.msgid, e.msgstr or tuple(sorted(e.msgstr_plural.items()))) for e in mo if e.msgid}
    source = {(e.msgid, e.msgstr or tuple(sorted(e.msgstr_plural.items()))) for e in po if e.translated()}
    assert source == compiled, "run: python manage.py compilemessages -l en --ignore=.venv"

