"""Read one worksheet of an XLSX workbook as rows of text, fast and within bounds.

The values are those openpyxl's read-only, data-only mode gives (cached results of formulas,
shared and inline strings, booleans, numbers, dates by their cell's number format), written as
text by `text_of`; tests/assessment/test_tabular.py compares the two on many workbooks.

Parts are streamed from the zip, never unpacked whole, and only the rows that hold something are
kept.  Two readers share the work.  The fast one cuts the XML that Excel, WPS, LibreOffice and
openpyxl write for rows, cells and shared strings with regular expressions, which must account
for every byte of it; expat checks what comes before the rows, and the shared strings whole,
without calling back into Python.  Anything else (rich text, comments, prefixes, other encodings
or attributes) makes it give up, and the general reader reads the part again through expat
callbacks.  On 200,000 rows the fast reader takes 6 to 10 times less than openpyxl did, the
general one 3 to 4 times less (bench/results/tabular.txt).

A damaged or hostile workbook raises XlsxError: a part larger than its limit unpacked (zip bombs),
a DTD (entity expansion: "billion laughs", external entities), XML nested deeper than MAX_DEPTH,
broken XML, missing parts, bad numbers, a CRC that does not match.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from io import BytesIO
from typing import Any
from xml.parsers import expat

MAX_PART_BYTES = 256 * 1024 * 1024  # a sheet or string table unpacked: 200,000 rows of 8 columns take 60-90 MB
MAX_SMALL_PART_BYTES = 32 * 1024 * 1024  # the workbook, relationships and styles
MAX_DEPTH = 64  # of XML elements; a worksheet needs about 10
MAX_PROLOG = 1024 * 1024  # bytes before a sheet's rows or the first shared string, for the fast reader
CHUNK = 1 << 16
DIGITS = "0123456789"
REL_IDS = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships}id",
           "http://purl.oclc.org/ooxml/officeDocument/relationships}id")

# What reading a damaged workbook may raise besides XlsxError; all of it is turned into XlsxError.
DAMAGE = (zipfile.BadZipFile, KeyError, ValueError, IndexError, TypeError, OverflowError, expat.ExpatError,
          zlib.error, EOFError, OSError, RuntimeError)

Start = Callable[[str, dict[str, str]], None]
End = Callable[[str], None]
Rows = list[tuple[int, tuple[str, ...]]]


class XlsxError(ValueError):
    """The file is not an XLSX workbook that can be read."""


class TooManyRows(Exception):
    """The sheet has, or claims in its dimension, a row past the limit it is read with."""


class _Done(Exception):
    """The rest of the part is not needed."""


class _Unusual(Exception):
    """XML that the fast reader leaves to the general one."""


def text_of(value: object) -> str:
    """VALUE as the text of a cell: 1200.0 as "1200", dates in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 1200 as 1200.0
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value).strip()


@contextmanager
def _damage_refused() -> Iterator[None]:
    try:
        yield
    except (XlsxError, TooManyRows):
        raise
    except DAMAGE as exc:
        raise XlsxError(f"{type(exc).__name__}: {exc}") from exc


def _refuse(*_: object) -> None:
    raise XlsxError("a DTD")  # no part of a workbook has one; its entities are how XML bombs expand


def _too_deep() -> None:
    raise XlsxError("XML nested too deeply")


_COLUMNS: dict[str | bytes, int] = {}


def _column(letters: str | bytes) -> int:
    """The number of the column LETTERS ("A" = 1, "$AB" = 28, up to "XFD")."""
    text = letters.decode() if isinstance(letters, bytes) else letters
    number = 0
    for letter in text.replace("$", "").upper():
        if not "A" <= letter <= "Z":
            raise XlsxError(f"bad cell reference {text!r}")
        number = number * 26 + ord(letter) - 64
    if not 0 < number <= 16384:
        raise XlsxError(f"bad cell reference {text!r}")
    return _COLUMNS.setdefault(letters, number)


def _row_number(text: str) -> int:
    """A row number written as "12" or "12.0", as openpyxl reads it."""
    try:
        return int(text)
    except ValueError:
        number = float(text)
    if not number.is_integer():
        raise XlsxError(f"bad row number {text!r}")
    return int(number)


def _place(cells: list[str], column: int, text: str) -> None:
    """Put TEXT in COLUMN (1, 2, ...) of CELLS, as openpyxl: a later cell of the same column wins."""
    if column > len(cells):
        cells.extend([""] * (column - len(cells)))
    cells[column - 1] = text


def _names(root: str, expected: str, *locals_: str) -> tuple[str, ...]:
    """The expat names of LOCALS_ in the namespace of the root element ROOT, which must be EXPECTED."""
    namespace, _, local = root.rpartition("}")
    if local != expected:
        raise XlsxError(f"not a {expected}: {root}")
    prefix = namespace + "}" if namespace else ""
    return tuple(prefix + name for name in locals_)


class Workbook:
    """An XLSX package: its worksheets by name, in order; `rows` reads one of them."""

    def __init__(self, data: bytes) -> None:
        with _damage_refused():
            self.zip = zipfile.ZipFile(BytesIO(data))
            self.parts = set(self.zip.namelist())
            package = self._relationships("_rels/.rels", "")
            book = next((path for kind, path in package.values() if kind.endswith("/officeDocument")), "xl/workbook.xml")
            folder, name = posixpath.split(book)
            rels = self._relationships(posixpath.join(folder, "_rels", name + ".rels"), book)
            self.sheets: dict[str, str] = {}
            self.date1904 = False

            def start(name: str, attrs: dict[str, str]) -> None:
                local = name.rpartition("}")[2]
                if local == "workbookPr":
                    self.date1904 = attrs.get("date1904", "") not in ("", "false", "f", "0")  # as openpyxl's Bool
                elif local == "sheet" and "name" in attrs:
                    kind, path = rels.get(attrs.get(REL_IDS[0]) or attrs.get(REL_IDS[1]) or "", ("", ""))
                    if kind.endswith("/worksheet") and path in self.parts:
                        self.sheets.setdefault(attrs["name"], path)

            self._parse(book, start, limit=MAX_SMALL_PART_BYTES)
            found = {kind.rsplit("/", 1)[-1]: path for kind, path in rels.values()}
            self.strings_part = found.get("sharedStrings", "xl/sharedStrings.xml")
            self.styles_part = found.get("styles", "xl/styles.xml")

    @property
    def sheet_names(self) -> list[str]:
        return list(self.sheets)

    def rows(self, sheet: str, *, max_rows: int, max_columns: int, fast: bool = True) -> Rows:
        """The rows of SHEET that hold something: (spreadsheet row number, texts of columns 1 to MAX_COLUMNS).

        Raise TooManyRows at a row numbered past MAX_ROWS, XlsxError if the sheet cannot be read.
        FAST=False reads with the general reader only (for tests).
        """
        with _damage_refused():
            reader = _Sheet(self, max_rows=max_rows, max_columns=max_columns, fast=fast)
            return reader.fast(self.sheets[sheet]) if fast else reader.general(self.sheets[sheet])

    def _chunks(self, part: str, limit: int) -> Iterator[bytes]:
        """PART unpacked, a piece at a time; XlsxError past LIMIT bytes (the zip's stated size may lie)."""
        info = self.zip.getinfo(part)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.file_size > limit:
            raise XlsxError(f"{part}: {info.file_size} bytes unpacked, or an unusual compression")
        read = 0
        with self.zip.open(info) as stream:
            while chunk := stream.read(CHUNK):
                read += len(chunk)
                if read > limit:
                    raise XlsxError(f"{part}: more than {limit} bytes unpacked")
                yield chunk

    def _parse(self, part: str, start: Start, end: End | None = None, *, limit: int, text: list[str] | None = None,
               counts_depth: bool = False) -> None:
        """Stream PART through expat to START and END, with its character data in TEXT.

        Unless the callbacks say they keep to MAX_DEPTH themselves (COUNTS_DEPTH), they are wrapped to.
        """
        if not counts_depth:
            start, end = _depth_kept(start, end)
        parser = _parser()
        parser.StartElementHandler, parser.EndElementHandler = start, end
        if text is not None:
            parser.buffer_text, parser.buffer_size = True, CHUNK
            parser.CharacterDataHandler = text.append
        chunks = self._chunks(part, limit)
        try:
            for chunk in chunks:
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except _Done:
            _drain(chunks)

    def _relationships(self, part: str, source: str) -> dict[str, tuple[str, str]]:
        """{Id: (Type, part)} of the relationships in PART, whose targets are relative to SOURCE."""
        found: dict[str, tuple[str, str]] = {}
        folder = posixpath.dirname(source)

        def start(name: str, attrs: dict[str, str]) -> None:
            if name.rpartition("}")[2] == "Relationship" and attrs.get("TargetMode") != "External":
                target = attrs.get("Target", "")
                path = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
                found[attrs.get("Id", "")] = (attrs.get("Type", ""), path)

        if part in self.parts:
            self._parse(part, start, limit=MAX_SMALL_PART_BYTES)
        return found

    def strings(self, fast: bool = True) -> list[str]:
        """The shared strings, stripped (as openpyxl reads them, with its removal of "x005F_")."""
        if self.strings_part not in self.parts:
            return []
        if fast:
            try:
                return self._fast_strings()
            except _Unusual:
                pass
        strings: list[str] = []
        text: list[str] = []
        depth = 0
        si = t = r = "\0"
        plain, runs, in_run = "", [""], False  # of the string being read, as in `_Sheet.general`

        def start(name: str, attrs: dict[str, str]) -> None:
            nonlocal depth, si, t, r, plain, runs, in_run
            depth += 1
            text.clear()
            if depth == 2:
                if name == si:
                    plain, runs = "", []
            elif depth == 3:
                in_run = name == r
            elif depth == 1:
                si, t, r = _names(name, "sst", "si", "t", "r")
            elif depth > MAX_DEPTH:
                _too_deep()

        def end(name: str) -> None:
            nonlocal depth, plain
            if depth == 3:
                if name == t:
                    plain = "".join(text)  # the last one counts, as in openpyxl
            elif depth == 4:
                if name == t and in_run:
                    runs.append("".join(text))
            elif depth == 2 and name == si:
                strings.append((plain + "".join(runs)).replace("x005F_", "").strip())
            text.clear()
            depth -= 1

        self._parse(self.strings_part, start, end, limit=MAX_PART_BYTES, text=text, counts_depth=True)
        return strings

    def _fast_strings(self) -> list[str]:
        strings: list[str] = []
        checker = _parser()
        pending = b""
        started = False
        for chunk in self._chunks(self.strings_part, MAX_PART_BYTES):
            checker.Parse(chunk, False)
            pending += chunk
            if not started:
                end = _prolog_end(pending, b"sst")
                if end is None:
                    continue
                pending, started = pending[end:], True
            items, mark, rest = pending.rpartition(b"</si>")
            if mark:
                items = (items + mark).lstrip()
                found = _STRING.findall(items)
                wholes, texts = zip(*found) if found else ((), ())
                if sum(map(len, wholes)) != len(items):
                    raise _Unusual  # something among the strings that is not a plain <si>
                joined = b"\0".join(texts)  # no XML holds NUL: all the texts at once, at C speed
                if b"&" in joined or b"\r" in joined:
                    strings += [_xml_text(raw).replace("x005F_", "").strip() for raw in texts]
                else:
                    strings += map(str.strip, joined.decode().replace("x005F_", "").split("\0"))
                pending = rest
        checker.Parse(b"", True)
        if not started or pending.strip() != b"</sst>":
            raise _Unusual
        return strings

    def date_styles(self) -> tuple[set[int], set[int]]:
        """The cell styles (indexes into cellXfs) whose number format is a date, and those that are durations."""
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

        custom: dict[int, str | None] = {}
        formats: list[int] = []
        within: list[str] = []

        def start(name: str, attrs: dict[str, str]) -> None:
            local = name.rpartition("}")[2]
            if local == "numFmt" and within[-1:] == ["numFmts"]:
                custom[int(attrs["numFmtId"])] = attrs.get("formatCode")
            elif local == "xf" and within[-1:] == ["cellXfs"]:
                formats.append(int(attrs.get("numFmtId", 0)))
            within.append(local)

        def end(name: str) -> None:
            within.pop()

        if self.styles_part in self.parts:
            self._parse(self.styles_part, start, end, limit=MAX_SMALL_PART_BYTES)
        dates, durations = set(), set()
        for style, number_format in enumerate(formats):  # as openpyxl's Stylesheet._normalise_numbers
            code = custom[number_format] if number_format in custom else BUILTIN_FORMATS.get(number_format)
            if is_date_format(code):
                dates.add(style)
                if is_timedelta_format(code):
                    durations.add(style)
        return dates, durations


def _parser() -> Any:
    """An expat parser that refuses DTDs; by itself (no callbacks) it checks XML at C speed."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = _refuse
    return parser


def _open_elements(prolog: bytes) -> int:
    """How many elements are open at the end of PROLOG, which expat checks (and MAX_DEPTH)."""
    depth = 0

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        depth += 1

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1

    parser = _parser()
    parser.StartElementHandler, parser.EndElementHandler = _depth_kept(start, end)
    parser.Parse(prolog, False)
    return depth


def _drain(chunks: Iterator[bytes]) -> None:
    """Unpack the rest of a part unread, so that zipfile checks its CRC: damage that leaves the XML whole shows there."""
    for _ in chunks:
        pass


def _depth_kept(start: Start, end: End | None) -> tuple[Start, End]:
    """START and END, refusing XML nested deeper than MAX_DEPTH."""
    depth = 0

    def counted_start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            _too_deep()
        start(name, attrs)

    def counted_end(name: str) -> None:
        nonlocal depth
        depth -= 1
        if end is not None:
            end(name)

    return counted_start, counted_end


# The fast reader's XML: plain UTF-8 in the default namespace; a cell's attributes r, s, t in this
# order; a cell holds a formula and a value, or an inline string of one <t>.  Attribute values
# are checked to hold no "<", ">" or "&", so that a match cannot end inside one.
_ROW = re.compile(rb'<row(?: r="([0-9]+)")?((?:\s+[\w:.-]+="[^"<>&]*")*)\s*(/?)>')  # split at it: number, attributes, "/"
_CELL = re.compile(
    rb'(<c r="([A-Z]{1,3})[0-9]+"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?'
    rb'(?:\s*/>|>(?:<f(?:\s[^<>]*)?(?:/>|>[^<]*</f>))?(?:<v>([^<]*)</v>|<v\s*/>)?</c>'
    rb'|><is><t(?: xml:space="preserve")?>([^<]*)</t></is></c>)\s*)'
)
_STRING = re.compile(rb'(<si><t(?: xml:space="preserve")?>([^<]*)</t>(?:<phoneticPr[^<>]*/>)?</si>\s*)')
_DIMENSION = re.compile(rb'<dimension\s+ref="([^"<>]*)"')
_CONTROLS = bytes(set(range(32)) - {9, 10, 13})  # not characters of XML, nor U+FFFE and U+FFFF (in UTF-8 below)
_REFERENCE = re.compile(r"&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));|&")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _xml_text(raw: bytes) -> str:
    """The character data RAW as expat gives it (lines end in LF, references replaced), or XlsxError."""
    text = raw.decode()
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _REFERENCE.sub(_referenced, text) if "&" in text else text


def _referenced(match: re.Match[str]) -> str:
    if match[3]:
        return _NAMED[match[3]]
    if not match[1] and not match[2]:
        raise XlsxError("an entity that XML does not define")  # a DTD would, and none is allowed
    code = int(match[1], 16) if match[1] else int(match[2])
    if not (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF):
        raise XlsxError(f"a reference to a character that XML does not allow: {match[0]}")
    return chr(code)


def _prolog_end(data: bytes, root: bytes) -> int | None:
    """Where the content of the root element ROOT starts in DATA (None: read on), if what comes before is plain.

    Plain: an XML declaration of UTF-8 at most (no other encoding, DTD, comment or instruction),
    and ROOT without a prefix, so that the elements within share its namespace.
    """
    start = data.find(b"<" + root)
    end = data.find(b">", start)
    if start < 0 or end < 0:
        if len(data) > MAX_PROLOG:
            raise _Unusual
        return None
    head = data[:start].removeprefix(b"\xef\xbb\xbf").strip()
    if head and not re.fullmatch(rb"<\?xml\s[^<>?]*\?>", head):
        raise _Unusual
    encoding = re.search(rb"encoding\s*=\s*[\"']([^\"']*)", head)
    if encoding and encoding[1].lower() not in (b"utf-8", b"utf8"):
        raise _Unusual
    if data[end - 1:end] == b"/" or data[start + len(root) + 1:start + len(root) + 2] not in (b" ", b"\t", b"\r", b"\n", b">"):
        raise _Unusual
    return end + 1


class _Sheet:
    """The two readers of a worksheet and what they share: shared strings, date styles, the rows read."""

    def __init__(self, book: Workbook, *, max_rows: int, max_columns: int, fast: bool) -> None:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH, from_excel, from_ISO8601

        self.book, self.max_rows, self.max_columns = book, max_rows, max_columns
        self.strings = book.strings(fast=fast)
        self.dates, self.durations = book.date_styles()
        self.epoch = CALENDAR_MAC_1904 if book.date1904 else WINDOWS_EPOCH
        self.from_excel, self.from_iso = from_excel, from_ISO8601
        self.style_dates: dict[str | bytes | None, bool] = {None: False, b"": False}  # whether a style makes numbers dates
        self.rows: Rows = []
        self.expected = 1  # the next row; as openpyxl, a row numbered before one already read is skipped

    def value(self, kind: str, value: str, style: str | bytes | None) -> str:
        """The text of a cell of type KIND whose <v> holds VALUE (what the hot loops leave to others)."""
        if kind == "n":
            number: Any = float(value) if "." in value or "E" in value or "e" in value else int(value)  # as openpyxl
            is_date = bool(style) and int(style or 0) in self.dates
            if len(self.style_dates) < 1000:
                self.style_dates[style] = is_date  # for the hot loops
            if is_date:
                try:
                    number = self.from_excel(number, self.epoch, timedelta=int(style or 0) in self.durations)
                except (OverflowError, ValueError):
                    return "#VALUE!"  # as openpyxl: a date past the calendar
            return text_of(number)
        if kind == "s":
            index = int(value)
            if index < 0:
                raise XlsxError(f"no shared string {index}")
            return self.strings[index]
        if kind == "b":
            return str(bool(int(value)))
        if kind == "d":
            return text_of(self.from_iso(value))
        return value.strip()  # "str" (a formula's text), "e" (an error such as #N/A)

    def row_done(self, number: int, cells: list[str]) -> None:
        if number >= self.expected:
            if number > self.max_rows:
                raise TooManyRows
            self.expected = number + 1
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                self.rows.append((number, tuple(cells)))  # which the garbage collector soon stops walking

    def fast(self, part: str) -> Rows:
        """Read PART with regular expressions while its XML is plain; else with `general`."""
        try:
            return self._fast(part)
        except _Unusual:
            self.rows, self.expected = [], 1
            return self.general(part)

    def _fast(self, part: str) -> Rows:
        pending = b""
        started = False
        number = 0
        chunks = self.book._chunks(part, MAX_PART_BYTES)
        for chunk in chunks:
            pending += chunk
            if not started:
                end = _prolog_end(pending, b"worksheet")
                data = pending.find(b"<sheetData>", end or 0)
                if end is None or data < 0:
                    if len(pending) > MAX_PROLOG:
                        raise _Unusual
                    continue
                if b"<!" in pending[end:data] or b"<?" in pending[end:data]:
                    raise _Unusual
                if _open_elements(pending[:data]) != 1:  # the rows are not straight in the root
                    raise _Unusual
                self._dimension(pending[end:data])
                pending, started = pending[data + len(b"<sheetData>"):], True
            rows, mark, rest = pending.rpartition(b"</row>")
            number = self._rows(rows + mark, number)
            end = rest.find(b"</sheetData>")
            if end >= 0:
                self._rows(rest[:end], number)
                _drain(chunks)
                return self.rows
            pending = rest
        raise _Unusual  # no end of the rows: broken XML, which the general reader reports

    def _dimension(self, prolog: bytes) -> None:
        """Refuse at once a sheet that claims in its <dimension> more rows than may be read."""
        refs = _DIMENSION.findall(prolog)
        if len(refs) != prolog.count(b"<dimension"):
            raise _Unusual
        for ref in refs:
            last = ref.rpartition(b":")[2]
            digits = last[len(last.rstrip(b"0123456789")):]
            if digits and int(digits) > self.max_rows:
                raise TooManyRows

    def _rows(self, data: bytes, number: int) -> int:
        """Read the rows in DATA, whole rows from "<row" to "</row>"; return the number of the last.

        The hot loop of the fast reader: DATA is split at each "<row ...>" into its number,
        attributes, "/" (an empty row) and what follows (the cells and "</row>").
        """
        if len(data.translate(None, _CONTROLS)) != len(data) or b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data:
            raise XlsxError("a character that XML does not allow")  # NUL, which PostgreSQL cannot store, and others
        parts = _ROW.split(data)
        if parts[0].strip():
            raise _Unusual
        pieces = iter(parts)
        next(pieces)
        strings, style_dates, columns, max_columns, value, row_done = (
            self.strings, self.style_dates, _COLUMNS, self.max_columns, self.value, self.row_done
        )
        for ref, attributes, empty, content in zip(pieces, pieces, pieces, pieces, strict=True):
            if b"xmlns" in attributes or b' r="' in attributes:
                raise _Unusual  # a namespace declared here, the number in another place
            number = int(ref) if ref else number + 1
            cells: list[str] = []
            if not content.endswith(b"</row>"):  # the cells, "</row>" and the space before the next "<row"
                content = content.rstrip()
            if empty:
                if content:
                    raise _Unusual
                row_done(number, cells)
                continue
            first = len(content) - len(content.lstrip()) if content[:1].isspace() else 0
            left = len(content) - len(b"</row>") - first
            if not content.endswith(b"</row>"):
                raise _Unusual
            for whole, letters, style, kind, raw, inline in _CELL.findall(content, first, first + left):
                left -= len(whole)
                try:
                    column = columns[letters]
                except KeyError:
                    column = _column(letters)
                if column > max_columns:
                    continue
                if kind == b"s" and raw.isdigit():  # the usual cells first: a shared string, a whole number
                    cell = strings[int(raw)]
                elif raw.isdigit() and (not kind or kind == b"n") and style_dates.get(style) is False:
                    cell = raw.decode() if raw[0] != 48 else str(int(raw))  # "007" is 7
                elif kind == b"inlineStr":
                    cell = (inline.decode() if b"&" not in inline and b"\r" not in inline else _xml_text(inline)).strip()
                elif not raw:
                    cell = ""
                elif b"&" in raw or b"\r" in raw:
                    cell = value(kind.decode() or "n", _xml_text(raw), style or None)
                elif (not kind or kind == b"n") and style_dates.get(style) is False and (b"." in raw or b"E" in raw or b"e" in raw):
                    figure = float(raw)
                    cell = str(int(figure)) if figure.is_integer() else str(figure)  # as `text_of`
                else:
                    cell = value(kind.decode() or "n", raw.decode(), style or None)
                if column == len(cells) + 1:
                    cells.append(cell)
                else:
                    _place(cells, column, cell)
            if left:
                raise _Unusual  # something in the row that is not a plain cell
            row_done(number, cells)
        return number

    def general(self, part: str) -> Rows:
        """Read PART with expat callbacks: any XML a worksheet may hold."""
        text: list[str] = []
        c = v = row = t = r = sheet_data = dimension = "\0"  # once the root's namespace is known
        depth = number = column = 0
        cells: list[str] = []
        kind, style, value = "n", None, None
        plain, runs, in_run = "", [""], False  # of an inline string, as in `Workbook.strings`
        strings, style_dates, columns, max_columns, max_rows, convert, row_done = (
            self.strings, self.style_dates, _COLUMNS, self.max_columns, self.max_rows, self.value, self.row_done
        )

        def start(name: str, attrs: dict[str, str]) -> None:
            nonlocal depth, number, column, cells, kind, style, value, plain, runs, in_run
            nonlocal c, v, row, t, r, sheet_data, dimension
            depth += 1
            if depth == 4:
                if name == c:
                    ref = attrs.get("r")
                    if ref:
                        letters = ref.rstrip(DIGITS)
                        column = columns.get(letters) or _column(letters)
                    else:
                        column += 1
                    kind, style, value = attrs.get("t", "n"), attrs.get("s"), None
                    text.clear()
                    if kind == "inlineStr":
                        plain, runs = "", []
            elif depth == 5:
                text.clear()
            elif depth == 3:
                if name == row:
                    ref = attrs.get("r")
                    number = _row_number(ref) if ref else number + 1
                    cells, column = [], 0
                    text.clear()
            elif depth == 6:
                text.clear()
                in_run = name == r
            elif depth == 7:
                text.clear()
            elif depth == 1:
                c, v, row, t, r, sheet_data, dimension = _names(name, "worksheet", "c", "v", "row", "t", "r", "sheetData", "dimension")
            elif depth == 2 and name == dimension:
                last = attrs.get("ref", "").rpartition(":")[2]
                digits = last[len(last.rstrip(DIGITS)):]
                if digits and int(digits) > max_rows:  # it claims more rows than allowed: refuse at once
                    raise TooManyRows
            elif depth > MAX_DEPTH:
                _too_deep()

        def end(name: str) -> None:
            nonlocal depth, value, plain
            if depth == 5:
                if name == v:
                    if value is None:
                        value = "".join(text) or None  # the first <v>, as openpyxl
            elif depth == 4:
                if name == c and 0 < column <= max_columns:
                    if kind == "inlineStr":
                        cell = (plain + "".join(runs)).strip()
                    elif value is None:
                        cell = ""
                    elif kind == "s" and value.isdigit():
                        cell = strings[int(value)]
                    elif kind == "n" and value.isdigit() and style_dates.get(style) is False:
                        cell = str(int(value))
                    else:
                        cell = convert(kind, value, style)
                    if column == len(cells) + 1:
                        cells.append(cell)
                    else:
                        _place(cells, column, cell)
            elif depth == 3:
                if name == row:
                    row_done(number, cells)
            elif depth == 6:
                if name == t and kind == "inlineStr":
                    plain = "".join(text)  # the last one counts, as in openpyxl
            elif depth == 7:
                if name == t and in_run and kind == "inlineStr":
                    runs.append("".join(text))
            elif depth == 2 and name == sheet_data:
                raise _Done  # what follows (merged cells, links, page setup) is not data
            depth -= 1

        self.book._parse(part, start, end, limit=MAX_PART_BYTES, text=text, counts_depth=True)
        return self.rows
