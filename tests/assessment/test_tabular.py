"""The table reader (assessment/tabular.py, assessment/xlsx.py).

XLSX: both readers of assessment/xlsx.py (the fast one, by regular expressions, and the general
one, by expat callbacks) give exactly what the reading with openpyxl gave (kept here as
`openpyxl_rows`), on workbooks openpyxl writes and on the XML other programs write; damaged and
hostile workbooks are refused cleanly.  CSV: a quote that never closes is named at the row where
it opens.  Columns: two columns of the same field are refused.
"""
from __future__ import annotations

import io
import re
import struct
import time
import zipfile
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook as OpenpyxlWorkbook
from openpyxl import load_workbook
from openpyxl.styles import Font
from rest_framework.test import APIClient

from assessment import xlsx
from assessment.errors import ImportRejected
from assessment.models import Frame
from assessment.services import frame_import, households_import
from assessment.tabular import MAX_COLUMNS, MAX_ROWS, Table, columns_match, table_read
from tests.assessment.fieldwork_setup import FieldCounty, field_county
from tests.assessment.workbooks import openpyxl_book

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
UNREADABLE = "无法读取 XLSX 工作簿"


# --- the reading this replaces, and the readers that replace it -------------------------------


def _old_text_of(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value).strip()


def openpyxl_rows(data: bytes, sheet: str) -> list[tuple[int, tuple[str, ...]]]:
    """The rows holding something of SHEET as tabular.py read them with openpyxl until now."""
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        ws = book[sheet]
        ws.reset_dimensions()
        rows = []
        for i, values in enumerate(ws.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1):
            cells = [_old_text_of(v) for v in values]
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                rows.append((i, tuple(cells)))
        return rows
    finally:
        book.close()


def both_readers(data: bytes, sheet: str) -> list[tuple[int, tuple[str, ...]]]:
    """The rows of SHEET by the fast and by the general reader, which must agree."""
    fast = xlsx.Workbook(data).rows(sheet, max_rows=MAX_ROWS + 1, max_columns=MAX_COLUMNS)
    general = xlsx.Workbook(data).rows(sheet, max_rows=MAX_ROWS + 1, max_columns=MAX_COLUMNS, fast=False)
    assert fast == general
    return fast


def assert_read_as_openpyxl(data: bytes, sheet: str) -> list[tuple[int, list[str]]]:
    rows = both_readers(data, sheet)
    assert rows == openpyxl_rows(data, sheet)
    return [(number, list(cells)) for number, cells in rows]


def package(sheets: dict[str, str], *, strings: str | None = None, styles: str | None = None, book_properties: str = "",
            compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A workbook of the XML given: SHEETS {name: worksheet XML}, the shared STRINGS and STYLES parts."""
    targets = {f"rId{i}": f"worksheets/sheet{i}.xml" for i in range(1, len(sheets) + 1)}
    relations = "".join(f'<Relationship Id="{rid}" Type="{RELS}/worksheet" Target="{target}"/>' for rid, target in targets.items())
    if strings is not None:
        relations += f'<Relationship Id="rIdS" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/>'
    if styles is not None:
        relations += f'<Relationship Id="rIdT" Type="{RELS}/styles" Target="styles.xml"/>'
    listed = "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, start=1))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                   + "".join(f'<Override PartName="/xl/{t}" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for t in targets.values())
                   + ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>' if strings is not None else "")
                   + ('<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>' if styles is not None else "")
                   + "</Types>")
        z.writestr("_rels/.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{RELS}">{book_properties}<sheets>{listed}</sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE}">{relations}</Relationships>')
        for (_, xml_text), target in zip(sheets.items(), targets.values(), strict=True):
            z.writestr(f"xl/{target}", xml_text)
        if strings is not None:
            z.writestr("xl/sharedStrings.xml", strings)
        if styles is not None:
            z.writestr("xl/styles.xml", styles)
    return out.getvalue()


def sheet_xml(rows: str, *, head: str = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n', dimension: str = "",
              root: str = f'<worksheet xmlns="{MAIN}" xmlns:r="{RELS}">', tail: str = '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>') -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'{head}{root}{dim}<sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/><sheetData>{rows}</sheetData>{tail}</worksheet>'


def sst(*items: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN}" count="{len(items)}" uniqueCount="{len(items)}">{"".join(items)}</sst>'


# Styles as Excel writes them: 0 general, 1 a built-in date (14), 2 a custom date, 3 a duration, 4 a percentage, 5 a date-time.
STYLES = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{MAIN}"><numFmts count="3">'
          '<numFmt numFmtId="164" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/><numFmt numFmtId="165" formatCode="[h]:mm:ss"/>'
          '<numFmt numFmtId="166" formatCode="yyyy/m/d\\ h:mm"/></numFmts>'
          '<fonts count="1"><font><sz val="11"/><name val="宋体"/><family val="2"/><charset val="134"/></font></fonts>'
          '<fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders>'
          '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
          '<cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
          '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
          '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
          '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
          '<xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
          '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
          '<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles></styleSheet>')

# The XML Excel and WPS write: shared strings (Chinese ones with <phoneticPr>), styles, formulas with cached values.
EXCEL_STRINGS = sst(
    "<si><t>code</t></si>", "<si><t>name</t></si>", "<si><t>town</t></si>", "<si><t>when</t></si>",
    '<si><t>王庄村</t><phoneticPr fontId="1" type="noConversion"/></si>', '<si><t xml:space="preserve"> 东关 社区 </t></si>',
    "<si><t>R&amp;D &lt;部&gt; &#20013;&#x6587;</t></si>", "<si><t>a_x005F_x000D_b</t></si>", "<si><t></t></si>",
)
EXCEL_ROWS = (
    '<row r="1" spans="1:8" x14ac:dyDescent="0.25"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c></row>'
    '<row r="2" spans="1:8"><c r="A2"><v>1200</v></c><c r="B2" t="s"><v>4</v></c><c r="C2" s="4"><v>0.125</v></c><c r="D2" s="1"><v>45383</v></c>'
    '<c r="E2" s="2"><v>45383.5</v></c><c r="F2" s="3"><v>1.25</v></c><c r="G2" s="5"><v>45383.75</v></c><c r="H2" t="b"><v>1</v></c></row>'
    '<row r="4" spans="1:8" ht="20" customHeight="1"><c r="A4"><v>-3.5</v></c><c r="C4" t="s"><v>5</v></c><c r="E4" t="e"><v>#N/A</v></c>'
    '<c r="F4" t="str"><f>A2&amp;"x"</f><v>1200x</v></c><c r="G4"><f>A2*2</f><v>2400</v></c><c r="H4"><f>NOW()</f></c></row>'
    '<row r="5" spans="1:8" ht="20" customHeight="1"/>'
    '<row r="6"><c r="A6" s="0"><v>1.0E-3</v></c><c r="B6"><v>1200.0</v></c><c r="C6"><v>123456789012345678</v></c><c r="D6" t="s"><v>6</v></c>'
    '<c r="E6" t="s"><v>7</v></c><c r="F6" t="s"><v>8</v></c><c r="G6" t="b"><v>0</v></c><c r="H6" s="1"/></row>'
    '<row r="9"><c r="BL9"><v>64</v></c><c r="BM9"><v>65</v></c><c r="XFD9"><v>16384</v></c></row>'
    '<row r="10"><c r="C10" t="inlineStr"><is><t>行内</t></is></c><c r="A10" t="s"><v>0</v></c><c r="C10"><v>7</v></c></row>'
)


def excel_like(rows: str = EXCEL_ROWS, *, strings: str = EXCEL_STRINGS, styles: str = STYLES, **sheet: str) -> bytes:
    extra = {"root": f'<worksheet xmlns="{MAIN}" xmlns:r="{RELS}" xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">'}
    return package({"抽样框": sheet_xml(rows, dimension="A1:H10", **{**extra, **sheet})}, strings=strings, styles=styles)


def pretty(xml_text: str) -> str:
    return re.sub(r"(</?(?:row|c|v|f|is|t|sheetData)\b)", r"\n  \1", xml_text)


# Variants of the XML that some program may write; the fast reader reads some, and leaves the others to the general one.
VARIANTS: dict[str, bytes] = {
    "excel": excel_like(),
    "pretty-printed": excel_like(pretty(EXCEL_ROWS)),
    "no declaration, BOM": excel_like(head="\ufeff"),
    "prefixed namespace": package({"抽样框": sheet_xml(
        EXCEL_ROWS.replace("<row", "<x:row").replace("</row", "</x:row").replace("<c ", "<x:c ").replace("</c>", "</x:c>")
        .replace("<v>", "<x:v>").replace("</v>", "</x:v>").replace("<f>", "<x:f>").replace("</f>", "</x:f>")
        .replace("<is>", "<x:is>").replace("</is>", "</x:is>").replace("<t>", "<x:t>").replace("</t>", "</x:t>"),
        root=f'<x:worksheet xmlns:x="{MAIN}" xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">',
    ).replace("<sheetViews><sheetView workbookViewId=\"0\"/></sheetViews><sheetFormatPr defaultRowHeight=\"15\"/><sheetData>", "<x:sheetData>")
        .replace("</sheetData>", "</x:sheetData>").replace("<pageMargins", "<x:pageMargins").replace("</worksheet>", "</x:worksheet>")},
        strings=EXCEL_STRINGS, styles=STYLES),
    "single quotes, other attribute order": excel_like(EXCEL_ROWS.replace('<c r="B2" t="s">', "<c t='s' r='B2'>").replace('<c r="D2" s="1">', '<c s="1" r="D2">')),
    "cells and rows without r": excel_like(
        '<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row><row><c><v>1</v></c><c r="D2"><v>4</v></c><c><v>5</v></c></row>'
        '<row r="7"><c t="s"><v>2</v></c></row><row r="5"><c><v>99</v></c></row><row r="7"><c><v>77</v></c></row><row><c><v>8</v></c></row>'
    ),
    "rich text": excel_like(
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><r><rPr><b/></rPr><t>粗</t></r><r><t xml:space="preserve"> 细</t></r>'
        '<rPh sb="0" eb="1"><t>ひ</t></rPh></is></c><c r="C1" t="s"><v>1</v></c></row>',
        strings=sst("<si><t>plain</t></si>", '<si><r><t>一</t></r><r><rPr><i/></rPr><t>二</t></r><rPh sb="0" eb="1"><t>x</t></rPh><phoneticPr fontId="1"/></si>'),
    ),
    "comment and instruction": excel_like(EXCEL_ROWS.replace("<row r=\"4\"", "<!-- a note <row r=\"3\"> --><?pi x?><row r=\"4\"")),
    "entities and line ends in inline strings": package({"s": sheet_xml(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>R&amp;D &quot;x&quot; &apos;y&apos; &#13;&#10;z&#x4E2D;&#00000065;</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t xml:space="preserve">line\r\nnext\rlast  </t></is></c><c r="C1" t="str"><v>a&amp;b</v></c>'
        '<c r="D1"><v>&#49;2</v></c><c r="E1" t="e"><v>#DIV/0!</v></c></row>')}),
    "dates": package({"s": sheet_xml(
        '<row r="1"><c r="A1" s="1"><v>1</v></c><c r="B1" s="1"><v>59</v></c><c r="C1" s="1"><v>61</v></c><c r="D1" s="3"><v>0.5</v></c>'
        '<c r="E1" s="5"><v>45383.999999</v></c><c r="F1" s="1"><v>3000000</v></c><c r="G1" t="d"><v>2024-03-05T10:20:30</v></c>'
        '<c r="H1" t="d"><v>2024-03-05</v></c><c r="I1" s="4"><v>0.5</v></c><c r="J1" s="1"><v>-1</v></c></row>')}, styles=STYLES),
    "dates in 1904": package({"s": sheet_xml('<row r="1"><c r="A1" s="1"><v>0</v></c><c r="B1" s="2"><v>45000.25</v></c></row>')},
                             styles=STYLES, book_properties='<workbookPr date1904="1"/>'),
    "empty rows and sheet data": package({"s": sheet_xml('<row r="1"/><row r="2" spans="1:3"></row><row r="3"><c r="A3" t="s"/><c r="B3"/></row>'),
                                          "t": sheet_xml("").replace("<sheetData></sheetData>", "<sheetData/>")}, strings=sst("<si><t>x</t></si>")),
    "several sheets": package({"说明": sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>说明</t></is></c></row>'),
                               "抽样框": sheet_xml('<row r="3"><c r="C3"><v>3</v></c></row>')}),
    "other attributes": excel_like(EXCEL_ROWS.replace('<c r="A2">', '<c r="A2" cm="1">').replace('<row r="6">', '<row r="6" hidden="1" s="2" customFormat="1">')),
}


@pytest.mark.filterwarnings("ignore:Cell .* is marked as a date")
@pytest.mark.parametrize("variant", VARIANTS)
def test_both_readers_read_the_xml_of_other_programs_as_openpyxl_did(variant: str) -> None:
    data = VARIANTS[variant]
    for sheet in xlsx.Workbook(data).sheet_names:
        assert_read_as_openpyxl(data, sheet)


def test_what_excel_writes_reads_as_expected() -> None:
    rows = dict(assert_read_as_openpyxl(VARIANTS["excel"], "抽样框"))
    assert rows[1] == ["code", "name", "town", "when"]
    assert rows[2] == ["1200", "王庄村", "0.125", "2024-04-01T00:00:00", "2024-04-01T12:00:00", "1 day, 6:00:00", "2024-04-01T18:00:00", "True"]
    assert rows[4] == ["-3.5", "", "东关 社区", "", "#N/A", "1200x", "2400"]
    assert rows[6] == ["0.001", "1200", "123456789012345678", "R&D <部> 中文", "a_x000D_b", "", "False"]
    assert 3 not in rows and 5 not in rows  # empty rows are skipped; the others keep their numbers
    assert len(rows[9]) == MAX_COLUMNS and rows[9][-1] == "64"  # BM and XFD are past the columns read
    assert rows[10] == ["code", "", "7"]  # a later cell of the same column wins


def test_the_fast_reader_reads_what_excel_and_openpyxl_write_and_leaves_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    general = []
    real = xlsx._Sheet.general
    monkeypatch.setattr(xlsx._Sheet, "general", lambda self, part: general.append(part) or real(self, part))
    styled = OpenpyxlWorkbook()
    styled.active["A1"], styled.active["C1"], styled.active["D1"] = "x", 1, "=C1*2"
    styled.active["B1"].font = styled.active["C1"].font = Font(bold=True)
    out = io.BytesIO()
    styled.save(out)
    books = [VARIANTS[name] for name in ("excel", "no declaration, BOM", "several sheets", "dates", "entities and line ends in inline strings")]
    books += [openpyxl_book(GRID, formats={"G2": "yyyy-mm-dd"}), out.getvalue()]
    for data in books:
        both_readers(data, xlsx.Workbook(data).sheet_names[-1])
    assert len(general) == len(books)  # only the readings asked of the general reader
    for name in ("pretty-printed", "prefixed namespace", "single quotes, other attribute order", "cells and rows without r", "rich text",
                 "comment and instruction", "other attributes"):
        general.clear()
        xlsx.Workbook(VARIANTS[name]).rows(xlsx.Workbook(VARIANTS[name]).sheet_names[-1], max_rows=10, max_columns=64)
        assert general, name


GRID = {
    "抽样框": [
        ["code", "name", "town", "urban_rural", "measure_of_size", "households", "surveyed", "share", "ok"],
        ["v01", "王庄村", "ta", "rural", 1200, 410, date(2024, 5, 1), 0.25, True],
        ["v02", " 东关社区 ", "甲镇", "urban", 3400.0, None, datetime(2024, 5, 2, 13, 45, 10), 1e-7, False],
        [],
        ["v03", "R&D <x> \"q\" 'a'", None, "农村", -860.5, 12, clock(8, 30), 123456789.123, None],
        ["v04", "多行\n文本\r\n末行", "tb", "城镇", 2**60, 7, timedelta(days=1, hours=2), float("1e20"), "=A2"],
    ],
    "说明": [["这张表是说明"], [None, None, "C2"]],
}


def test_workbooks_openpyxl_writes_read_as_before() -> None:
    data = openpyxl_book(GRID, formats={"G2": "yyyy-mm-dd", "G3": "yyyy-mm-dd h:mm:ss", "H2": "0.00%"})
    rows = dict(assert_read_as_openpyxl(data, "抽样框"))
    assert rows[2][:7] == ["v01", "王庄村", "ta", "rural", "1200", "410", "2024-05-01T00:00:00"]
    assert rows[3][4] == "3400" and rows[3][1] == "东关社区"
    assert 4 not in rows and rows[6][1] == "多行\n文本\n末行"
    assert_read_as_openpyxl(data, "说明")


def test_a_workbook_openpyxl_writes_with_formulas_and_gaps() -> None:
    book = OpenpyxlWorkbook()
    ws = book.active
    ws.title = "frame"
    ws["A1"], ws["C1"], ws["B3"], ws["E7"], ws["BL2"], ws["BM2"] = "code", "town", "=A1&C1", 5, "last", "past"
    out = io.BytesIO()
    book.save(out)
    rows = assert_read_as_openpyxl(out.getvalue(), "frame")
    assert rows == [(1, ["code", "", "town"]), (2, [""] * 63 + ["last"]), (7, ["", "", "", "", "5"])]


texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
                                                                                   "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\ufffe\uffff"), max_size=12)
values = st.one_of(
    st.none(), texts, st.integers(-(2**62), 2**62), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)).map(lambda d: d.replace(microsecond=0)),
    st.sampled_from(["王庄村", "甲镇", "  空格  ", "a&b<c>", "x005F_y", "_x000D_", "=1+1", "1200.0", "０１"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(values, max_size=9), max_size=8), st.lists(st.tuples(st.integers(1, 70), st.integers(1, 30), values), max_size=6))
def test_any_grid_openpyxl_writes_reads_as_before(rows: list[list[Any]], scattered: list[tuple[int, int, Any]]) -> None:
    book = OpenpyxlWorkbook()
    ws = book.active
    ws.title = "frame"
    for row in rows:
        ws.append(row)
    for column, row_number, value in scattered:  # cells anywhere: gaps in rows and columns, past column 64
        ws.cell(row=row_number + len(rows), column=column, value=value)
    out = io.BytesIO()
    book.save(out)
    assert_read_as_openpyxl(out.getvalue(), "frame")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), texts, st.integers(-999, 10**9), st.floats(-1e6, 1e6).map(lambda f: round(f, 3))), max_size=6), max_size=8))
def test_any_grid_of_shared_strings_reads_as_before(rows: list[list[Any]]) -> None:
    """The shared strings Excel writes, which openpyxl does not write."""
    strings: dict[str, int] = {}
    xml_rows = []
    for i, row in enumerate(rows, start=1):
        cells = []
        for j, value in enumerate(row):
            ref = f"{chr(65 + j)}{i}"
            if isinstance(value, str):
                cells.append(f'<c r="{ref}" t="s"><v>{strings.setdefault(value, len(strings))}</v></c>')
            elif value is not None:
                cells.append(f'<c r="{ref}"><v>{value!r}</v></c>')
        xml_rows.append(f'<row r="{i}" spans="1:{len(row)}">{"".join(cells)}</row>')
    escape = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")  # noqa: E731
    data = package({"frame": sheet_xml("".join(xml_rows))}, strings=sst(*(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings)))
    assert_read_as_openpyxl(data, "frame")


# --- through table_read: sheets, row numbers, limits ------------------------------------------------


def test_the_sheet_is_chosen_by_name_and_rows_keep_their_spreadsheet_numbers() -> None:
    data = package({"说明": sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'),
                    " Frame ": sheet_xml('<row r="2"><c r="A2" t="inlineStr"><is><t>code</t></is></c><c r="C2" t="inlineStr"><is><t>town</t></is></c></row>'
                                         '<row r="5"><c r="C5" t="inlineStr"><is><t>ta</t></is></c></row>'
                                         '<row r="9"><c r="A9" t="inlineStr"><is><t>v09</t></is></c></row>')})
    table = table_read(data, "f.xlsx", sheet_names=["frame"])
    assert (table.sheet, table.header_row, table.headers) == (" Frame ", 2, ["code", "town"])
    assert table.rows == [(5, {"code": "", "town": "ta"}), (9, {"code": "v09", "town": ""})]


@pytest.fixture
def fc(db: None) -> FieldCounty:
    return field_county(with_users=True)


def test_an_xlsx_frame_names_the_spreadsheets_own_row_of_a_problem(fc: FieldCounty) -> None:
    data = package({"抽样框": sheet_xml(
        '<row r="1">' + "".join(f'<c r="{c}1" t="s"><v>{i}</v></c>' for i, c in enumerate("ABCDE")) + "</row>"
        '<row r="4"><c r="A4" t="s"><v>5</v></c><c r="B4" t="s"><v>6</v></c><c r="C4" t="s"><v>7</v></c><c r="D4" t="s"><v>8</v></c><c r="E4"><v>1200</v></c></row>'
        '<row r="7"><c r="A7" t="s"><v>9</v></c><c r="B7" t="s"><v>6</v></c><c r="D7" t="s"><v>8</v></c><c r="E7"><v>860.0</v></c></row>'
    )}, strings=sst(*(f"<si><t>{s}</t></si>" for s in ("code", "name", "town", "urban_rural", "measure_of_size", "v01", "王庄村", "ta", "rural", "v02"))))
    with pytest.raises(ImportRejected) as refused:
        frame_import(county=fc.county, name="x", kind=Frame.Kind.AREA, reference_year=2024, data=data, filename="f.xlsx")
    assert [(p.row, p.column) for p in refused.value.problems] == [(7, "town")]


def test_rows_past_the_limit_are_refused_even_when_the_sheet_does_not_claim_them() -> None:
    rows = f'<row r="1"><c r="A1"><v>1</v></c></row><row r="{MAX_ROWS + 2}"/>'
    for data in (package({"s": sheet_xml(rows)}), package({"s": sheet_xml(pretty(rows))})):
        with pytest.raises(ImportRejected, match="行数太多"):
            table_read(data, "f.xlsx")
    assert table_read(package({"s": sheet_xml(f'<row r="1"><c r="A1"><v>1</v></c></row><row r="{MAX_ROWS + 1}"><c r="A{MAX_ROWS + 1}"><v>2</v></c></row>')}),
                      "f.xlsx").rows == [(MAX_ROWS + 1, {"1": "2"})]


@pytest.mark.parametrize("pretty_printed", [False, True])
def test_a_sheet_claiming_too_many_rows_is_refused_at_once(pretty_printed: bool) -> None:
    xml_text = sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>', dimension="A1:C1048576")
    with pytest.raises(ImportRejected, match="行数太多"):
        table_read(package({"s": pretty(xml_text) if pretty_printed else xml_text}), "f.xlsx")


# --- damaged and hostile workbooks --------------------------------------------------------------------

LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)) + "]>")
EXTERNAL = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'


def refused(data: bytes, match: str = UNREADABLE) -> None:
    started = time.perf_counter()
    with pytest.raises(ImportRejected, match=match):
        table_read(data, "f.xlsx")
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("prolog", [LAUGHS, EXTERNAL])
@pytest.mark.parametrize("part", ["sheet", "strings", "styles", "workbook"])
def test_entity_declarations_are_refused_in_every_part(prolog: str, part: str) -> None:
    body = "&lol9;" if prolog == LAUGHS else "&e;"
    sheet = sheet_xml(f'<row r="1"><c r="A1" t="inlineStr"><is><t>x{body if part == "sheet" else ""}</t></is></c><c r="B1" t="s"><v>0</v></c></row>')
    strings = sst(f"<si><t>y{body if part == 'strings' else ''}</t></si>")
    data = package({"s": sheet.replace('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n', prolog if part == "sheet" else "")},
                   strings=strings.replace('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n', prolog if part == "strings" else ""),
                   styles=STYLES.replace('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n', prolog if part == "styles" else ""))
    if part == "workbook":
        data = rewrite(data, "xl/workbook.xml", lambda x: x.replace(b'<?xml version="1.0" encoding="UTF-8"?>', prolog.encode()))
    refused(data)


def rewrite(data: bytes, name: str, change: Any, *, compression: int | None = None) -> bytes:
    """DATA with its part NAME changed by CHANGE (bytes -> bytes), or compressed otherwise."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == name:
                content = change(content)
                z.writestr(name, content, compress_type=compression or zipfile.ZIP_DEFLATED)
            else:
                z.writestr(item, content)
    return out.getvalue()


GOOD = package({"s": sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2"><v>1</v></c></row>')}, strings=sst("<si><t>code</t></si>"),
               styles=STYLES)


@pytest.mark.parametrize(("name", "change"), [
    ("xl/worksheets/sheet1.xml", lambda x: x[: len(x) // 2]),  # cut off
    ("xl/worksheets/sheet1.xml", lambda x: x.replace(b"</row>", b"</rowx>", 1)),
    ("xl/worksheets/sheet1.xml", lambda x: x.replace(b"<v>1</v>", b"<v>abc</v>")),
    ("xl/worksheets/sheet1.xml", lambda x: x.replace(b'<v>0</v>', b"<v>7</v>")),  # no such shared string
    ("xl/worksheets/sheet1.xml", lambda x: x.replace(b'<v>0</v>', b"<v>-1</v>")),
    ("xl/worksheets/sheet1.xml", lambda x: x.replace(b'r="2"', b'r="2.5"')),
    ("xl/worksheets/sheet1.xml", lambda x: x.replace(b'r="A2"', b'r="A\xc3(2"')),
    ("xl/worksheets/sheet1.xml", lambda x: x.replace(b"<v>1</v>", b"<v>\xff\xfe</v>")),  # not UTF-8
    ("xl/worksheets/sheet1.xml", lambda x: x.replace(b"<v>1</v>", b"<v>&nbsp;</v>")),  # an entity no one declared
    ("xl/worksheets/sheet1.xml", lambda x: x.replace(b"<v>1</v>", b"<v>&#1;</v>")),  # a character XML does not allow
    ("xl/worksheets/sheet1.xml", lambda x: x.replace(b"<v>1</v>", b"<v>\x01</v>")),
    ("xl/worksheets/sheet1.xml", lambda x: x.replace(b"<v>1</v>", b'<v>1</v></c><c r="B2" t="inlineStr"><is><t>a\x00b</t></is>')),
    ("xl/worksheets/sheet1.xml", lambda x: x.replace(b'<c r="A2"><v>1</v>', b'<c r="A2" t="str"><v>R & D</v>')),
    ("xl/worksheets/sheet1.xml", lambda x: x.replace(b"<sheetData>", b"<sheetData>" + b"<a>" * 100_000)),
    ("xl/worksheets/sheet1.xml", lambda x: x.replace(b"<sheetViews>", b"<a>" * 100_000 + b"<sheetViews>")),
    ("xl/styles.xml", lambda x: x.replace(b"<fonts", b"<a>" * 100_000 + b"<fonts")),
    ("xl/styles.xml", lambda x: x.replace(b'numFmtId="14"', b'numFmtId="x"')),
    ("xl/sharedStrings.xml", lambda x: x.replace(b"<si>", b"<si>" + b"<a>" * 100_000)),
    ("xl/sharedStrings.xml", lambda x: x[:-3]),
    ("xl/workbook.xml", lambda x: b"<workbook"),
    ("[Content_Types].xml", lambda x: x),  # no harm: not needed
])
def test_damaged_parts_are_refused_cleanly(name: str, change: Any) -> None:
    data = rewrite(GOOD, name, change)
    if name == "[Content_Types].xml":
        assert table_read(data, "f.xlsx").rows == [(2, {"code": "1"})]
    else:
        refused(data)


@pytest.mark.parametrize("missing", ["xl/workbook.xml", "xl/worksheets/sheet1.xml", "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml",
                                     "xl/styles.xml", "_rels/.rels"])
def test_missing_parts_are_refused_cleanly(missing: str) -> None:
    source = zipfile.ZipFile(io.BytesIO(GOOD))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for item in source.infolist():
            if item.filename != missing:
                z.writestr(item, source.read(item.filename))
    if missing == "xl/styles.xml":
        assert table_read(out.getvalue(), "f.xlsx").rows == [(2, {"code": "1"})]
    elif missing == "_rels/.rels":  # the workbook is where it always is
        assert table_read(out.getvalue(), "f.xlsx").rows == [(2, {"code": "1"})]
    else:  # no sheet, no shared string 0
        with pytest.raises(ImportRejected, match="无法读取 XLSX 工作簿|工作簿中没有名为"):
            table_read(out.getvalue(), "f.xlsx")


@pytest.mark.parametrize("data", [b"PK\x03\x04 this is not really a zip", b"PK\x05\x06" + b"\x00" * 18, GOOD[: len(GOOD) // 2], GOOD[:-30]])
def test_what_is_not_a_whole_zip_is_refused(data: bytes) -> None:
    refused(data)


def test_unusual_compression_is_refused() -> None:
    refused(rewrite(GOOD, "xl/worksheets/sheet1.xml", lambda x: x, compression=zipfile.ZIP_BZIP2))


def test_a_zip_bomb_is_refused_by_the_size_of_its_sheet(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>' for i in range(1, 20_000))
    data = package({"s": sheet_xml(rows)})
    assert len(zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")) > 500_000
    monkeypatch.setattr(xlsx, "MAX_PART_BYTES", 500_000)
    refused(data)
    # A zip stating a small size for a larger part: it is read up to the stated size, and the CRC fails.
    refused(lie_about_size(data, "xl/worksheets/sheet1.xml", 1000))


def lie_about_size(data: bytes, name: str, size: int) -> bytes:
    """DATA with the uncompressed size of its part NAME stated as SIZE, in the local and the central header."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    out = bytearray(data)
    struct.pack_into("<I", out, info.header_offset + 22, size)
    position = data.find(b"PK\x01\x02")
    while position >= 0:  # the central directory's entries
        length = struct.unpack_from("<H", data, position + 28)[0]
        if data[position + 46:position + 46 + length] == name.encode():
            struct.pack_into("<I", out, position + 24, size)
        position = data.find(b"PK\x01\x02", position + 4)
    return bytes(out)


def test_damage_that_leaves_the_xml_whole_is_found_by_the_crc() -> None:
    """Both readers stop at the end of the rows, but unpack the rest so that zipfile checks the CRC."""
    data = package({"s": sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>code</t></is></c></row><row r="2"><c r="A2"><v>1234</v></c></row>')},
                   compression=zipfile.ZIP_STORED)
    assert table_read(data, "f.xlsx").rows == [(2, {"code": "1234"})]
    damaged = data.replace(b"<v>1234</v>", b"<v>1235</v>")
    for fast in (True, False):
        with pytest.raises(xlsx.XlsxError, match="CRC"):
            xlsx.Workbook(damaged).rows("s", max_rows=10, max_columns=10, fast=fast)
    refused(damaged)


def test_a_huge_cell_is_read_within_the_part_limit() -> None:
    data = package({"s": sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>code</t></is></c></row>'
                                   f'<row r="2"><c r="A2" t="inlineStr"><is><t>{"长" * 2_000_000}</t></is></c></row>')})
    assert table_read(data, "f.xlsx").rows[0][1]["code"] == "长" * 2_000_000


# --- CSV: a quote that never closes --------------------------------------------------------------------

FRAME_CSV = "code,name,town,urban_rural,measure_of_size\nv01,王庄村,ta,rural,1200\n"


def csv_problems(text: str) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(ImportRejected) as caught:
        table_read(text.encode(), "f.csv")
    return [(p.row, p.column, p.message) for p in caught.value.problems]


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_a_quote_that_never_closes_is_named_at_the_row_where_it_opens(delimiter: str) -> None:
    text = (FRAME_CSV + 'v02,"东关社区,ta,urban,3400\nv03,李家庄,tb,rural,860\nv04,张庄,tb,rural,120\n').replace(",", delimiter)
    ((row, column, message),) = csv_problems(text)
    assert (row, column) == (3, None) and "引号" in message and "没有闭合" in message


def test_rows_are_counted_as_the_spreadsheet_counts_them_not_as_lines() -> None:
    text = FRAME_CSV + 'v02,"东关\n社区",ta,urban,3400\n\nv03,李家庄,tb,rural,"860\nv04,张庄,tb,rural,120\n'
    assert [p[0] for p in csv_problems(text)] == [5]  # lines 3-4 are row 3, line 5 is row 4 (empty)


def test_a_quote_that_never_closes_in_a_large_file_is_named_too() -> None:
    """csv stops at its field size limit (128 KB) before the end of the file."""
    text = FRAME_CSV + 'v02,"东关社区,ta,urban,3400\n' + "".join(f"v{i},村{i},ta,rural,{i}\n" for i in range(3, 20_000))
    assert [p[0] for p in csv_problems(text)] == [3]


def test_a_field_past_the_size_limit_without_a_quote_is_still_a_format_error() -> None:
    ((row, _, message),) = csv_problems(FRAME_CSV + "v02," + "长" * 200_000 + ",ta,urban,3400\n")
    assert row is None and "CSV 文件格式有误" in message


def test_quoted_fields_over_several_lines_and_odd_quotes_are_read_as_before() -> None:
    text = FRAME_CSV + 'v02,"东关\n""社区""",ta,urban,"3,400"\nv03,李"家"庄,tb,"rural"x,860\n"v04",张庄,tb,rural,120'
    table = table_read(text.encode(), "f.csv")
    assert [(n, r["code"], r["name"], r["urban_rural"]) for n, r in table.rows] == [
        (2, "v01", "王庄村", "rural"), (3, "v02", '东关\n"社区"', "urban"), (4, "v03", '李"家"庄', "ruralx"), (5, "v04", "张庄", "rural"),
    ]
    assert table_read(text.encode("gb18030"), "f.csv") == table


def test_a_frame_with_a_stray_quote_is_refused_by_the_quote_not_by_its_consequences(fc: FieldCounty) -> None:
    text = FRAME_CSV + 'v02,"东关社区,ta,urban,3400\nv03,李家庄,tb,rural,860\n'
    with pytest.raises(ImportRejected) as caught:
        frame_import(county=fc.county, name="q", kind=Frame.Kind.AREA, reference_year=2024, data=text.encode(), filename="f.csv")
    assert [(p.row, p.column) for p in caught.value.problems] == [(3, None)]
    assert not Frame.objects.filter(name="q").exists()


# --- two columns of the same field ------------------------------------------------------------------

ALIASES = {"code": ("代码", "编码"), "town": ("乡镇", "town_code"), "size": ("人数",)}


def table(*headers: str) -> Table:
    return Table(headers=list(headers), rows=[], header_row=3)


def test_a_field_and_its_alias_are_refused_naming_both() -> None:
    with pytest.raises(ImportRejected) as caught:
        columns_match(table("代码", "town", "code"), ALIASES, ("code", "town"))
    assert [(p.row, p.column, p.message) for p in caught.value.problems] == [(3, "code", "“代码”和“code”是同一列，请删去其中一列。")]


def test_every_field_named_twice_is_refused_whatever_the_case_with_the_missing_ones() -> None:
    with pytest.raises(ImportRejected) as caught:
        columns_match(table("Code", "代码", "编码", "TOWN", "乡镇", "Town_Code"), ALIASES, ("code", "town", "size"))
    assert [(p.row, p.column) for p in caught.value.problems] == [(3, "代码"), (3, "编码"), (3, "乡镇"), (3, "Town_Code"), (3, "size")]
    assert "“Code”和“编码”" in caught.value.problems[1].message and "缺少这一列" in caught.value.problems[-1].message


def test_one_name_per_field_still_matches() -> None:
    assert columns_match(table("编码", "Town", "备注"), ALIASES, ("code",)) == {"code": "编码", "town": "Town"}


def test_a_frame_with_code_and_代码_is_refused_through_the_api(fc: FieldCounty) -> None:
    client = APIClient()
    client.force_login(fc.users["admin"])
    data = "code,名称,乡镇,城乡,人口,代码\nv01,王庄村,ta,rural,1200,X1\n".encode()
    response = client.post("/api/v1/frames/", {"name": "dup", "kind": "area", "reference_year": 2024,
                                               "file": SimpleUploadedFile("f.csv", data)}, format="multipart")
    assert response.status_code == 400
    assert response.json()["problems"] == [{"row": 1, "column": "代码", "message": "“code”和“代码”是同一列，请删去其中一列。"}]
    assert not Frame.objects.filter(name="dup").exists()


def test_a_listing_with_unit_and_psu_is_refused(fc: FieldCounty) -> None:
    with pytest.raises(ImportRejected, match="“unit”和“PSU”是同一列"):
        households_import(frame=fc.frame, data=b"unit,code,PSU\nv01,001,v01\n", filename="l.csv")


def test_an_xlsx_frame_imports_through_the_api(fc: FieldCounty) -> None:
    client = APIClient()
    client.force_login(fc.users["admin"])
    data = openpyxl_book({"抽样框": [["code", "name", "town", "urban_rural", "measure_of_size"], ["x01", "新村", "ta", "rural", 500.0],
                                     [], ["x02", "新社区", "甲镇", "urban", 900]]})
    response = client.post("/api/v1/frames/", {"name": "xl", "kind": "area", "reference_year": 2024,
                                               "file": SimpleUploadedFile("f.xlsx", data)}, format="multipart")
    assert response.status_code == 201, response.json()
    assert sorted(Frame.objects.get(name="xl").units.values_list("code", "measure_of_size")) == [("x01", 500.0), ("x02", 900.0)]
