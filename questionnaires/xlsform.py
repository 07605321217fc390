"""Read and validate XLSForm workbooks (xlsx, xls, csv or Markdown) into a plain form description.

The standard sheets (`survey`, `choices`, `settings`) are read with pyxform's reader; our
scoring extension sheets (`dimensions`, `benchmarks`, `groups`) with pyxform's lower-level
table readers, since pyxform skips sheets it does not know.  Nothing here touches the
database: `questionnaires.services.instrument_import` stores what `read_xlsform` returns.
Every problem is collected with its sheet, row and column, and the form is refused whole.
"""
from __future__ import annotations

import hashlib
import io
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from pyxform.errors import PyXFormError
from pyxform.xls2json_backends import (
    _md_table_to_ss_structure,
    get_excel_column_headers,
    get_excel_rows,
    get_xlsform,
    xlsx_value_to_str,
)

from questionnaires.expressions import ExpressionError, Node, parse, references

EXTENSION_SHEETS = ("dimensions", "benchmarks", "groups")
LANGS = ("zh", "en")
_LANG_COLUMN = re.compile(r"^(?P<field>[a-z_]+)::.*\((?P<lang>[A-Za-z\-]+)\)\s*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-.]*$")
IGNORED_TYPES = {"start", "end", "today", "deviceid", "username", "audit"}
SCALAR_TYPES = {"integer": "integer", "decimal": "decimal", "text": "text", "note": "note"}
KINDS = {"true_false", "single", "multiple", "situational", "likert"}


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


def _titles(settings: dict[str, str], form_id: str) -> dict[str, str]:
    """Return the form's titles: XLSForm's `form_title` (default language) and our `form_title_en`."""
    titles = _translated(settings, "form_title") or {"zh": form_id}
    if settings.get("form_title_en"):
        titles["en"] = settings["form_title_en"]
    return titles


def _extension_sheets(data: bytes, suffix: str) -> dict[str, Rows]:
    """Return our extension sheets as numbered rows (row 1 is the header)."""
    sheets: dict[str, Rows] = {}
    if suffix == ".md":
        structure = _md_table_to_ss_structure(data.decode("utf-8"))
        for name, table in structure.items():
            if not name or name.lower() not in EXTENSION_SHEETS or not table:
                continue
            header = [h or "" for h in table[0]]
            rows: Rows = []
            for n, cells in enumerate(table[1:], start=2):
                rows.append((n, {h: c for h, c in zip(header, cells) if h and c not in (None, "")}))
            sheets[name.lower()] = rows
    elif suffix in (".xlsx", ".xlsm"):
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
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


def _numbered(rows: list[dict[str, Any]]) -> Rows:
    return [(n, {k: str(v).strip() for k, v in r.items() if v not in (None, "")}) for n, r in enumerate(rows, start=2) if r]


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


class _Reader:
    def __init__(self, data: bytes, filename: str) -> None:
        self.data = data
        self.filename = filename
        self.problems: list[FormProblem] = []

    def problem(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        self.problems.append(FormProblem(sheet, row, column, message))

    def check_expression(self, sheet: str, row: int, column: str, text: str, names: set[str] | None) -> None:
        if not text:
            return
        try:
            tree = parse(text)
        except ExpressionError as exc:
            self.problem(sheet, row, column, f"bad expression {text!r}: {exc}")
            return
        if names is not None:
            for ref in sorted(references(tree) - names):
                self.problem(sheet, row, column, f"${{{ref}}} does not name a question of this form")
        for pattern in _regex_patterns(tree):
            try:
                re.compile(pattern)
            except re.error as exc:
                self.problem(sheet, row, column, f"bad regular expression {pattern!r}: {exc}")

    def read(self) -> ParsedForm:
        suffix = Path(self.filename).suffix.lower()
        try:
            book = get_xlsform(self.data, file_type=suffix or None)
        except (PyXFormError, ValueError) as exc:
            raise XLSFormError([FormProblem("workbook", None, None, f"cannot read the file: {exc}")]) from exc
        survey = _numbered(book.survey or [])
        choices = _numbered(book.choices or [])
        settings_rows = _numbered(book.settings or [])
        extensions = _extension_sheets(self.data, suffix)
        if not survey:
            raise XLSFormError([FormProblem("survey", None, None, "the survey sheet is missing or empty")])

        settings = settings_rows[0][1] if settings_rows else {}
        form_id = settings.get("form_id") or Path(self.filename).stem
        if not _NAME.match(form_id):
            self.problem("settings", 2, "form_id", f"form_id {form_id!r} must be a plain identifier")
        form = ParsedForm(
            form_id=form_id,
            version=settings.get("version", "1"),
            titles=_titles(settings, form_id),
            settings=settings,
            source=self.data,
            source_name=Path(self.filename).name,
        )
        self.read_choices(form, choices)
        self.read_survey(form, survey)
        self.read_rules(form, extensions)
        self.check_scoring(form)
        if self.problems:
            raise XLSFormError(self.problems)
        return form

    def read_choices(self, form: ParsedForm, rows: Rows) -> None:
        for n, row in rows:
            list_name, name = row.get("list_name") or row.get("list name"), row.get("name")
            if not list_name:
                self.problem("choices", n, "list_name", "missing list_name")
                continue
            if not name:
                self.problem("choices", n, "name", "missing choice name")
                continue
            options = form.choice_lists.setdefault(list_name, [])
            if any(o.name == name for o in options):
                self.problem("choices", n, "name", f"duplicate choice {name!r} in list {list_name!r}")
                continue
            labels = _translated(row, "label")
            if not labels:
                self.problem("choices", n, "label", f"choice {name!r} has no label")
            extra = {
                k: v for k, v in row.items()
                if k not in ("list_name", "list name", "name") and not k.startswith("label")
            }
            options.append(ParsedChoice(name=name, labels=labels, extra=extra))

    def read_survey(self, form: ParsedForm, rows: Rows) -> None:
        names: set[str] = set()
        open_sections: list[tuple[str, int]] = []
        pending_expressions: list[tuple[int, str, str]] = []
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
                if name in names:
                    self.problem("survey", n, "name", f"duplicate name {name!r}")
                names.add(name)
                open_sections.append((name, n))
                form.sections.append(
                    ParsedSection(n, name, _translated(row, "label"), row.get("relevant", ""), row.get("appearance", ""))
                )
                pending_expressions.append((n, "relevant", row.get("relevant", "")))
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
            if name in names:
                self.problem("survey", n, "name", f"duplicate name {name!r}")
                continue
            names.add(name)
            item = self.read_item(form, n, row, raw_type, name, open_sections[-1][0] if open_sections else None)
            if item is None:
                continue
            form.items.append(item)
            for column in ("relevant", "constraint", "choice_filter"):
                pending_expressions.append((n, column, row.get(column, "")))
        for section, begin_row in open_sections:
            self.problem("survey", begin_row, "type", f"group {section!r} is never closed with end_group")
        for n, column, text in pending_expressions:
            self.check_expression("survey", n, column, text, names)

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
        points: Decimal | None = None
        if row.get("points"):
            try:
                points = Decimal(row["points"])
            except InvalidOperation:
                self.problem("survey", n, "points", f"points {row['points']!r} is not a number")
            else:
                # The key stores points as a decimal of 6 digits, 2 after the point.
                fits = points.is_finite() and 0 < points < 10000 and points == points.quantize(Decimal("0.01"))
                if not fits:
                    self.problem("survey", n, "points", "points must be a positive number below 10000, at most 2 decimals")
        parameters = row.get("parameters", "")
        return ParsedItem(
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

    def read_rules(self, form: ParsedForm, sheets: dict[str, Rows]) -> None:
        for sheet, target in (("dimensions", form.dimensions), ("benchmarks", form.benchmarks), ("groups", form.groups)):
            seen: set[str] = set()
            for n, row in sheets.get(sheet, []):
                name = row.get("name", "")
                if not name or not _NAME.match(name):
                    self.problem(sheet, n, "name", f"missing or invalid name {name!r}")
                    continue
                if name in seen:
                    self.problem(sheet, n, "name", f"duplicate name {name!r}")
                    continue
                seen.add(name)
                labels = _translated(row, "label")
                if not labels:
                    self.problem(sheet, n, "label", f"{name!r} has no label")
                values = {k: v for k, v in row.items() if k != "name" and not k.startswith("label")}
                target.append(ParsedRule(n, name, labels, values))
        for dim in form.dimensions:
            if not dim.values.get("family"):
                self.problem("dimensions", dim.row, "family", f"dimension {dim.name!r} has no family")
        for group in form.groups:
            rule = group.values.get("rule", "")
            if not rule:
                self.problem("groups", group.row, "rule", f"group {group.name!r} has no rule")
            else:
                self.check_expression("groups", group.row, "rule", rule, {i.name for i in form.items})

    def check_scoring(self, form: ParsedForm) -> None:
        dimension_codes = {d.name for d in form.dimensions}
        families = {d.values.get("family", "") for d in form.dimensions}
        for item in form.items:
            scored = item.points is not None
            if scored and item.type not in ("true_false", "single", "multiple"):
                self.problem("survey", item.row, "points", f"{item.type} questions cannot carry points")
                continue
            if scored and not item.correct:
                self.problem("survey", item.row, "correct", f"{item.name!r} has points but no correct answer")
            if item.correct and not scored:
                self.problem("survey", item.row, "points", f"{item.name!r} has a correct answer but no points")
            options = {c.name for c in form.choice_lists.get(item.list_name or "", [])}
            for answer in item.correct:
                if item.list_name and answer not in options:
                    self.problem("survey", item.row, "correct", f"{answer!r} is not an option of list {item.list_name!r}")
            if item.type in ("true_false", "single") and len(item.correct) > 1:
                self.problem("survey", item.row, "correct", "a single-answer question has one correct option")
            for code in item.dimensions:
                if code not in dimension_codes:
                    self.problem("survey", item.row, "dimension", f"dimension {code!r} is not in the dimensions sheet")
            for lang in LANGS:
                if item.type != "note" and lang not in item.labels:
                    self.problem("survey", item.row, f"label ({lang})", f"{item.name!r} has no {lang} label")
        for bench in form.benchmarks:
            scope = bench.values.get("scope", "total")
            if scope != "total":
                kind, _, ref = scope.partition(":")
                if kind == "family" and ref not in families:
                    self.problem("benchmarks", bench.row, "scope", f"no dimension has family {ref!r}")
                elif kind == "dimension" and ref not in dimension_codes:
                    self.problem("benchmarks", bench.row, "scope", f"no dimension {ref!r}")
                elif kind not in ("family", "dimension"):
                    self.problem("benchmarks", bench.row, "scope", f"scope {scope!r} must be total, family:NAME or dimension:CODE")
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
            for level in bench.values.get("levels", "").split():
                label, _, cut = level.partition(":")
                try:
                    finite = math.isfinite(float(cut))
                except ValueError:
                    finite = False
                if not label or not finite:
                    self.problem("benchmarks", bench.row, "levels", f"level {level!r} must read name:cut-off")
        if form.benchmarks and not form.is_scored:
            self.problem("benchmarks", None, None, "benchmarks given but no question carries points")


def read_xlsform(data: bytes, filename: str) -> ParsedForm:
    """Return the form in DATA (named FILENAME); raise XLSFormError listing every problem."""
    return _Reader(data, filename).read()


def parse_levels(text: str) -> list[tuple[str, float]]:
    """Return benchmark levels 'high:85 literate:70' as [(name, cut-off)], highest first."""
    levels = []
    for part in text.split():
        name, _, cut = part.partition(":")
        levels.append((name, float(cut)))
    return sorted(levels, key=lambda level: -level[1])
