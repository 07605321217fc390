"""XLSX workbooks written by openpyxl, for the import tests."""
from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook


def openpyxl_book(sheets: dict[str, list[list[Any]]], *, formats: dict[str, str] | None = None) -> bytes:
    """A workbook of SHEETS ({title: rows}) written by openpyxl: its strings inline; FORMATS gives
    cells ("A2") a number format."""
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
        for ref, number_format in (formats or {}).items():
            ws[ref].number_format = number_format
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
