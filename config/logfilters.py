"""Logging filters: invitation tokens never reach a log.

An invitation token in a URL opens a respondent's questionnaire until it expires, so a log line
quoting the URL (Django's "Bad Request: /r/<token>/…", runserver's request line) would hand it
to whoever reads the logs.  The filter, on every handler, keeps the path and masks the token.
"""
from __future__ import annotations

import logging
import re
from typing import Any

TOKEN_IN_PATH = re.compile(r"(/(?:r|invitations)/)[A-Za-z0-9_\-]{32}(?![A-Za-z0-9_\-])")
MASK = r"\1<token>"


def masked(value: Any) -> Any:
    """Return VALUE with the invitation tokens of the paths in it masked (strings only)."""
    return TOKEN_IN_PATH.sub(MASK, value) if isinstance(value, str) else value


class MaskInvitationTokens(logging.Filter):
    """Mask invitation tokens in a record's message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = masked(record.msg)
        if isinstance(record.args, dict):
            record.args = {k: masked(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(masked(a) for a in record.args)
        return True
