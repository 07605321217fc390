"""Request body parsers of the API.

DRF's JSON parser answers 400 for malformed JSON but lets a RecursionError through (a 500):
a body of 100,000 "[" nests deeper than Python's decoder goes.  `JSONParser` here refuses it
as the malformed JSON it is.
"""
from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
