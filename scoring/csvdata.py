"""Reading columns of a CSV file into numpy arrays, fast, for the command line.

The common case (comma-separated, one record per line, fields either bare or wholly
quoted without embedded commas, quotes or newlines) is parsed with vectorised numpy
operations on the file's bytes, in blocks of about a megabyte so that temporary arrays stay
in cache: field boundaries come from the positions of commas and newlines, numbers from
accumulating decimal digits (exact: an integer mantissa below 2**53 divided by a power of
ten is correctly rounded, as ``strtod``), labels from their bytes packed into 64-bit keys
(or hashed, for labels longer than 8 bytes). Anything else (embedded separators or quotes,
blank lines) falls back to Python's :mod:`csv` module. Only the columns asked for are
converted, all in one pass.

Missing values are empty fields and the tokens ``NA``, ``NaN``, ``nan``, ``NULL``,
``null``, ``N/A`` and ``.``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from scoring.arrays import Encoded, FloatArray, IntArray

MISSING_TOKENS = frozenset({"", "NA", "NaN", "nan", "NULL", "null", "N/A", "."})
# Mantissas up to 2**53 are exact doubles; dividing one by an exact power of ten (<= 1e22)
# rounds correctly.
_EXACT_MANTISSA = 2**53
_COMMA, _NEWLINE, _CR, _QUOTE, _DOT, _MINUS, _PLUS, _ZERO = 44, 10, 13, 34, 46, 45, 43, 48
_BLOCK = 1 << 20
_POW10 = 10.0 ** np.arange(23)

U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


class CsvError(ValueError):
    """A CSV file or one of its values cannot be used; the message names the place."""


class _NotSimple(Exception):
    """The fast parser cannot read this file; use the csv module."""


class CsvTable:
    """The header and rows of a CSV file; columns are converted on request.

    Parameters
    ----------
    path : str or Path
        The file (UTF-8, optionally with a byte-order mark).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = self.path.name
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise CsvError(f"{self.path}: cannot read the file ({exc.strerror})") from None
        start = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
        end = len(raw)
        while end > start and raw[end - 1] in (10, 13, 32):
            end -= 1
        if end <= start:
            raise CsvError(f"{self.name}: the file is empty")
        header_end = raw.find(b"\n", start, end)
        header_bytes = raw[start:end] if header_end < 0 else raw[start:header_end]
        try:
            header_text = header_bytes.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            raise CsvError(f"{self.name}: the header is not UTF-8 text") from None
        header = next(csv.reader([header_text]))
        self.header: tuple[str, ...] = tuple(name.strip() for name in header)
        if len(set(self.header)) != len(self.header):
            duplicate = next(h for h in self.header if self.header.count(h) > 1)
            raise CsvError(f"{self.name}: column {duplicate!r} appears twice in the header")
        self._raw = raw
        self._body = (end, end) if header_end < 0 else (header_end + 1, end)
        self.n_rows = 0 if header_end < 0 else raw.count(b"\n", header_end + 1, end) + 1
        self._texts: list[list[str]] | None = None
        self._numbers: dict[str, FloatArray] = {}
        self._labels: dict[str, Encoded] = {}

    def require(self, name: str) -> int:
        """Return the index of column `name`, or raise naming the file and its columns."""
        try:
            return self.header.index(name)
        except ValueError:
            columns = ", ".join(self.header)
            raise CsvError(f"{self.name}: no column {name!r} (columns: {columns})") from None

    def load(self, numbers: Sequence[str] = (), labels: Sequence[str] = ()) -> None:
        """Convert these columns in one pass over the file (later calls hit the cache)."""
        numbers = [n for n in dict.fromkeys(numbers) if n not in self._numbers]
        labels = [n for n in dict.fromkeys(labels) if n not in self._labels]
        for name in (*numbers, *labels):
            self.require(name)
        if not numbers and not labels:
            return
        if self.n_rows == 0:
            for name in numbers:
                self._numbers[name] = np.zeros(0)
            for name in labels:
                self._labels[name] = Encoded(codes=np.zeros(0, dtype=np.intp), labels=())
            return
        if self._texts is None:
            try:
                self._fast_load(numbers, labels)
                return
            except _NotSimple:
                self._texts = _slow_rows(self._raw, self._body, len(self.header), self.name)
        for name in numbers:
            j = self.header.index(name)
            self._numbers[name] = _numbers_from_texts(
                [row[j] for row in self._texts], name, self.name
            )
        for name in labels:
            j = self.header.index(name)
            self._labels[name] = _labels_from_texts([row[j] for row in self._texts])

    def numbers(self, name: str, *, allow_missing: bool = True) -> FloatArray:
        """Return the column as floats; missing values are NaN.

        Raises
        ------
        CsvError
            If a value is not a number (or missing when `allow_missing` is false); the
            message gives the column, the 1-based data row and the value.
        """
        self.load(numbers=[name])
        values = self._numbers[name]
        if not allow_missing and np.isnan(values).any():
            row = int(np.flatnonzero(np.isnan(values))[0])
            raise CsvError(f"{self.name}: column {name!r}, row {row + 1}: missing value")
        return values

    def labels(self, name: str) -> Encoded:
        """Return the column as dense codes of its sorted labels (-1 for missing).

        Labels that are all integers (written without leading zeros) become ints, labels
        that are all numbers become floats, others stay text; they sort accordingly.
        """
        self.load(labels=[name])
        return self._labels[name]

    def texts(self, name: str) -> list[str]:
        """Return the column as text (with the csv module: for small files)."""
        j = self.require(name)
        if self._texts is None:
            self._texts = _slow_rows(self._raw, self._body, len(self.header), self.name)
        return [row[j] for row in self._texts]

    # --- fast path ---------------------------------------------------------------------------

    def _fast_load(self, numbers: list[str], labels: list[str]) -> None:
        buffer = np.frombuffer(self._raw, dtype=np.uint8)
        windows = _windows(self._raw)
        n_columns = len(self.header)
        body_start, body_end = self._body
        blocks: list[tuple[int, int]] = []  # (start, stop) of about _BLOCK bytes of lines
        position = body_start
        while position < body_end:
            stop = min(position + _BLOCK, body_end)
            if stop < body_end:
                newline = self._raw.rfind(b"\n", position, stop)
                if newline < position:
                    newline = self._raw.find(b"\n", stop, body_end)
                    stop = body_end if newline < 0 else newline + 1
                else:
                    stop = newline + 1
            blocks.append((position, stop))
            position = stop
        columns = {name: self.header.index(name) for name in (*numbers, *labels)}
        number_parts: dict[str, list[FloatArray]] = {name: [] for name in numbers}
        key_parts: dict[str, list[U64]] = {name: [] for name in labels}
        text_parts: dict[str, list[dict[int, str]]] = {name: [] for name in labels}
        row_offset = 0
        for begin, stop in blocks:
            block = _Block(buffer, begin, stop, body_end, n_columns)
            for name in numbers:
                starts, ends = block.column(columns[name])
                number_parts[name].append(
                    _parse_numbers(buffer, starts, ends, name, self.name, row_offset)
                )
            for name in labels:
                starts, ends = block.column(columns[name])
                text_parts[name].append({})
                key_parts[name].append(
                    _label_keys(buffer, windows, starts, ends, text_parts[name][-1])
                )
            row_offset += block.n_rows
        if row_offset != self.n_rows:
            raise _NotSimple
        for name in numbers:
            self._numbers[name] = np.concatenate(number_parts[name])
        for name in labels:
            texts: dict[int, str] = {}
            for part in text_parts[name]:
                for key, text in part.items():
                    if texts.setdefault(key, text) != text:
                        raise CsvError("labels: two labels share a hash; please report this file")
            self._labels[name] = _encode_keys(np.concatenate(key_parts[name]), texts)


def _windows(raw: bytes) -> U64:
    """Return the big-endian 8-byte word starting at each byte of `raw` but the last 7.

    A strided view of the file's bytes: no copy.
    """
    count = max(len(raw) - 7, 0)
    return np.ndarray(shape=(count,), dtype=">u8", buffer=raw, offset=0, strides=(1,))


class _Block:
    """The lines of ``[begin, stop)``: positions of their separators, checked for shape."""

    def __init__(self, buffer: U8, begin: int, stop: int, body_end: int, n_columns: int) -> None:
        view = buffer[begin:stop]
        candidates = np.flatnonzero(view <= _COMMA)
        kinds = view[candidates]
        is_newline = kinds == _NEWLINE
        separators = candidates[(kinds == _COMMA) | is_newline] + begin
        n_newlines = int(is_newline.sum())
        if stop == body_end:
            separators = np.append(separators, body_end)  # the last line has no newline
            n_newlines += 1
        if separators.shape[0] != n_newlines * n_columns:
            raise _NotSimple
        grid = separators.reshape(-1, n_columns)
        last = grid[:, -1]
        # With as many newlines as lines, all at the line ends, the rest are commas.
        if not ((buffer[last[:-1]] == _NEWLINE).all() and
                (last[-1] == body_end or buffer[last[-1]] == _NEWLINE)):
            raise _NotSimple
        self.buffer = buffer
        self.begin = begin
        self.grid = grid
        self.n_rows = int(grid.shape[0])
        self.has_cr = bool((kinds == _CR).any())
        self.n_cr = int((kinds == _CR).sum()) if self.has_cr else 0
        self.n_quotes = int((kinds == _QUOTE).sum())
        self._quoted = 0

    def column(self, j: int) -> tuple[I64, I64]:
        """Return the start and end offsets of the fields of column `j`."""
        grid = self.grid
        buffer = self.buffer
        ends = grid[:, j]
        if j == 0:
            starts = np.empty(self.n_rows, dtype=np.int64)
            starts[0] = self.begin
            starts[1:] = grid[:-1, -1] + 1
        else:
            starts = grid[:, j - 1] + 1
        if self.has_cr and j == grid.shape[1] - 1:
            cr = (ends > starts) & (buffer[np.maximum(ends - 1, 0)] == _CR)
            if int(cr.sum()) != self.n_cr:
                raise _NotSimple  # a carriage return inside a line
            ends = ends - cr
        if self.n_quotes:
            lengths = ends - starts
            opening = (lengths >= 2) & (buffer[starts] == _QUOTE)
            closing = opening & (buffer[np.maximum(ends - 1, 0)] == _QUOTE)
            inside = (buffer[starts[~closing]] == _QUOTE).any()
            if inside:
                raise _NotSimple
            self._check_quotes()
            starts = np.where(closing, starts + 1, starts)
            ends = np.where(closing, ends - 1, ends)
        return starts, ends

    def _check_quotes(self) -> None:
        """Every quote must open or close a whole field: count the quoted fields of all columns."""
        if self._quoted:
            return
        grid = self.grid
        buffer = self.buffer
        ends = grid
        starts = np.empty_like(grid)
        starts[0, 0] = self.begin
        starts[1:, 0] = grid[:-1, -1] + 1
        starts[:, 1:] = grid[:, :-1] + 1
        if self.has_cr:
            last = ends[:, -1]
            ends = ends.copy()
            ends[:, -1] = last - ((last > starts[:, -1]) & (buffer[np.maximum(last - 1, 0)] == _CR))
        lengths = ends - starts
        closing = (lengths >= 2) & (buffer[starts] == _QUOTE) & (
            buffer[np.maximum(ends - 1, 0)] == _QUOTE
        )
        if int(closing.sum()) * 2 != self.n_quotes:
            raise _NotSimple  # quotes inside fields: use the csv module
        self._quoted = 1


def _field_bytes(buffer: U8, starts: I64, ends: I64) -> tuple[U8, IntArray]:
    """Return the bytes of the fields transposed, shape (width, rows), zero past each end."""
    lengths = (ends - starts).astype(np.intp)
    width = max(int(lengths.max(initial=0)), 1)
    offsets = np.arange(width, dtype=np.int64)[:, None]
    index = np.minimum(starts[None, :] + offsets, buffer.shape[0] - 1)
    out = np.take(buffer, index)
    out[offsets >= lengths[None, :]] = 0
    return out, lengths


def _parse_numbers(
    buffer: U8, starts: I64, ends: I64, column: str, file: str, row_offset: int
) -> FloatArray:
    """Return the fields as numbers: plain decimals vectorised, the rest one by one."""
    matrix, lengths = _field_bytes(buffer, starts, ends)
    digits = matrix - np.uint8(_ZERO)
    is_digit = digits < 10
    is_dot = matrix == _DOT
    first = matrix[0]
    negative = first == _MINUS
    # Every byte must be a digit, the one dot, a leading sign or padding past the end.
    allowed = is_digit | is_dot | (matrix == 0)
    allowed[0] |= negative | (first == _PLUS)
    ok = allowed.all(axis=0) & (is_dot.sum(axis=0) <= 1) & is_digit.any(axis=0)
    ok &= (lengths > 0) & (lengths <= 18)
    scale = np.where(is_digit, 10.0, 1.0)
    addend = np.where(is_digit, digits, 0).astype(np.float64)
    mantissa = np.zeros(matrix.shape[1])
    for k in range(matrix.shape[0]):
        mantissa *= scale[k]
        mantissa += addend[k]
    fraction = (is_digit & np.logical_or.accumulate(is_dot, axis=0)).sum(axis=0)
    # Mantissas past 2**53 are not exact: those rows go to float().
    ok &= mantissa <= _EXACT_MANTISSA
    values = mantissa / _POW10[np.minimum(fraction, 22)]
    values = np.where(negative, -values, values)
    bad_rows = np.flatnonzero(~ok)
    if bad_rows.shape[0]:
        values = np.where(ok, values, np.nan)
        for row in bad_rows:
            text = buffer[int(starts[row]):int(ends[row])].tobytes().decode("utf-8", "replace")
            values[row] = _number(text, column, row_offset + int(row), file)
    return np.asarray(values, dtype=np.float64)


def _number(text: str, column: str, row: int, file: str) -> float:
    stripped = text.strip()
    if stripped in MISSING_TOKENS:
        return math.nan
    try:
        return float(stripped)
    except ValueError:
        raise CsvError(f"{file}: column {column!r}, row {row + 1}: {text!r} is not a number") from None


# Mask keeping the first L bytes of a big-endian word, for L = 0..8.
_PREFIX_MASKS = np.array(
    [0] + [(0xFFFFFFFFFFFFFFFF << (8 * (8 - length))) & 0xFFFFFFFFFFFFFFFF for length in range(1, 9)],
    dtype=np.uint64,
)


def _label_keys(
    buffer: U8, windows: U64, starts: I64, ends: I64, texts: dict[int, str]
) -> U64:
    """Return a 64-bit key per field and record the text of each new key.

    Labels of up to 8 bytes are their bytes packed big-endian (keys sort as the byte
    strings do); longer labels are hashed (FNV-1a), and every key must keep one text.
    """
    lengths = (ends - starts).astype(np.intp)
    limit = windows.shape[0] - 1
    keys = windows[np.minimum(starts, max(limit, 0))].astype(np.uint64) if limit >= 0 else (
        np.zeros(starts.shape[0], dtype=np.uint64)
    )
    for row in np.flatnonzero(starts > limit):
        # The last few bytes of the file have no full 8-byte window.
        tail = buffer[int(starts[row]):int(starts[row]) + 8].tobytes().ljust(8, b"\0")
        keys[row] = np.uint64(int.from_bytes(tail, "big"))
    keys &= _PREFIX_MASKS[np.minimum(lengths, 8)]
    long = lengths > 8
    if long.any():
        matrix, _ = _field_bytes(buffer, starts, ends)
        hashed = np.full(starts.shape[0], np.uint64(1469598103934665603), dtype=np.uint64)
        prime = np.uint64(1099511628211)
        with np.errstate(over="ignore"):
            for k in range(matrix.shape[0]):
                hashed ^= matrix[k].astype(np.uint64)
                hashed *= prime
        keys = np.where(long, hashed, keys)
        uniques, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        representative = first[inverse.reshape(-1)]
        if not (matrix == matrix[:, representative]).all():
            raise CsvError("labels: two labels share a hash; please report this file")
        for key, row in zip(uniques.tolist(), first.tolist()):
            text = buffer[int(starts[row]):int(ends[row])].tobytes().decode("utf-8", "replace")
            if texts.setdefault(key, text) != text:
                raise CsvError("labels: two labels share a hash; please report this file")
        return keys
    return keys


def _encode_keys(keys: U64, texts: dict[int, str]) -> Encoded:
    """Return codes of sorted labels from per-row keys and the text of long-label keys.

    The distinct keys are found from a sample and completed until every row's key is
    among them (cheap when labels are few, the usual case).
    """
    step = max(1, keys.shape[0] // 8192)
    distinct = np.unique(keys[::step])
    while True:
        index = np.minimum(np.searchsorted(distinct, keys), distinct.shape[0] - 1)
        missing = distinct[index] != keys
        if not missing.any():
            break
        distinct = np.unique(np.concatenate([distinct, np.unique(keys[missing])]))
    labels = [
        texts[key] if key in texts
        else int(key).to_bytes(8, "big").rstrip(b"\0").decode("utf-8", "replace")
        for key in distinct.tolist()
    ]
    return _sorted_labels(index.astype(np.intp), labels)


def _sorted_labels(codes: IntArray, texts: list[str]) -> Encoded:
    """Return codes renumbered in label order; numeric labels sort and print as numbers.

    Missing tokens get code -1.
    """
    stripped = [text.strip() for text in texts]
    missing = [text in MISSING_TOKENS for text in stripped]
    kept = [i for i in range(len(texts)) if not missing[i]]
    numbers: list[float] = []
    numeric = True
    for i in kept:
        try:
            value = float(stripped[i])
        except ValueError:
            numeric = False
            break
        if math.isnan(value):
            numeric = False
            break
        numbers.append(value)
    labels: list[object]
    if numeric and kept:
        labels = [int(v) if _is_int_text(stripped[i]) else v for v, i in zip(numbers, kept)]
        order = sorted(range(len(kept)), key=lambda j: numbers[j])
    else:
        labels = [stripped[i] for i in kept]
        order = sorted(range(len(kept)), key=lambda j: stripped[kept[j]])
    rank = np.full(len(texts), -1, dtype=np.intp)
    for new, j in enumerate(order):
        rank[kept[j]] = new
    remapped = rank[codes] if codes.size else codes
    return Encoded(codes=np.asarray(remapped, dtype=np.intp), labels=tuple(labels[j] for j in order))


def _is_int_text(text: str) -> bool:
    body = text[1:] if text[:1] == "-" else text
    return body.isdigit() and (len(body) == 1 or not body.startswith("0"))


# --- slow path ----------------------------------------------------------------------------------


def _slow_rows(raw: bytes, body: tuple[int, int], n_columns: int, file: str) -> list[list[str]]:
    try:
        text = raw[body[0]:body[1]].decode("utf-8")
    except UnicodeDecodeError:
        raise CsvError(f"{file}: the file is not UTF-8 text") from None
    rows: list[list[str]] = []
    for line_number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != n_columns:
            raise CsvError(
                f"{file}: row {line_number} has {len(row)} fields but the header has {n_columns}"
            )
        rows.append(row)
    return rows


def _numbers_from_texts(texts: list[str], column: str, file: str) -> FloatArray:
    return np.array(
        [_number(text, column, row, file) for row, text in enumerate(texts)], dtype=np.float64
    )


def _labels_from_texts(texts: list[str]) -> Encoded:
    index: dict[str, int] = {}
    codes = np.empty(len(texts), dtype=np.intp)
    for row, text in enumerate(texts):
        codes[row] = index.setdefault(text, len(index))
    return _sorted_labels(codes, list(index))
