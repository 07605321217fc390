"""XLSForms as plain tables for tests: read a Markdown form, change a cell, write it back as
Markdown or as an .xlsx workbook (built with openpyxl, extension sheets included)."""
from __future__ import annotations

import copy
import csv
import io
import re
from pathlib import Path

from openpyxl import Workbook
from pyxform.xls2json_backends import _md_table_to_ss_structure

ROOT = Path(__file__).resolve().parents[2]
FORMS_DIR = ROOT / "tests" / "fixtures" / "forms"
BANKS_DIR = ROOT / "questionnaires" / "banks"
MINI_FORM = FORMS_DIR / "mini_test.md"

Tables = dict[str, list[list[str]]]  # sheet -> rows, the header first; "" for an empty cell


def read_tables(path: Path) -> Tables:
    """Return the sheets of the Markdown XLSForm at PATH."""
    structure = _md_table_to_ss_structure(path.read_text(encoding="utf-8"))
    return {sheet: [[cell or "" for cell in row] for row in rows] for sheet, rows in structure.items()}


def changed(tables: Tables) -> Tables:
    return copy.deepcopy(tables)


def set_cell(tables: Tables, sheet: str, name: str, column: str, value: str) -> None:
    """Set COLUMN of the row of SHEET whose `name` is NAME (adding the column if needed)."""
    header = tables[sheet][0]
    if column not in header:
        header.append(column)
        for row in tables[sheet][1:]:
            row.append("")
    for row in tables[sheet][1:]:
        if row[header.index("name")] == name:
            row[header.index(column)] = value
            return
    raise KeyError(f"no row named {name!r} in {sheet}")


def add_row(tables: Tables, sheet: str, index: int | None = None, **cells: str) -> None:
    """Add a row to SHEET (at data row INDEX, 0 = first) with CELLS by column name."""
    header = tables[sheet][0]
    unknown = set(cells) - set(header)
    if unknown:
        raise KeyError(f"{sheet} has no column {sorted(unknown)}")
    row = [cells.get(column, "") for column in header]
    if index is None:
        tables[sheet].append(row)
    else:
        tables[sheet].insert(index + 1, row)


def delete_row(tables: Tables, sheet: str, index: int) -> None:
    """Delete data row INDEX (0 = the first row after the header) of SHEET."""
    del tables[sheet][index + 1]


def to_markdown(tables: Tables) -> bytes:
    lines: list[str] = []
    for sheet, rows in tables.items():
        lines.append(f"| {sheet} |")
        lines.extend("| | " + " | ".join(row) + " |" for row in rows)
        lines.append("")
    return "\n".join(lines).encode("utf-8")


def _cell(text: str) -> str | int | float | None:
    """Return TEXT as a spreadsheet would hold it: plain numbers as numbers, nothing for empty."""
    if text == "":
        return None
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    if re.fullmatch(r"-?[0-9]+\.[0-9]+", text):
        return float(text)
    return text


def to_xlsx(tables: Tables) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet, rows in tables.items():
        worksheet = workbook.create_sheet(sheet)
        for i, row in enumerate(rows):
            worksheet.append(row if i == 0 else [_cell(c) for c in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_csv(tables: Tables) -> bytes:
    """Return TABLES as a pyxform .csv form: a sheet's name in the first column, its rows after it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for sheet, rows in tables.items():
        writer.writerow([sheet])
        for row in rows:
            writer.writerow(["", *row])
    return buffer.getvalue().encode("utf-8")
