"""Read an uploaded CSV or XLSX table into rows that remember their spreadsheet row numbers."""
from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

from assessment import xlsx
from assessment.errors import ImportProblem, ImportRejected

# What reading a damaged workbook with openpyxl raises (questionnaires/xlsform.py; tables are read by
# assessment/xlsx.py): a bad zip, a missing part, broken XML (ElementTree's and lxml's parse errors
# are SyntaxErrors), truncated or corrupt compressed data.
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


def _decode(data: bytes) -> str:
    if b"\x00" in data:  # PostgreSQL text cannot hold NUL; a CSV never has one
        raise _reject(_("文件不是文本格式的 CSV（含有二进制内容）。请上传 CSV 或 XLSX 文件。"))
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GB18030 (GBK)
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _reject(_("无法识别文件编码：CSV 文件须为 UTF-8 或 GB18030（GBK）编码。"))


# The rows of a file that hold something, their cells stripped, with their spreadsheet row numbers.
Rows = list[tuple[int, tuple[str, ...]]]

_END = "\x00"  # a line after the text: no CSV holds NUL (`_decode`), so a record holding it ran past the end


def _csv_rows(data: bytes) -> Rows:
    lines = io.StringIO(_decode(data), newline="").readlines()
    first = lines[0] if lines else ""
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader([*lines, _END], delimiter=delimiter)
    rows: Rows = []
    number = read = 0  # rows, and their lines, read before the one being read
    try:
        for row in reader:
            number, read = number + 1, reader.line_num
            cells = tuple([c.strip() for c in row])  # tuples, which the garbage collector soon stops walking
            if any(cells):
                rows.append((number, cells))
    except csv.Error as exc:
        # A field past csv's size limit that starts with a quote is the rest of the file after a stray quote.
        if read < len(lines) and _opens_quote(lines[read], delimiter):
            raise _unclosed_quote(number + 1) from exc
        raise _reject(_("CSV 文件格式有误：%(error)s") % {"error": exc}) from exc
    if rows[-1][1] != (_END,):  # a quoted field ran into the end: its closing quote is missing
        raise _unclosed_quote(rows[-1][0])
    return rows[:-1]


def _opens_quote(line: str, delimiter: str) -> bool:
    """Whether LINE leaves a quoted field open at its end (False if LINE alone is past csv's size limit)."""
    try:
        return list(csv.reader([line, _END], delimiter=delimiter))[-1] != [_END]
    except csv.Error:
        return False


def _unclosed_quote(row: int) -> ImportRejected:
    """The rejection of a file whose quoted field starting in ROW never closes.

    csv reads such a field to the end of the file (or to its size limit); its strict mode says so
    only at the end, with the line where the file ends.  The row counted here is where it began.
    """
    return ImportRejected([ImportProblem(row, None, _(
        "这一行有一个英文双引号（\"）没有闭合，从它开始到文件末尾的内容都被读成了同一个单元格。"
        "请删去多余的引号，或在单元格内容的末尾补上引号。"
    ))])


def _xlsx_rows(data: bytes, sheet_names: Sequence[str]) -> tuple[str, Rows]:
    try:
        book = xlsx.Workbook(data)
        names = book.sheet_names
        wanted = {n.lower() for n in sheet_names}
        chosen = next((n for n in names if n.strip().lower() in wanted), None)
        if chosen is None and len(names) == 1:
            chosen = names[0]
        if chosen is None:
            raise _reject(
                _("工作簿中没有名为“%(wanted)s”的工作表（现有：%(found)s）。")
                % {"wanted": _("”或“").join(sheet_names), "found": _("、").join(names)}
            )
        # Only the cells there are: a 1.5 KB file claiming A1:XFD1048576 is refused by its claim, or read as it is.
        return chosen, book.rows(chosen, max_rows=MAX_ROWS + 1, max_columns=MAX_COLUMNS)
    except xlsx.TooManyRows as exc:
        raise _reject(_("文件行数太多（超过 %(n)d 行）。") % {"n": MAX_ROWS}) from exc
    except xlsx.XlsxError as exc:
        raise _reject(_("无法读取 XLSX 工作簿：文件已损坏或不是 XLSX 格式。")) from exc


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
    width, named = len(headers), all(headers)
    for number, values in raw[1:]:
        if len(values) > width and any(values[width:]):
            raise ImportRejected([ImportProblem(number, None, _("这一行的数据比表头的列多。"))])
        cells = dict(zip(headers, values + ("",) * (width - len(values))))  # padded to the header; at C speed
        if not named:
            cells.pop("", None)  # columns without a header are not read
        rows.append((number, cells))
    if not rows:
        raise _reject(_("文件只有表头，没有数据行。"))
    if len(rows) > MAX_ROWS:
        raise _reject(_("文件行数太多（超过 %(n)d 行）。") % {"n": MAX_ROWS})
    return Table(headers=[h for h in headers if h], rows=rows, sheet=sheet, header_row=header_row)


def columns_match(table: Table, aliases: Mapping[str, Sequence[str]], required: Sequence[str]) -> dict[str, str]:
    """Return {field: header in the file} for the fields whose header (or an alias) is present.

    Raise ImportRejected naming every field with two columns (say "code" and "代码": the second
    would be stored as an attribute) and every required field whose column is missing.
    """
    found: dict[str, str] = {}
    problems: list[ImportProblem] = []
    for field, names in aliases.items():
        wanted = {name.lower() for name in (field, *names)}
        present = [h for h in table.headers if h.lower() in wanted]  # in the file's order
        if present:
            found[field] = present[0]
        for other in present[1:]:
            problems.append(ImportProblem(table.header_row, other, _("“%(first)s”和“%(second)s”是同一列，请删去其中一列。")
                                          % {"first": present[0], "second": other}))
    problems += [
        ImportProblem(table.header_row, f, _("缺少这一列（可用列名：%(names)s）。") % {"names": _("、").join((f, *aliases[f]))})
        for f in required
        if f not in found
    ]
    if problems:
        raise ImportRejected(problems)
    return found
