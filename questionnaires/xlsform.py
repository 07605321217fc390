"""Read, validate and write XLSForm workbooks (xlsx, xls, csv or Markdown) and scoring-key files.

The standard sheets (`survey`, `choices`, `settings`) are read with pyxform's reader; our
scoring extension sheets (`dimensions`, `benchmarks`, `groups`) with pyxform's lower-level
table readers (openpyxl for .xlsx, xlrd for .xls), since pyxform skips sheets it does not
know.  A .csv form cannot carry the extension sheets, so it can hold only unscored forms.
Nothing here touches the database: `questionnaires.services` stores what the readers return,
and passes in what they need to know of other instruments (`ModuleLookup`, `KeyBase`).
Every problem is collected with its sheet, row and column, and the file is refused whole.

`write_xlsform` and `write_key_file` turn the same descriptions back into .xlsx workbooks
that the readers accept: import → export → import gives the same form and the same key.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import models
from openpyxl import Workbook, load_workbook
from pyxform.errors import PyXFormError
from pyxform.xls2json_backends import (
    DefinitionData,
    _md_table_to_ss_structure,
    get_excel_column_headers,
    get_excel_rows,
    get_xlsform,
    xls_value_to_unicode,
    xlsx_value_to_str,
)
from xlrd import XLRDError
from xlrd import open_workbook as xlrd_open
from xlrd.compdoc import CompDocError

from assessment.tabular import UNREADABLE
from questionnaires.expressions import ExpressionError, Node, parse, references
from questionnaires.models import (
    BenchmarkRule,
    Choice,
    ChoiceList,
    Dimension,
    GroupRule,
    Instrument,
    Item,
    ScoringKey,
    Section,
)

EXTENSION_SHEETS = ("dimensions", "benchmarks", "groups")
# What reading a damaged form file raises (the workbook's own, pyxform's, xlrd's, the CSV reader's).
UNREADABLE_FORM = (PyXFormError, XLRDError, CompDocError, csv.Error, *UNREADABLE)
LANGS = ("zh", "en")
LANG_HEADERS = {"zh": "中文 (zh)", "en": "English (en)"}
_LANG_COLUMN = re.compile(r"^(?P<field>[a-z_]+)::.*\((?P<lang>[A-Za-z\-]+)\)\s*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-.]*$")
# PostgreSQL refuses NUL in text, and openpyxl cannot write the other C0 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_POPULATION = re.compile(r"^(?P<low>\d{1,3})-(?P<high>\d{1,3})$")
IGNORED_TYPES = {"start", "end", "today", "deviceid", "username", "audit"}
SCALAR_TYPES = {"integer": "integer", "decimal": "decimal", "text": "text", "note": "note"}
KINDS = {"true_false", "single", "multiple", "situational", "likert"}
SCORED_KINDS = {"true_false", "single", "multiple", "situational"}
SCORABLE_TYPES = ("true_false", "single", "multiple")
SCORING_COLUMNS = ("points", "correct", "dimension")
INSTRUMENT_KINDS = ("test", "module")
MAX_AGE = 150

ModuleLookup = Callable[[str], Collection[str]]
"""Return the question names of a module a form `requires`; raise LookupError saying why not."""


@dataclass(frozen=True)
class FormProblem:
    sheet: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.sheet
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f" column '{self.column}'"
        return f"{where}: {self.message}"


class XLSFormError(ValueError):
    """A form that cannot be imported; `problems` lists every fault found."""

    def __init__(self, problems: list[FormProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass
class ParsedChoice:
    name: str
    labels: dict[str, str]
    extra: dict[str, str]


@dataclass
class ParsedItem:
    row: int
    name: str
    xlsform_type: str
    type: str
    list_name: str | None
    section: str | None
    situational: bool
    labels: dict[str, str]
    hints: dict[str, str]
    constraint_messages: dict[str, str]
    rationales: dict[str, str]
    required: bool
    relevant: str
    constraint: str
    appearance: str
    choice_filter: str
    randomize: bool
    points: Decimal | None
    correct: list[str]
    dimensions: list[str]
    extra: dict[str, str]


@dataclass
class ParsedSection:
    row: int
    name: str
    labels: dict[str, str]
    relevant: str
    appearance: str


@dataclass
class ParsedRule:
    row: int
    name: str
    labels: dict[str, str]
    values: dict[str, str]


@dataclass
class ParsedForm:
    form_id: str
    version: str
    titles: dict[str, str]
    settings: dict[str, str]
    sections: list[ParsedSection] = field(default_factory=list)
    items: list[ParsedItem] = field(default_factory=list)
    choice_lists: dict[str, list[ParsedChoice]] = field(default_factory=dict)
    dimensions: list[ParsedRule] = field(default_factory=list)
    benchmarks: list[ParsedRule] = field(default_factory=list)
    groups: list[ParsedRule] = field(default_factory=list)
    source: bytes = b""
    source_name: str = ""

    @property
    def source_hash(self) -> str:
        return hashlib.sha256(self.source).hexdigest()

    @property
    def is_scored(self) -> bool:
        return any(item.points is not None for item in self.items)

    @property
    def requires(self) -> list[str]:
        """Return the modules whose questions this form's expressions may read (settings `requires`)."""
        return self.settings.get("requires", "").split()


@dataclass
class ParsedItemKey:
    name: str
    points: Decimal
    correct: list[str]
    dimensions: list[str]
    row: int = 0


@dataclass
class ParsedKey:
    """A scoring key: item points and correct options, benchmark and group rules."""

    items: list[ParsedItemKey] = field(default_factory=list)
    benchmarks: list[ParsedRule] = field(default_factory=list)
    groups: list[ParsedRule] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    note: str = ""
    source: bytes = b""
    source_name: str = ""

    @classmethod
    def from_form(cls, form: ParsedForm) -> ParsedKey:
        """Return the key written in FORM's scoring columns and extension sheets."""
        return cls(
            items=[
                ParsedItemKey(i.name, i.points, list(i.correct), list(i.dimensions), i.row)
                for i in form.items
                if i.points is not None
            ],
            benchmarks=list(form.benchmarks),
            groups=list(form.groups),
        )

    def content(self) -> dict[str, Any]:
        """Return the key as canonical plain data: equal for equal keys, whatever file they came from."""

        def labels(rule: ParsedRule) -> list[str]:
            return [rule.labels.get("zh", rule.name), rule.labels.get("en", rule.name)]

        return {
            "items": sorted(
                [i.name, f"{i.points:.2f}", sorted(i.correct), sorted(i.dimensions)] for i in self.items
            ),
            "excluded": sorted(self.excluded),
            "benchmarks": [
                [
                    b.name, labels(b), b.values.get("scope", "total"), b.values.get("basis", ""),
                    float(b.values.get("threshold", "nan")),
                    [[n, c] for n, c in parse_levels(b.values.get("levels", ""))],
                ]
                for b in self.benchmarks
            ],
            "groups": [[g.name, labels(g), g.values.get("rule", "")] for g in self.groups],
        }

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.content(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class KeyBase:
    """What a key file is checked against and merged into: an instrument version and the key it revises."""

    form_id: str
    version: int
    questions: Mapping[str, tuple[str, tuple[str, ...]]]  # name -> (item type, option names), in form order
    dimensions: Mapping[str, str]  # code -> family
    key: ParsedKey
    key_version: int


Rows = list[tuple[int, dict[str, str]]]


def _language_of(code: str) -> str | None:
    code = code.lower()
    if code.startswith("zh"):
        return "zh"
    if code.startswith("en"):
        return "en"
    return None


def _translated(row: dict[str, str], column: str) -> dict[str, str]:
    """Return {lang: text} for COLUMN, from `column::Lang (xx)` headers or a plain `column`."""
    found: dict[str, str] = {}
    for header, value in row.items():
        if header == column and value:
            found.setdefault("zh", value)
            continue
        match = _LANG_COLUMN.match(header)
        if match and match.group("field") == column:
            lang = _language_of(match.group("lang"))
            if lang and value:
                found[lang] = value
    return found


def form_titles(settings: Mapping[str, str], form_id: str) -> dict[str, str]:
    """Return the form's titles: XLSForm's `form_title` (default language) and our `form_title_en`."""
    titles = _translated(dict(settings), "form_title") or {"zh": form_id}
    if settings.get("form_title_en"):
        titles["en"] = settings["form_title_en"]
    return titles


def _numbered(rows: Iterable[dict[str, Any]]) -> Rows:
    return [(n, {k: str(v).strip() for k, v in r.items() if v not in (None, "")}) for n, r in enumerate(rows, start=2) if r]


def _headers(table_header: Any) -> list[str]:
    """Return the column names pyxform found in a sheet's first row."""
    if not table_header:
        return []
    return [h for h in table_header[0] if h not in (None, "", "None")]


def _regex_patterns(node: Node) -> list[str]:
    """Return the literal patterns given to regex() anywhere in NODE."""
    found: list[str] = []
    if node[0] == "call":
        if node[1] == "regex" and node[2][1][0] == "str":
            found.append(node[2][1][1])
        for arg in node[2]:
            found += _regex_patterns(arg)
    elif node[0] == "op":
        found += _regex_patterns(node[2]) + _regex_patterns(node[3])
    elif node[0] == "neg":
        found += _regex_patterns(node[1])
    return found


def _yes(value: str | None) -> bool:
    return (value or "").strip().lower() in ("yes", "true", "true()", "1", "y")


def _max_length(model: type[models.Model], name: str) -> int:
    limit = model._meta.get_field(name).max_length
    assert limit is not None, f"{model.__name__}.{name} has no max_length"
    return int(limit)


def number_text(value: float | Decimal) -> str:
    """Return VALUE as a spreadsheet shows it: 70 rather than 70.0, 0.8 rather than 0.80."""
    number = float(value)
    if math.isfinite(number) and number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return repr(number) if isinstance(value, float) else format(Decimal(value).normalize(), "f")


class _SheetSource:
    """The sheets of one uploaded file: pyxform's standard sheets and our extension sheets."""

    def __init__(self, data: bytes, filename: str) -> None:
        self.data = data
        self.filename = filename
        self.suffix = Path(filename).suffix.lower()

    def standard(self) -> DefinitionData:
        try:
            return get_xlsform(self.data, file_type=self.suffix or None)
        except UNREADABLE_FORM as exc:
            raise XLSFormError([FormProblem("workbook", None, None, f"cannot read the file: {exc}")]) from exc

    def csv_sheet_names(self) -> list[str]:
        """Return the sheet names of a .csv form (its first column names a sheet)."""
        try:
            text = self.data.decode("utf-8")
        except UnicodeDecodeError:
            return []
        try:
            return [row[0].strip().lower() for row in csv.reader(io.StringIO(text, newline="")) if row and row[0].strip()]
        except csv.Error:
            return []  # reading the form itself then says what is wrong

    def extensions(self) -> dict[str, Rows]:
        """Return our extension sheets as numbered rows (row 1 is the header)."""
        try:
            if self.suffix == ".md":
                return self._markdown()
            if self.suffix in (".xlsx", ".xlsm"):
                return self._xlsx()
            if self.suffix == ".xls":
                return self._xls()
        except UNREADABLE_FORM as exc:
            raise XLSFormError([FormProblem("workbook", None, None, f"cannot read the extension sheets: {exc}")]) from exc
        return {}

    def _markdown(self) -> dict[str, Rows]:
        sheets: dict[str, Rows] = {}
        for name, table in _md_table_to_ss_structure(self.data.decode("utf-8")).items():
            if not name or name.lower() not in EXTENSION_SHEETS or not table:
                continue
            header = [h or "" for h in table[0]]
            rows: Rows = []
            for n, cells in enumerate(table[1:], start=2):
                rows.append((n, {h: c for h, c in zip(header, cells) if h and c not in (None, "")}))
            sheets[name.lower()] = rows
        return sheets

    def _xlsx(self) -> dict[str, Rows]:
        sheets: dict[str, Rows] = {}
        workbook = load_workbook(io.BytesIO(self.data), read_only=True, data_only=True)
        try:
            for sheet_name in workbook.sheetnames:
                if sheet_name.lower() not in EXTENSION_SHEETS:
                    continue
                sheet = workbook[sheet_name]
                headers = get_excel_column_headers(c.value for c in next(sheet.rows, []))
                raw = get_excel_rows(
                    headers=headers,
                    rows=sheet.iter_rows(min_row=2, max_col=len(headers)),
                    cell_func=lambda cell, _r, _k: xlsx_value_to_str(
                        cell.value.strip() if isinstance(cell.value, str) else cell.value
                    ),
                )
                sheets[sheet_name.lower()] = [(n, r) for n, r in enumerate(raw, start=2) if r]
        finally:
            workbook.close()
        return sheets

    def _xls(self) -> dict[str, Rows]:
        sheets: dict[str, Rows] = {}
        book = xlrd_open(file_contents=self.data)
        try:
            for sheet in book.sheets():
                if sheet.name.lower() not in EXTENSION_SHEETS or sheet.nrows == 0:
                    continue
                headers = get_excel_column_headers(c.value for c in sheet.row(0))
                raw = get_excel_rows(
                    headers=headers,
                    rows=(tuple(sheet.cell(r, c) for c in range(min(len(headers), sheet.ncols))) for r in range(1, sheet.nrows)),
                    cell_func=lambda cell, _r, _k: xls_value_to_unicode(
                        cell.value.strip() if isinstance(cell.value, str) else cell.value, cell.ctype, book.datemode
                    ),
                )
                sheets[sheet.name.lower()] = [(n, r) for n, r in enumerate(raw, start=2) if r]
        finally:
            book.release_resources()
        return sheets


class _Reader:
    def __init__(self, data: bytes, filename: str, modules: ModuleLookup | None = None) -> None:
        self.source = _SheetSource(data, filename)
        self.data = data
        self.filename = filename
        self.modules = modules
        self.problems: list[FormProblem] = []

    def problem(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        self.problems.append(FormProblem(sheet, row, column, message))

    def check_expression(
        self, sheet: str, row: int, column: str, text: str, names: Collection[str] | None, earlier: Collection[str] | None = None
    ) -> None:
        """Check TEXT parses and reads only NAMES; with EARLIER, only the answers given before it
        (a condition is evaluated on those: a later one would leave it always false)."""
        if not text:
            return
        try:
            tree = parse(text)
        except ExpressionError as exc:
            self.problem(sheet, row, column, f"bad expression {text!r}: {exc}")
            return
        if names is not None:
            for ref in sorted(references(tree) - set(names)):
                self.problem(sheet, row, column, f"${{{ref}}} does not name a question of this form")
            if earlier is not None:
                for ref in sorted((references(tree) & set(names)) - set(earlier)):
                    self.problem(sheet, row, column, f"${{{ref}}} is answered at or after this question: a condition can only read earlier answers")
        for pattern in _regex_patterns(tree):
            try:
                re.compile(pattern)
            except re.error as exc:
                self.problem(sheet, row, column, f"bad regular expression {pattern!r}: {exc}")

    def check_length(self, sheet: str, row: int, column: str, value: str, model: type[models.Model], name: str) -> bool:
        """Refuse VALUE when it is longer than the model field that will hold it; return whether it fits."""
        limit = _max_length(model, name)
        if len(value) > limit:
            self.problem(sheet, row, column, f"{value[:20]!r}… is {len(value)} characters long; at most {limit} fit")
            return False
        return True

    def check_labels(self, sheet: str, row: int, labels: Mapping[str, str], model: type[models.Model], column: str = "label") -> None:
        for lang, text in labels.items():
            self.check_length(sheet, row, f"{column} ({lang})", text, model, f"{column}_{lang}")

    def check_cells(self, sheet: str, rows: Rows) -> None:
        for n, row in rows:
            for column, value in row.items():
                bad = _CONTROL.search(value)
                if bad:
                    self.problem(sheet, n, column, f"contains the control character U+{ord(bad.group()):04X}")

    def standard_sheets(self) -> tuple[Rows, Rows, Rows, DefinitionData]:
        if self.source.suffix == ".csv":
            unsupported = [s for s in self.source.csv_sheet_names() if s in EXTENSION_SHEETS]
            if unsupported:
                raise XLSFormError([
                    FormProblem(sheet, None, None, "a .csv form cannot carry the extension sheets "
                                "(dimensions, benchmarks, groups): save the form as .xlsx or .md")
                    for sheet in dict.fromkeys(unsupported)
                ])
        book = self.source.standard()
        survey = _numbered(book.survey or [])
        choices = _numbered(book.choices or [])
        settings_rows = _numbered(book.settings or [])
        for sheet, rows in (("survey", survey), ("choices", choices), ("settings", settings_rows)):
            self.check_cells(sheet, rows)
        return survey, choices, settings_rows, book

    def extension_sheets(self) -> dict[str, Rows]:
        sheets = self.source.extensions()
        for sheet, rows in sheets.items():
            self.check_cells(sheet, rows)
        return sheets

    def read(self) -> ParsedForm:
        survey, choices, settings_rows, _book = self.standard_sheets()
        extensions = self.extension_sheets()
        if not survey:
            raise XLSFormError([FormProblem("survey", None, None, "the survey sheet is missing or empty")])

        settings = settings_rows[0][1] if settings_rows else {}
        form_id = settings.get("form_id") or Path(self.filename).stem
        if not _NAME.match(form_id):
            self.problem("settings", 2, "form_id", f"form_id {form_id!r} must be a plain identifier")
        else:
            self.check_length("settings", 2, "form_id", form_id, Instrument, "code")
        form = ParsedForm(
            form_id=form_id,
            version=settings.get("version", "1"),
            titles=form_titles(settings, form_id),
            settings=settings,
            source=self.data,
            source_name=Path(self.filename).name,
        )
        self.check_settings(form)
        external = self.required_names(form)
        self.read_choices(form, choices)
        self.read_survey(form, survey, external)
        self.read_rules(form, extensions)
        self.check_scoring(form)
        if self.source.suffix == ".csv":
            self.refuse_csv_scoring(form)
        if self.problems:
            raise XLSFormError(self.problems)
        return form

    def check_settings(self, form: ParsedForm) -> None:
        settings = form.settings
        for lang, title in form.titles.items():
            self.check_length("settings", 2, f"form_title ({lang})", title, Instrument, f"name_{lang}")
        kind = settings.get("instrument_kind")
        if kind is not None and kind not in INSTRUMENT_KINDS:
            self.problem("settings", 2, "instrument_kind", f"instrument_kind must be {' or '.join(INSTRUMENT_KINDS)}")
        population = settings.get("population")
        if population is not None:
            match = _POPULATION.match(population)
            if not match or not int(match["low"]) <= int(match["high"]) <= MAX_AGE:
                self.problem("settings", 2, "population", f"population must read MIN-MAX in years (0–{MAX_AGE}), e.g. 18-69")

    def required_names(self, form: ParsedForm) -> dict[str, str]:
        """Return {question name: module} for the modules named in settings `requires`."""
        external: dict[str, str] = {}
        for code in form.requires:
            if code == form.form_id:
                self.problem("settings", 2, "requires", f"a form cannot require itself ({code!r})")
                continue
            if self.modules is None:
                self.problem("settings", 2, "requires", f"requires {code!r}: other instruments cannot be looked up here")
                continue
            try:
                names = self.modules(code)
            except LookupError as exc:
                self.problem("settings", 2, "requires", str(exc.args[0] if exc.args else exc))
                continue
            for name in names:
                external.setdefault(name, code)
        return external

    def read_choices(self, form: ParsedForm, rows: Rows) -> None:
        seen: dict[str, set[str]] = {}
        for n, row in rows:
            list_name, name = row.get("list_name") or row.get("list name"), row.get("name")
            if not list_name:
                self.problem("choices", n, "list_name", "missing list_name")
                continue
            if not name:
                self.problem("choices", n, "name", "missing choice name")
                continue
            fits = self.check_length("choices", n, "list_name", list_name, ChoiceList, "name")
            fits = self.check_length("choices", n, "name", name, Choice, "name") and fits
            if not fits:
                continue
            options = form.choice_lists.setdefault(list_name, [])
            names = seen.setdefault(list_name, set())  # a set: lists of 20,000 choices stay linear
            if name in names:
                self.problem("choices", n, "name", f"duplicate choice {name!r} in list {list_name!r}")
                continue
            labels = _translated(row, "label")
            if not labels:
                self.problem("choices", n, "label", f"choice {name!r} has no label")
            self.check_labels("choices", n, labels, Choice)
            extra = {
                k: v for k, v in row.items()
                if k not in ("list_name", "list name", "name") and not k.startswith("label")
            }
            options.append(ParsedChoice(name=name, labels=labels, extra=extra))
            names.add(name)

    def read_survey(self, form: ParsedForm, rows: Rows, external: Mapping[str, str]) -> None:
        names: set[str] = set()
        open_sections: list[tuple[str, int]] = []
        pending_expressions: list[tuple[int, str, str, frozenset[str]]] = []  # with the names before the row
        for n, row in rows:
            raw_type = re.sub(r"\s+", " ", row.get("type", "")).strip()
            name = row.get("name", "")
            if not raw_type:
                self.problem("survey", n, "type", "missing type")
                continue
            base = raw_type.split(" ")[0].replace(" ", "_")
            if base in ("begin_group", "begin"):
                if raw_type not in ("begin_group", "begin group"):
                    self.problem("survey", n, "type", f"unknown type {raw_type!r}")
                    continue
                if not name or not _NAME.match(name):
                    self.problem("survey", n, "name", "a group needs a plain identifier as name")
                    continue
                if not self.check_length("survey", n, "name", name, Section, "name"):
                    continue
                if name in names:
                    self.problem("survey", n, "name", f"duplicate name {name!r}")
                names.add(name)
                open_sections.append((name, n))
                labels = _translated(row, "label")
                self.check_labels("survey", n, labels, Section)
                self.check_length("survey", n, "appearance", row.get("appearance", ""), Section, "appearance")
                form.sections.append(ParsedSection(n, name, labels, row.get("relevant", ""), row.get("appearance", "")))
                pending_expressions.append((n, "relevant", row.get("relevant", ""), frozenset(names - {name})))
                continue
            if base in ("end_group", "end"):
                if not open_sections:
                    self.problem("survey", n, "type", "end_group without a matching begin_group")
                else:
                    open_sections.pop()
                continue
            if base in IGNORED_TYPES:
                continue
            if not name or not _NAME.match(name):
                self.problem("survey", n, "name", f"missing or invalid name {name!r}")
                continue
            if not self.check_length("survey", n, "name", name, Item, "name"):
                continue
            if name in names:
                self.problem("survey", n, "name", f"duplicate name {name!r}")
                continue
            if name in external:
                self.problem("survey", n, "name", f"{name!r} is also a question of the required module {external[name]!r}")
                continue
            before = frozenset(names)
            names.add(name)
            item = self.read_item(form, n, row, raw_type, name, open_sections[-1][0] if open_sections else None)
            if item is None:
                continue
            form.items.append(item)
            for column in ("relevant", "constraint", "choice_filter"):  # a constraint may read the answer itself
                pending_expressions.append((n, column, row.get(column, ""), before | {name} if column == "constraint" else before))
        for section, begin_row in open_sections:
            self.problem("survey", begin_row, "type", f"group {section!r} is never closed with end_group")
        for n, column, text, earlier in pending_expressions:
            self.check_expression("survey", n, column, text, names | set(external), earlier | set(external))

    def read_item(
        self, form: ParsedForm, n: int, row: dict[str, str], raw_type: str, name: str, section: str | None
    ) -> ParsedItem | None:
        parts = raw_type.split(" ")
        kind = row.get("kind", "").strip()
        if kind and kind not in KINDS:
            self.problem("survey", n, "kind", f"unknown kind {kind!r} (use one of {', '.join(sorted(KINDS))})")
        list_name: str | None = None
        if parts[0] in ("select_one", "select_multiple"):
            if len(parts) != 2:
                self.problem("survey", n, "type", f"{parts[0]} needs exactly one choice list name")
                return None
            list_name = parts[1]
            if list_name not in form.choice_lists:
                self.problem("survey", n, "type", f"choice list {list_name!r} is not in the choices sheet")
            if parts[0] == "select_multiple":
                item_type = "multiple"
            elif kind == "true_false":
                item_type = "true_false"
            elif kind == "likert":
                item_type = "likert"
            else:
                item_type = "single"
        elif raw_type in SCALAR_TYPES:
            item_type = SCALAR_TYPES[raw_type]
        else:
            self.problem("survey", n, "type", f"unknown type {raw_type!r}")
            return None
        if not self.check_length("survey", n, "type", raw_type, Item, "xlsform_type"):
            return None
        points = self.read_points("survey", n, row.get("points", ""))
        parameters = row.get("parameters", "")
        item = ParsedItem(
            row=n,
            name=name,
            xlsform_type=raw_type,
            type=item_type,
            list_name=list_name,
            section=section,
            situational=kind == "situational",
            labels=_translated(row, "label"),
            hints=_translated(row, "hint"),
            constraint_messages=_translated(row, "constraint_message"),
            rationales=_translated(row, "rationale"),
            required=_yes(row.get("required")),
            relevant=row.get("relevant", ""),
            constraint=row.get("constraint", ""),
            appearance=row.get("appearance", ""),
            choice_filter=row.get("choice_filter", ""),
            randomize="randomize=true" in parameters.replace(" ", "").lower(),
            points=points,
            correct=row.get("correct", "").split(),
            dimensions=row.get("dimension", "").split(),
            extra={k: v for k, v in row.items() if k in ("kind", "parameters", "calculation")},
        )
        self.check_labels("survey", n, item.constraint_messages, Item, "constraint_message")
        self.check_length("survey", n, "appearance", item.appearance, Item, "appearance")
        return item

    def read_points(self, sheet: str, n: int, text: str, *, zero: bool = False) -> Decimal | None:
        """Return the points in TEXT (None if empty); ZERO admits 0 (a key file's 'leave out')."""
        if not text:
            return None
        try:
            points = Decimal(text)
        except InvalidOperation:
            self.problem(sheet, n, "points", f"points {text!r} is not a number")
            return None
        if zero and points == 0:
            return points
        # The key stores points as a decimal of 6 digits, 2 after the point.
        fits = points.is_finite() and 0 < points < 10000 and points == points.quantize(Decimal("0.01"))
        if not fits:
            self.problem(sheet, n, "points", "points must be a positive number below 10000, at most 2 decimals")
            return None
        return points

    def read_rules(self, form: ParsedForm, sheets: dict[str, Rows]) -> None:
        form.dimensions = self.rules(sheets, "dimensions", Dimension, "code")
        form.benchmarks = self.rules(sheets, "benchmarks", BenchmarkRule, "name")
        form.groups = self.rules(sheets, "groups", GroupRule, "name")
        for dim in form.dimensions:
            if not dim.values.get("family"):
                self.problem("dimensions", dim.row, "family", f"dimension {dim.name!r} has no family")
            else:
                self.check_length("dimensions", dim.row, "family", dim.values["family"], Dimension, "family")
        self.check_groups(form.groups, {i.name for i in form.items})

    def rules(self, sheets: dict[str, Rows], sheet: str, model: type[models.Model], name_field: str) -> list[ParsedRule]:
        found: list[ParsedRule] = []
        seen: set[str] = set()
        for n, row in sheets.get(sheet, []):
            name = row.get("name", "")
            if not name or not _NAME.match(name):
                self.problem(sheet, n, "name", f"missing or invalid name {name!r}")
                continue
            if not self.check_length(sheet, n, "name", name, model, name_field):
                continue
            if name in seen:
                self.problem(sheet, n, "name", f"duplicate name {name!r}")
                continue
            seen.add(name)
            labels = _translated(row, "label")
            if not labels:
                self.problem(sheet, n, "label", f"{name!r} has no label")
            self.check_labels(sheet, n, labels, model)
            values = {k: v for k, v in row.items() if k != "name" and not k.startswith("label")}
            found.append(ParsedRule(n, name, labels, values))
        return found

    def check_groups(self, groups: list[ParsedRule], names: Collection[str]) -> None:
        # A group rule classifies answers to this instrument alone, so it reads only its own questions.
        for group in groups:
            rule = group.values.get("rule", "")
            if not rule:
                self.problem("groups", group.row, "rule", f"group {group.name!r} has no rule")
            else:
                self.check_expression("groups", group.row, "rule", rule, names)

    def check_item_key(
        self, row: int, name: str, item_type: str, options: Collection[str] | None,
        correct: list[str], dimensions: list[str], dimension_codes: Collection[str],
    ) -> None:
        """Check one scored item's correct options and dimensions."""
        if item_type not in SCORABLE_TYPES:
            self.problem("survey", row, "points", f"{item_type} questions cannot carry points")
            return
        if not correct:
            self.problem("survey", row, "correct", f"{name!r} has points but no correct answer")
        if options is not None:
            for answer in correct:
                if answer not in options:
                    self.problem("survey", row, "correct", f"{answer!r} is not an option of {name!r}")
        if item_type in ("true_false", "single") and len(correct) > 1:
            self.problem("survey", row, "correct", "a single-answer question has one correct option")
        if len(set(correct)) != len(correct):
            self.problem("survey", row, "correct", "an option is named twice")
        for code in dimensions:
            if code not in dimension_codes:
                self.problem("survey", row, "dimension", f"dimension {code!r} is not in the dimensions sheet")

    def check_scoring(self, form: ParsedForm) -> None:
        dimension_codes = {d.name for d in form.dimensions}
        for item in form.items:
            scored = item.points is not None
            if scored:
                if item.type not in SCORABLE_TYPES:
                    self.problem("survey", item.row, "points", f"{item.type} questions cannot carry points")
                    continue
                options = {c.name for c in form.choice_lists[item.list_name]} if item.list_name in form.choice_lists else None
                if not item.correct:
                    self.problem("survey", item.row, "correct", f"{item.name!r} has points but no correct answer")
                for answer in item.correct:
                    if options is not None and answer not in options:
                        self.problem("survey", item.row, "correct", f"{answer!r} is not an option of list {item.list_name!r}")
                if item.type in ("true_false", "single") and len(item.correct) > 1:
                    self.problem("survey", item.row, "correct", "a single-answer question has one correct option")
                elif len(set(item.correct)) != len(item.correct):
                    self.problem("survey", item.row, "correct", "an option is named twice")
            elif item.correct and not self.problems_at("survey", item.row, "points"):
                self.problem("survey", item.row, "points", f"{item.name!r} has a correct answer but no points")
            for code in item.dimensions:
                if code not in dimension_codes:
                    self.problem("survey", item.row, "dimension", f"dimension {code!r} is not in the dimensions sheet")
            for lang in LANGS:
                if item.type != "note" and lang not in item.labels:
                    self.problem("survey", item.row, f"label ({lang})", f"{item.name!r} has no {lang} label")
        scored = [ParsedItemKey(i.name, i.points, i.correct, i.dimensions, i.row) for i in form.items if i.points is not None]
        self.check_benchmarks(form.benchmarks, {d.name: d.values.get("family", "") for d in form.dimensions}, scored)

    def problems_at(self, sheet: str, row: int, column: str) -> bool:
        return any((p.sheet, p.row, p.column) == (sheet, row, column) for p in self.problems)

    def check_benchmarks(self, benchmarks: list[ParsedRule], dimensions: Mapping[str, str], scored: list[ParsedItemKey]) -> None:
        """Check benchmark rules against the dimensions and the points they can reach."""
        total = float(sum(float(i.points) for i in scored))
        dimension_max = {code: float(sum(float(i.points) for i in scored if code in i.dimensions)) for code in dimensions}
        for bench in benchmarks:
            scope = bench.values.get("scope", "total")
            maxima: dict[str, float] | None = {"the total": total}
            if scope != "total":
                kind, _, ref = scope.partition(":")
                maxima = None
                if kind == "family" and ref not in dimensions.values():
                    self.problem("benchmarks", bench.row, "scope", f"no dimension has family {ref!r}")
                elif kind == "dimension" and ref not in dimensions:
                    self.problem("benchmarks", bench.row, "scope", f"no dimension {ref!r}")
                elif kind not in ("family", "dimension"):
                    self.problem("benchmarks", bench.row, "scope", f"scope {scope!r} must be total, family:NAME or dimension:CODE")
                else:
                    maxima = {
                        f"dimension {code!r}": dimension_max[code] for code, family in dimensions.items()
                        if (kind == "family" and family == ref) or (kind == "dimension" and code == ref)
                    }
                    self.check_length("benchmarks", bench.row, "scope", scope, BenchmarkRule, "scope")
            basis = bench.values.get("basis", "")
            if basis not in ("points", "share"):
                self.problem("benchmarks", bench.row, "basis", "basis must be points or share")
            try:
                threshold = float(bench.values.get("threshold", ""))
            except ValueError:
                self.problem("benchmarks", bench.row, "threshold", "threshold must be a number")
            else:
                if not math.isfinite(threshold):
                    self.problem("benchmarks", bench.row, "threshold", "threshold must be a number")
                elif basis == "share" and not 0 < threshold <= 1:
                    self.problem("benchmarks", bench.row, "threshold", "a share threshold lies in (0, 1]")
                elif basis == "points" and threshold <= 0:
                    self.problem("benchmarks", bench.row, "threshold", "a points threshold must be above 0")
                elif scored and maxima and min(maxima.values()) == 0:
                    empty = [where for where, most in maxima.items() if most == 0]
                    self.problem("benchmarks", bench.row, "scope", f"{empty[0]} has no scored question in this key")
                elif basis == "points" and scored and maxima:
                    where, most = min(maxima.items(), key=lambda m: m[1])
                    if threshold > most + 1e-9:
                        self.problem("benchmarks", bench.row, "threshold",
                                     f"{threshold:g} points can never be reached: {where} has at most {most:g}")
            levels = bench.values.get("levels", "").split()
            if levels and scope != "total":
                self.problem("benchmarks", bench.row, "levels", "levels apply only to a benchmark on the total")
                continue
            for level in levels:
                label, _, cut = level.partition(":")
                try:
                    value = float(cut)
                    finite = math.isfinite(value)
                except ValueError:
                    finite = False
                if not label or not finite:
                    self.problem("benchmarks", bench.row, "levels", f"level {level!r} must read name:cut-off")
                elif basis == "share" and not 0 <= value <= 1:
                    self.problem("benchmarks", bench.row, "levels", f"level {level!r}: a share cut-off lies in [0, 1]")
                elif basis == "points" and scored and not 0 <= value <= total + 1e-9:
                    self.problem("benchmarks", bench.row, "levels", f"level {level!r}: the total has at most {total:g} points")
        if benchmarks and not scored:
            self.problem("benchmarks", None, None, "benchmarks given but no question carries points")

    def refuse_csv_scoring(self, form: ParsedForm) -> None:
        first = next((i for i in form.items if i.points is not None or i.correct or i.dimensions), None)
        if first is not None:
            self.problem(
                "survey", first.row, "points",
                "a .csv form cannot be scored: its benchmarks and dimensions need sheets that .csv cannot carry; "
                "save the form as .xlsx or .md",
            )


class _KeyReader(_Reader):
    """Read a scoring-key file: the scoring columns of the items that change, and optionally new rules."""

    def read_key(self, base: KeyBase) -> ParsedKey:
        survey, _choices, settings_rows, book = self.standard_sheets()
        extensions = self.extension_sheets()
        settings = settings_rows[0][1] if settings_rows else {}
        self.check_key_settings(settings, base)
        if "dimensions" in extensions:
            self.problem("dimensions", None, None, "dimensions belong to the instrument version; a key file cannot change them")
        headers = _headers(book.survey_header)
        for column in headers:
            if column not in ("name", *SCORING_COLUMNS):
                self.problem("survey", 1, column,
                             "a key file has only the columns name, points, correct and dimension; "
                             "changing a question needs a new instrument version")
        items = {i.name: i for i in base.key.items}
        excluded = set(base.key.excluded)
        listed: set[str] = set()
        for n, row in survey:
            name = row.get("name", "")
            if name not in base.questions:
                self.problem("survey", n, "name", f"{name!r} is not a question of {base.form_id} v{base.version}")
                continue
            if name in listed:
                self.problem("survey", n, "name", f"{name!r} is listed twice")
                continue
            listed.add(name)
            self.read_key_row(n, row, headers, base, items, excluded)
        note = settings.get("note", "")
        self.check_length("settings", 2, "note", note, ScoringKey, "note")
        benchmarks = self.kept_or_read(extensions, "benchmarks", BenchmarkRule, base.key.benchmarks)
        groups = self.kept_or_read(extensions, "groups", GroupRule, base.key.groups)
        ordered = [items[name] for name in base.questions if name in items]
        self.check_benchmarks(benchmarks, base.dimensions, ordered)
        self.check_groups(groups, base.questions)
        if self.problems:
            raise XLSFormError([self.kept_rule_problem(p, benchmarks, groups, base.key_version) for p in self.problems])
        return ParsedKey(
            items=ordered, benchmarks=[replace(b, row=0) for b in benchmarks], groups=[replace(g, row=0) for g in groups],
            excluded=sorted(excluded), note=note, source=self.data, source_name=Path(self.filename).name,
        )

    def kept_or_read(
        self, sheets: dict[str, Rows], sheet: str, model: type[models.Model], kept: list[ParsedRule]
    ) -> list[ParsedRule]:
        """Return the rules of SHEET when the file has it, else the base key's (numbered -1, -2, … to tell them apart)."""
        if sheet in sheets:
            return self.rules(sheets, sheet, model, "name")
        return [replace(rule, row=-i) for i, rule in enumerate(kept, start=1)]

    @staticmethod
    def kept_rule_problem(
        problem: FormProblem, benchmarks: list[ParsedRule], groups: list[ParsedRule], key_version: int
    ) -> FormProblem:
        """Return PROBLEM, naming the base key's rule when it is about one the file did not restate."""
        if problem.row is None or problem.row >= 0:
            return problem
        rules = benchmarks if problem.sheet == "benchmarks" else groups
        name = next(r.name for r in rules if r.row == problem.row)
        return FormProblem(
            problem.sheet, None, problem.column,
            f"{problem.message} ({name!r} is kept from key {key_version}: give a {problem.sheet} sheet to change it)",
        )

    def check_key_settings(self, settings: Mapping[str, str], base: KeyBase) -> None:
        if settings.get("form_id", base.form_id) != base.form_id:
            self.problem("settings", 2, "form_id", f"this key file is for {settings['form_id']!r}, not {base.form_id!r}")
        number = settings.get("instrument_version")
        if number is not None and number != str(base.version):
            self.problem("settings", 2, "instrument_version", f"this key file is for version {number}, not {base.version}")

    def read_key_row(
        self, n: int, row: Mapping[str, str], headers: list[str], base: KeyBase,
        items: dict[str, ParsedItemKey], excluded: set[str],
    ) -> None:
        name = row["name"]
        item_type, options = base.questions[name]
        old = items.get(name)
        if "points" in headers:
            if not row.get("points"):
                self.problem("survey", n, "points", f"{name!r} needs points (0 leaves it out of the key)")
                return
            points = self.read_points("survey", n, row["points"], zero=True)
            if points is None:
                return
        elif old is None:
            self.problem("survey", n, "points", f"{name!r} is not scored by key {base.key_version}: give its points")
            return
        else:
            points = old.points
        if points == 0:
            items.pop(name, None)
            excluded.add(name)
            return
        correct = row.get("correct", "").split() if "correct" in headers else (old.correct if old else [])
        dimensions = row.get("dimension", "").split() if "dimension" in headers else (old.dimensions if old else [])
        self.check_item_key(n, name, item_type, options, correct, dimensions, base.dimensions)
        items[name] = ParsedItemKey(name, points, correct, dimensions, n)
        excluded.discard(name)


def read_xlsform(data: bytes, filename: str, *, modules: ModuleLookup | None = None) -> ParsedForm:
    """Return the form in DATA (named FILENAME); raise XLSFormError listing every problem.

    MODULES looks up the questions of the modules the form `requires` (settings column), so
    that its expressions may read them, e.g. ``${age}`` from demographics.
    """
    return _Reader(data, filename, modules).read()


def read_key_file(data: bytes, filename: str, base: KeyBase) -> ParsedKey:
    """Return BASE's key revised by the key file in DATA; raise XLSFormError listing every problem.

    The file's `survey` sheet lists the items whose scoring changes, with the columns `name`
    and any of `points`, `correct`, `dimension`: a column that is present restates the value
    (an empty `dimension` cell: no dimension; `points` 0: the item is left out of the key), a
    column that is absent keeps the base key's value.  A `benchmarks` or `groups` sheet, when
    present, replaces the base key's rules; when absent they are kept.
    """
    return _KeyReader(data, filename).read_key(base)


def parse_levels(text: str) -> list[tuple[str, float]]:
    """Return benchmark levels 'high:85 literate:70' as [(name, cut-off)], highest first."""
    levels = []
    for part in text.split():
        name, _, cut = part.partition(":")
        levels.append((name, float(cut)))
    return sorted(levels, key=lambda level: -level[1])


# --- writing ------------------------------------------------------------------------------


Cell = str | int | float | None


def _translated_columns(column: str, values: Iterable[Mapping[str, str]]) -> list[str]:
    """Return `column::中文 (zh)` and `column::English (en)` when any of VALUES has that language."""
    seen = {lang for v in values for lang in v}
    return [f"{column}::{LANG_HEADERS[lang]}" for lang in LANGS if lang in seen]


def _cell_value(column: str, value: str) -> Cell:
    """Return VALUE as it goes in the cell: numbers in the numeric columns, text elsewhere."""
    if value == "":
        return None
    if column in ("points", "threshold"):
        try:
            number = float(value)
        except ValueError:
            return value
        if math.isfinite(number):
            return int(number) if number == int(number) else number
    return value


def _add_sheet(workbook: Workbook, title: str, header: list[str], rows: Iterable[Mapping[str, str]]) -> None:
    sheet = workbook.create_sheet(title)
    sheet.append(header)
    for row in rows:
        sheet.append([_cell_value(column, row.get(column, "")) for column in header])
    # openpyxl reads a leading "=" as a formula; these cells are text.
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"


def _labelled(row: dict[str, str], column: str, labels: Mapping[str, str]) -> dict[str, str]:
    for lang, text in labels.items():
        row[f"{column}::{LANG_HEADERS[lang]}"] = text
    return row


def _rule_sheet(workbook: Workbook, title: str, rules: list[ParsedRule], columns: list[str]) -> None:
    header = ["name", *_translated_columns("label", (r.labels for r in rules)), *columns]
    extra = [c for r in rules for c in r.values if c not in header]
    _add_sheet(
        workbook, title, header + list(dict.fromkeys(extra)),
        [_labelled({"name": r.name, **r.values}, "label", r.labels) for r in rules],
    )


def _survey_rows(form: ParsedForm) -> tuple[list[str], list[dict[str, str]]]:
    items_by_section: dict[str | None, list[ParsedItem]] = {}
    for item in form.items:
        items_by_section.setdefault(item.section, []).append(item)
    rows: list[dict[str, str]] = []
    written: set[str] = set()
    sections = {s.name: s for s in form.sections}

    def open_section(name: str) -> None:
        section = sections[name]
        rows.append(_labelled({"type": "begin_group", "name": name, "relevant": section.relevant,
                               "appearance": section.appearance}, "label", section.labels))
        written.add(name)

    current: str | None = None
    for item in form.items:
        if item.section != current:
            if current is not None:
                rows.append({"type": "end_group", "name": current})
            if item.section is not None:
                # Groups without questions keep their place before the next group in the form's order.
                for section in form.sections:
                    if section.name == item.section:
                        break
                    if section.name not in written and section.name not in items_by_section:
                        open_section(section.name)
                        rows.append({"type": "end_group", "name": section.name})
                open_section(item.section)
            current = item.section
        rows.append(_item_row(item))
    if current is not None:
        rows.append({"type": "end_group", "name": current})
    for section in form.sections:
        if section.name not in written:
            open_section(section.name)
            rows.append({"type": "end_group", "name": section.name})
    header = [
        "type", "name",
        *_translated_columns("label", [s.labels for s in form.sections] + [i.labels for i in form.items]),
        *_translated_columns("hint", (i.hints for i in form.items)),
        "required", "relevant", "constraint",
        *_translated_columns("constraint_message", (i.constraint_messages for i in form.items)),
        "appearance", "choice_filter", "parameters", "calculation", "kind", *SCORING_COLUMNS,
        *_translated_columns("rationale", (i.rationales for i in form.items)),
    ]
    used = {column for row in rows for column, value in row.items() if value}
    keep = {"type", "name", "required", *SCORING_COLUMNS} if form.is_scored else {"type", "name", "required"}
    return [c for c in header if c in used or c in keep], rows


def _item_row(item: ParsedItem) -> dict[str, str]:
    row = {
        "type": item.xlsform_type,
        "name": item.name,
        "required": "yes" if item.required else "",
        "relevant": item.relevant,
        "constraint": item.constraint,
        "appearance": item.appearance,
        "choice_filter": item.choice_filter,
        "points": number_text(item.points) if item.points is not None else "",
        "correct": " ".join(item.correct),
        "dimension": " ".join(item.dimensions),
        **item.extra,
    }
    for column, labels in (("label", item.labels), ("hint", item.hints),
                           ("constraint_message", item.constraint_messages), ("rationale", item.rationales)):
        _labelled(row, column, labels)
    return row


def _workbook_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_xlsform(form: ParsedForm) -> bytes:
    """Return FORM as an .xlsx XLSForm: survey, choices, settings and the extension sheets."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    header, rows = _survey_rows(form)
    _add_sheet(workbook, "survey", header, rows)
    choices = [c for options in form.choice_lists.values() for c in options]
    extra = list(dict.fromkeys(k for c in choices for k in c.extra))
    _add_sheet(
        workbook, "choices", ["list_name", "name", *_translated_columns("label", (c.labels for c in choices)), *extra],
        [_labelled({"list_name": list_name, "name": c.name, **c.extra}, "label", c.labels)
         for list_name, options in form.choice_lists.items() for c in options],
    )
    _add_sheet(workbook, "settings", list(form.settings), [form.settings])
    if form.dimensions:
        _rule_sheet(workbook, "dimensions", form.dimensions, ["family"])
    if form.benchmarks:
        _rule_sheet(workbook, "benchmarks", form.benchmarks, ["scope", "basis", "threshold", "levels"])
    if form.groups:
        _rule_sheet(workbook, "groups", form.groups, ["rule"])
    return _workbook_bytes(workbook)


def write_key_file(key: ParsedKey, *, form_id: str, version: int, questions: Iterable[str]) -> bytes:
    """Return KEY as an .xlsx key file that `read_key_file` reads back as the same key.

    Every scored item is listed with its points, correct options and dimensions, and every
    item the key leaves out with points 0; both rule sheets are written (even when empty).
    """
    workbook = Workbook()
    workbook.remove(workbook.active)
    items = {i.name: i for i in key.items}
    rows = []
    for name in questions:
        if name in items:
            item = items[name]
            rows.append({"name": name, "points": number_text(item.points), "correct": " ".join(item.correct),
                         "dimension": " ".join(item.dimensions)})
        elif name in key.excluded:
            rows.append({"name": name, "points": "0"})
    _add_sheet(workbook, "survey", ["name", *SCORING_COLUMNS], rows)
    settings = {"form_id": form_id, "instrument_version": str(version), "note": key.note}
    _add_sheet(workbook, "settings", list(settings), [settings])
    _rule_sheet(workbook, "benchmarks", key.benchmarks, ["scope", "basis", "threshold", "levels"])
    _rule_sheet(workbook, "groups", key.groups, ["rule"])
    return _workbook_bytes(workbook)
