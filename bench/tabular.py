"""Benchmark of reading a 200,000-row frame (the reader's MAX_ROWS) as CSV and as XLSX.

Run by hand (not part of the test suite)::

    .venv/bin/python bench/tabular.py [--rows 200000] [--repeat 3] [--no-import]
                                      [--output bench/results/tabular.txt]

It builds in memory a frame-like table of 8 columns (code, name, town, urban_rural,
measure_of_size, households, head_of_village, area_km2), written three ways: as CSV; as XLSX the
way Excel and WPS write it (shared strings, styles); and as XLSX the way openpyxl writes it
(inline strings; pandas and scripts make these).  Then, in this one process, it times
`assessment.tabular.table_read` on each: the CSV; each XLSX with the reader of
assessment/xlsx.py (its fast reader, and its general expat reader alone); and each XLSX with
the openpyxl reading it replaced (read-only, data-only, as tabular.py did before), which must give
the same table.  With the import (the default), it also times the frame import through the
service (`frame_import`, validation and bulk insert included) into a fresh SQLite database.

Targets: the 200,000-row XLSX read well under 10 s (gunicorn's timeout is 30 s, docs/deploy.md).
"""
from __future__ import annotations

import argparse
import csv
import gc
import hashlib
import io
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HEADER = ["code", "name", "town", "urban_rural", "measure_of_size", "households", "head_of_village", "area_km2"]
TOWNS = [(f"t{i:02d}", f"第{i}镇") for i in range(1, 21)]


def frame_rows(n: int, seed: int = 7) -> list[list[Any]]:
    rng = random.Random(seed)
    surnames = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
    rows: list[list[Any]] = [HEADER]
    for i in range(n):
        code, name = TOWNS[i % len(TOWNS)]
        rows.append([f"v{i:06d}", f"第{i}村", code if i % 2 else name, "rural" if i % 3 else "urban", rng.randint(100, 9000),
                     rng.randint(30, 3000), surnames[i % 20] + "建国" + str(i % 97), round(rng.uniform(0.5, 40), 2)])
    return rows


def as_csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def as_excel_xlsx(rows: list[list[Any]]) -> bytes:
    """ROWS as Excel writes them: strings shared, each row with its spans, the sizes stated."""
    strings: dict[str, int] = {}
    body = []
    for number, values in enumerate(rows, start=1):
        cells = []
        for j, value in enumerate(values):
            ref = f"{chr(65 + j)}{number}"
            if isinstance(value, str):
                cells.append(f'<c r="{ref}" t="s"><v>{strings.setdefault(value, len(strings))}</v></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        body.append(f'<row r="{number}" spans="1:{len(values)}">{"".join(cells)}</row>')
    sheet = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<worksheet xmlns="{MAIN}" xmlns:r="{RELS}">'
             f'<dimension ref="A1:H{len(rows)}"/><sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
             f'<sheetFormatPr defaultRowHeight="13.5"/><sheetData>{"".join(body)}</sheetData>'
             '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>')
    shared = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<sst xmlns="{MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'
              + "".join(f'<si><t>{escape(s)}</t><phoneticPr fontId="1" type="noConversion"/></si>' for s in strings) + "</sst>")
    styles = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<styleSheet xmlns="{MAIN}"><fonts count="1"><font><sz val="11"/>'
              '<name val="宋体"/><charset val="134"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
              '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
              '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
              '<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                   '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                   '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                   '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>')
        z.writestr("_rels/.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{package}"><Relationship Id="rId1" Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets><sheet name="抽样框" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{package}"><Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
                   f'<Relationship Id="rId2" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="{RELS}/styles" Target="styles.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        z.writestr("xl/sharedStrings.xml", shared)
        z.writestr("xl/styles.xml", styles)
    return out.getvalue()


def as_openpyxl_xlsx(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("抽样框")
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def old_xlsx_rows(data: bytes, sheet_names: Sequence[str]) -> tuple[str, list[tuple[int, tuple[str, ...]]]]:
    """The reading tabular.py did with openpyxl before assessment/xlsx.py (errors left out), with the
    filtering of empty rows that table_read did after it."""
    from openpyxl import load_workbook

    from assessment.tabular import MAX_COLUMNS
    from assessment.xlsx import text_of

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        wanted = {n.lower() for n in sheet_names}
        chosen = next(n for n in book.sheetnames if n.strip().lower() in wanted)
        sheet = book[chosen]
        sheet.reset_dimensions()
        rows = []
        for i, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1):
            cells = [text_of(v) for v in values]
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                rows.append((i, tuple(cells)))
        return chosen, rows
    finally:
        book.close()


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """The median and least wall time of REPEAT runs of RUN, and its result (the last run's only: no
    table of an earlier run stays in memory, where the garbage collector would walk it again and again)."""
    times, result = [], None
    for _ in range(repeat):
        result = None
        gc.collect()
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times), result


def digest(table: Any) -> str:
    return hashlib.sha256(repr((table.headers, table.rows, table.header_row)).encode()).hexdigest()


def import_times(files: dict[str, bytes], repeat: int) -> list[tuple[str, float, float, int]]:
    """Time `frame_import` of each file into a fresh SQLite database, each run rolled back."""
    from django.core.management import call_command
    from django.db import transaction

    from assessment.models import County, Town
    from assessment.services import frame_import

    call_command("migrate", verbosity=0)
    county = County.objects.create(code="370199", name_zh="基准县", name_en="Bench County")
    for i, (code, name) in enumerate(TOWNS):
        Town.objects.create(county=county, code=code, name_zh=name, name_en=code, kind=Town.Kind.TOWN, order=i)
    results = []
    for label, data in files.items():
        times, units = [], 0
        for _ in range(repeat):
            with transaction.atomic():
                started = time.perf_counter()
                frame = frame_import(county=county, name="bench", kind="area", reference_year=2024, data=data, filename=label)
                times.append(time.perf_counter() - started)
                units = frame.units.count()
                transaction.set_rollback(True)
        results.append((label, statistics.median(times), min(times), units))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each new reading (the openpyxl one runs once)")
    parser.add_argument("--no-import", action="store_true", help="skip the frame import through the service")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "tabular.txt")
    args = parser.parse_args()

    db = Path(tempfile.mkdtemp(prefix="suyang-bench-tabular-")) / "db.sqlite3"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from unittest import mock

    from assessment import tabular, xlsx

    lines = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    say(f"Table reading benchmark, {time.strftime('%Y-%m-%d %H:%M')} on {platform.node()} ({os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at start)")
    import openpyxl

    say(f"python {platform.python_version()}, openpyxl {openpyxl.__version__}, expat {__import__('pyexpat').EXPAT_VERSION}")
    rows = frame_rows(args.rows)
    started = time.perf_counter()
    files = {"frame.csv": as_csv(rows), "excel.xlsx": as_excel_xlsx(rows), "openpyxl.xlsx": as_openpyxl_xlsx(rows)}
    warm = as_excel_xlsx(rows[:3])
    del rows  # 200,000 lists the garbage collector would walk at each full collection, as no server process has
    for name, data in files.items():
        unpacked = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist()) if name.endswith(".xlsx") else len(data)
        say(f"  {name:14} {len(data) / 1e6:6.1f} MB ({unpacked / 1e6:.1f} MB unpacked)")
    say(f"data: {args.rows:,} rows of {len(HEADER)} columns ({', '.join(HEADER)}), built in {time.perf_counter() - started:.0f} s")
    say(f"each new reading run {args.repeat} times (median, least), the openpyxl reading once; wall time in this one process")
    say()
    say("== table_read (assessment/tabular.py)")
    say(f"  {'file':14} {'reader':22} {'wall s':>7} {'(least)':>8} {'vs CSV':>7} {'vs openpyxl':>12}")
    tabular.table_read(warm, "warm.xlsx", sheet_names=["抽样框"])  # the imports a server process has done
    csv_s, csv_least, csv_table = timed(lambda: tabular.table_read(files["frame.csv"], "frame.csv", sheet_names=["抽样框"]), args.repeat)
    csv_rows = len(csv_table.rows)
    del csv_table
    say(f"  {'frame.csv':14} {'csv':22} {csv_s:7.2f} {csv_least:8.2f} {1:6.1f}x")
    fast_rows = xlsx.Workbook.rows

    def general_rows(self: xlsx.Workbook, sheet: str, **kw: Any) -> Any:
        return fast_rows(self, sheet, **{**kw, "fast": False})

    for name in ("excel.xlsx", "openpyxl.xlsx"):
        read = lambda name=name: tabular.table_read(files[name], name, sheet_names=["抽样框"])  # noqa: E731
        new_s, new_least, table = timed(read, args.repeat)
        expected, table = (len(table.rows), digest(table)), None
        with mock.patch.object(xlsx.Workbook, "rows", general_rows):
            general_s, general_least, table = timed(read, args.repeat)
        assert (len(table.rows), digest(table)) == expected, f"{name}: the fast and the general reader disagree"
        table = None
        with mock.patch.object(tabular, "_xlsx_rows", old_xlsx_rows):
            old_s, _, table = timed(read, 1)
        assert (len(table.rows), digest(table)) == expected and expected[0] == args.rows, f"{name}: openpyxl reads another table"
        table = None
        say(f"  {name:14} {'xlsx.py (fast)':22} {new_s:7.2f} {new_least:8.2f} {new_s / csv_s:6.1f}x {old_s / new_s:11.1f}x faster")
        say(f"  {name:14} {'xlsx.py (general only)':22} {general_s:7.2f} {general_least:8.2f} {general_s / csv_s:6.1f}x {old_s / general_s:11.1f}x faster")
        say(f"  {name:14} {'openpyxl (before)':22} {old_s:7.2f} {'':8} {old_s / csv_s:6.1f}x {1:11.1f}x")
    assert csv_rows == args.rows
    say("  the three readings of each XLSX give the same table")
    if not args.no_import:
        say()
        say("== frame_import through the service (read, validate, bulk insert; SQLite; rolled back)")
        say(f"  {'file':14} {'wall s':>7} {'(least)':>8} {'units':>8}")
        for label, median, least, units in import_times({n: files[n] for n in ("frame.csv", "excel.xlsx")}, args.repeat):
            say(f"  {label:14} {median:7.2f} {least:8.2f} {units:8,}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
