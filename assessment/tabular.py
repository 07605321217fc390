"""Read an uploaded CSV or XLSX table into rows that remember their spreadsheet row numbers."""
from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.utils.translation import gettext as _

from assessment.errors import ImportProblem, ImportRejected

# What reading a damaged workbook raises: a bad zip, a missing part, broken XML (ElementTree's
# and lxml's parse errors are SyntaxErrors), truncated or corrupt compressed data.
UNREADABLE = (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError, SyntaxError, zlib.error)

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 64  # of a spreadsheet; frames and listings have a dozen


@dataclass(frozen=True)
class Table:
    """Header (as written in the file) and data rows as (spreadsheet row number, {header: text})."""

    headers: list[str]
    rows: list[tuple[int, dict[str, str]]]
    sheet: str | None = None
    header_row: int = 1


def _reject(message: str) -> ImportRejected:
    return ImportRejected([ImportProblem(None, None, message)])


def _text_of(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 1200 as 1200.0
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value).strip()


def _decode(data: bytes) -> str:
    if b"\x00" in data:  # PostgreSQL text cannot hold NUL; a CSV never has one
        raise _reject(_("文件不是文本格式的 CSV（含有二进制内容）。请上传 CSV 或 XLSX 文件。"))
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GB18030 (GBK)
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _reject(_("无法识别文件编码：CSV 文件须为 UTF-8 或 GB18030（GBK）编码。"))


def _csv_rows(data: bytes) -> list[tuple[int, list[str]]]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    try:
        return [(i, row) for i, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1)]
    except csv.Error as exc:
        raise _reject(_("CSV 文件格式有误：%(error)s") % {"error": exc}) from exc


def _xlsx_rows(data: bytes, sheet_names: Sequence[str]) -> tuple[str, list[tuple[int, list[str]]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except UNREADABLE as exc:
        raise _reject(_("无法读取 XLSX 工作簿：文件已损坏或不是 XLSX 格式。")) from exc
    try:
        names = list(book.sheetnames)
        wanted = {n.lower() for n in sheet_names}
        chosen = next((n for n in names if n.strip().lower() in wanted), None)
        if chosen is None and len(names) == 1:
            chosen = names[0]
        if chosen is None:
            raise _reject(
                _("工作簿中没有名为“%(wanted)s”的工作表（现有：%(found)s）。")
                % {"wanted": _("”或“").join(sheet_names), "found": _("、").join(names)}
            )
        sheet = book[chosen]
        # A workbook states its own size, and read-only openpyxl pads every row to it: a 1.5 KB
        # file claiming A1:XFD1048576 would fill the memory.  Read what is there, up to a limit.
        if (sheet.max_row or 0) > MAX_ROWS + 1:
            raise _reject(_("文件行数太多（超过 %(n)d 行）。") % {"n": MAX_ROWS})
        sheet.reset_dimensions()
        rows = []
        for i, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1):
            if i > MAX_ROWS + 1:
                raise _reject(_("文件行数太多（超过 %(n)d 行）。") % {"n": MAX_ROWS})
            cells = [_text_of(v) for v in values]
            while cells and not cells[-1]:  # a padded row keeps only what it holds
                cells.pop()
            rows.append((i, cells))
    except ImportRejected:
        raise
    except UNREADABLE as exc:  # read-only sheets are parsed as they are read
        raise _reject(_("无法读取 XLSX 工作簿：文件已损坏或不是 XLSX 格式。")) from exc
    finally:
        book.close()
    return chosen, rows


def table_read(data: bytes, filename: str, *, sheet_names: Sequence[str] = ()) -> Table:
    """Return the table in DATA (XLSX by content or extension, otherwise CSV); raise ImportRejected."""
    if not data or not data.strip():
        raise _reject(_("文件是空的。"))
    if len(data) > MAX_BYTES:
        raise _reject(_("文件太大（超过 %(mb)d MB）。") % {"mb": MAX_BYTES // (1024 * 1024)})
    sheet = None
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
        sheet, raw = _xlsx_rows(data, sheet_names)
    else:
        raw = _csv_rows(data)
    raw = [(i, [c.strip() for c in row]) for i, row in raw if any(c.strip() for c in row)]
    if not raw:
        raise _reject(_("文件是空的。"))
    header_row, header = raw[0]
    headers = [h.lstrip("\ufeff").strip() for h in header]
    seen: set[str] = set()
    for h in headers:
        if h and h.lower() in seen:
            raise ImportRejected([ImportProblem(header_row, h, _("列名重复。"))])
        seen.add(h.lower())
    rows = []
    for number, values in raw[1:]:
        if len(values) > len(headers) and any(values[len(headers):]):
            raise ImportRejected([ImportProblem(number, None, _("这一行的数据比表头的列多。"))])
        rows.append((number, {h: (values[j] if j < len(values) else "") for j, h in enumerate(headers) if h}))
    if not rows:
        raise _reject(_("文件只有表头，没有数据行。"))
    if len(rows) > MAX_ROWS:
        raise _reject(_("文件行数太多（超过 %(n)d 行）。") % {"n": MAX_ROWS})
    return Table(headers=[h for h in headers if h], rows=rows, sheet=sheet, header_row=header_row)


def columns_match(table: Table, aliases: Mapping[str, Sequence[str]], required: Sequence[str]) -> dict[str, str]:
    """Return {field: header in the file} for the fields whose header (or an alias) is present.

    Raise ImportRejected naming every required field whose column is missing.
    """
    found: dict[str, str] = {}
    lowered = {h.lower(): h for h in table.headers}
    for field, names in aliases.items():
        for name in (field, *names):
            if name.lower() in lowered:
                found[field] = lowered[name.lower()]
                break
    missing = [f for f in required if f not in found]
    if missing:
        raise ImportRejected(
            [
                ImportProblem(
                    table.header_row, f, _("缺少这一列（可用列名：%(names)s）。") % {"names": _("、").join((f, *aliases[f]))}
                )
                for f in missing
            ]
        )
    return found
