"""Frame and household-listing imports (assessment/services/frames.py): every kind of bad input names
its row and column and imports nothing; good CSV (UTF-8 or GB18030, English or Chinese headers)
and XLSX files import."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from assessment.errors import ImportRejected
from assessment.models import AuditEvent, Frame, FrameUnit, Household, Village
from assessment.services import frame_import, households_import
from tests.assessment.fieldwork_setup import FieldCounty, field_county
from tests.assessment.workbooks import openpyxl_book

pytestmark = pytest.mark.django_db

GOOD = """code,name,town,urban_rural,measure_of_size,households,head_of_village
v01,王庄村,ta,rural,1200,410,王建国
v02,东关社区,甲镇,urban,"3,400",1200,
v03,李家庄,tb,农村,860.0,,李强
"""


@pytest.fixture
def fc(db: None) -> FieldCounty:
    return field_county(with_users=False)


def run(fc: FieldCounty, text: str | bytes, filename: str = "frame.csv", kind: str = Frame.Kind.AREA) -> Frame:
    data = text.encode() if isinstance(text, str) else text
    return frame_import(county=fc.county, name="新框", kind=kind, reference_year=2024, data=data, filename=filename)


def problems_of(fc: FieldCounty, text: str | bytes, filename: str = "frame.csv") -> list[tuple[int | None, str | None, str]]:
    frames, units = Frame.objects.count(), FrameUnit.objects.count()
    with pytest.raises(ImportRejected) as caught:
        run(fc, text, filename)
    assert (Frame.objects.count(), FrameUnit.objects.count()) == (frames, units), "a bad file must import nothing"
    return [(p.row, p.column, p.message) for p in caught.value.problems]


# --- good files -------------------------------------------------------------------------------


def test_a_good_csv_imports_every_unit_with_its_town_size_and_extra_columns(fc: FieldCounty) -> None:
    frame = run(fc, GOOD)
    units = {u.code: u for u in frame.units.select_related("town")}
    assert set(units) == {"v01", "v02", "v03"}
    assert (units["v01"].town.code, units["v01"].urban_rural, units["v01"].measure_of_size, units["v01"].households) == ("ta", "rural", 1200, 410)
    assert (units["v02"].town.code, units["v02"].urban_rural, units["v02"].measure_of_size) == ("ta", "urban", 3400)  # by name, thousands separator
    assert (units["v03"].urban_rural, units["v03"].measure_of_size, units["v03"].households) == ("rural", 860, None)
    assert units["v01"].attributes == {"head_of_village": "王建国"}
    assert frame.source_filename == "frame.csv" and frame.reference_year == 2024
    assert AuditEvent.objects.get(action="frame.import", object_id=str(frame.pk)).details["units"] == 3


def test_chinese_headers_and_gb18030_encoding_are_read(fc: FieldCounty) -> None:
    text = "代码,名称,乡镇,城乡,常住人口\nv01,王庄村,甲镇,农村,1200\nv02,东关社区,乙镇,城镇,3400\n"
    frame = run(fc, text.encode("gb18030"))
    assert sorted(frame.units.values_list("code", "town__code", "urban_rural")) == [("v01", "ta", "rural"), ("v02", "tb", "urban")]


def test_units_are_linked_to_the_village_of_the_same_code(fc: FieldCounty) -> None:
    village = Village.objects.create(
        town=fc.towns["ta"], code="v01", name_zh="王庄村", kind=Village.Kind.VILLAGE, urban_rural="rural", population=1200, households=410
    )
    frame = run(fc, GOOD)
    assert frame.units.get(code="v01").village == village and frame.units.get(code="v03").village is None


def test_a_good_xlsx_imports_from_the_frame_sheet(fc: FieldCounty) -> None:
    data = openpyxl_book({
        "说明": [["这张表是说明"]],
        "抽样框": [["code", "name", "town", "urban_rural", "students"], ["s01", "第一中学", "ta", "urban", 1500],
                 ["s02", "乙镇中学", "tb", "rural", 640.0]],
    })
    frame = frame_import(
        county=fc.county, name="学校", kind=Frame.Kind.SCHOOL, reference_year=2025, data=data, filename="schools.xlsx"
    )
    assert frame.kind == Frame.Kind.SCHOOL
    assert sorted(frame.units.values_list("code", "measure_of_size")) == [("s01", 1500.0), ("s02", 640.0)]


def test_tab_separated_text_is_read(fc: FieldCounty) -> None:
    frame = run(fc, "code\tname\ttown\turban_rural\tsize\nv01\t王庄村\tta\trural\t1200\n")
    assert frame.units.count() == 1


# --- every kind of bad input ------------------------------------------------------------------


def test_missing_columns_are_named(fc: FieldCounty) -> None:
    problems = problems_of(fc, "code,name,town\nv01,王庄村,ta\n")
    assert [(row, column) for row, column, _ in problems] == [(1, "urban_rural"), (1, "measure_of_size")]
    assert "缺少这一列" in problems[0][2]


def test_unknown_town_names_row_and_column(fc: FieldCounty) -> None:
    problems = problems_of(fc, GOOD.replace("v03,李家庄,tb", "v03,李家庄,丙镇"))
    assert problems == [(4, "town", "“丙镇”不是本县的乡镇（街道）。")]


@pytest.mark.parametrize("size", ["abc", "0", "-5", "nan", "inf", ""])
def test_non_numeric_or_non_positive_size_is_refused(fc: FieldCounty, size: str) -> None:
    problems = problems_of(fc, GOOD.replace("1200,410", f"{size},410"))
    assert [(row, column) for row, column, _ in problems] == [(2, "measure_of_size")]
    assert "规模度量须为大于 0" in problems[0][2]


def test_duplicate_code_names_both_rows(fc: FieldCounty) -> None:
    problems = problems_of(fc, GOOD.replace("v03,", "v01,"))
    assert problems == [(4, "code", "代码“v01”与第 2 行重复。")]


@pytest.mark.parametrize("value", ["suburb", "城乡结合部", ""])
def test_bad_urban_rural_is_refused(fc: FieldCounty, value: str) -> None:
    problems = problems_of(fc, GOOD.replace("ta,rural", f"ta,{value}"))
    assert [(row, column) for row, column, _ in problems] == [(2, "urban_rural")]


def test_bad_households_count_is_refused(fc: FieldCounty) -> None:
    assert [(r, c) for r, c, _ in problems_of(fc, GOOD.replace("1200,410", "1200,41.5"))] == [(2, "households")]


def test_every_problem_of_every_row_is_reported_together(fc: FieldCounty) -> None:
    text = "code,name,town,urban_rural,measure_of_size\nv01,,丙镇,suburb,0\nv01,甲,ta,rural,5\n,乙,ta,rural,5\n"
    problems = problems_of(fc, text)
    assert [(row, column) for row, column, _ in problems] == [
        (2, "name"), (2, "town"), (2, "urban_rural"), (2, "measure_of_size"), (3, "code"), (4, "code"),
    ]


@pytest.mark.parametrize("data", [b"", b"   \n\n", b"code,name,town,urban_rural,measure_of_size\n"])
def test_empty_file_is_refused(fc: FieldCounty, data: bytes) -> None:
    problems = problems_of(fc, data)
    assert len(problems) == 1 and problems[0][:2] == (None, None)
    assert "空" in problems[0][2] or "没有数据行" in problems[0][2]


def test_text_in_neither_utf8_nor_gb18030_is_refused(fc: FieldCounty) -> None:
    problems = problems_of(fc, b"code,name\n\xff\xfe\xff\xfe,\x80\x80\n")
    assert "编码" in problems[0][2]


def test_binary_garbage_is_refused_as_not_text(fc: FieldCounty) -> None:
    problems = problems_of(fc, bytes(range(256)) * 4, filename="frame.csv")
    assert "二进制" in problems[0][2]


def test_a_broken_xlsx_is_refused(fc: FieldCounty) -> None:
    problems = problems_of(fc, b"PK\x03\x04 this is not really a zip", filename="frame.xlsx")
    assert "XLSX" in problems[0][2]


def test_xlsx_without_the_frame_sheet_names_the_sheets_it_has(fc: FieldCounty) -> None:
    data = openpyxl_book({"Sheet1": [["code"], ["v01"]], "人口": [["town", "population"], ["ta", 100]]})
    problems = problems_of(fc, data, filename="frame.xlsx")
    assert "Sheet1" in problems[0][2] and "人口" in problems[0][2]


def test_xlsx_whose_only_sheet_is_something_else_reports_the_missing_columns(fc: FieldCounty) -> None:
    data = openpyxl_book({"人口": [["乡镇", "人口"], ["甲镇", 100]]})
    problems = problems_of(fc, data, filename="frame.xlsx")
    assert {column for _, column, _ in problems} == {"code", "name", "urban_rural"}


def test_row_longer_than_the_header_is_refused(fc: FieldCounty) -> None:
    problems = problems_of(fc, GOOD + "v04,张庄,ta,rural,100,20,王,extra\n")
    assert problems[0][0] == 5


def test_unknown_frame_kind_is_refused(fc: FieldCounty) -> None:
    with pytest.raises(ImportRejected):
        run(fc, GOOD, kind="hospital")


# --- household listings -----------------------------------------------------------------------


LISTING = """unit,code,size,address,head_name
v01,001,3,王庄村1号,王建国
v01,002,,王庄村2号,
v02,001,5,东关社区3栋,
"""


def test_a_listing_imports_with_encrypted_address_and_head(fc: FieldCounty) -> None:
    frame = run(fc, GOOD)
    result = households_import(frame=frame, data=LISTING.encode(), filename="listing.csv")
    assert (result.households, result.cases) == (3, 0)
    first = Household.objects.get(unit__frame=frame, unit__code="v01", code="001")
    assert (first.size, first.address, first.head_name) == (3, "王庄村1号", "王建国")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT address FROM assessment_household WHERE id = %s", [first.pk])
        assert "王庄村" not in cursor.fetchone()[0]  # stored encrypted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (LISTING.replace("v02,001", "v09,001"), (4, "unit")),
        (LISTING.replace("v01,002", "v01,001"), (3, "code")),
        (LISTING.replace("v01,002,,", "v01,,,"), (3, "code")),
        (LISTING.replace("v02,001,5", "v02,001,many"), (4, "size")),
        (LISTING.replace("v02,001,5", "v02,001,0"), (4, "size")),
        ("code,size\n001,3\n", (1, "unit")),
    ],
)
def test_bad_listing_rows_are_named_and_nothing_is_imported(fc: FieldCounty, text: str, expected: tuple[int, str]) -> None:
    frame = run(fc, GOOD)
    with pytest.raises(ImportRejected) as caught:
        households_import(frame=frame, data=text.encode(), filename="listing.csv")
    assert (caught.value.problems[0].row, caught.value.problems[0].column) == expected
    assert not Household.objects.filter(unit__frame=frame).exists()


def test_a_household_already_listed_is_refused(fc: FieldCounty) -> None:
    frame = run(fc, GOOD)
    households_import(frame=frame, data=LISTING.encode(), filename="listing.csv")
    with pytest.raises(ImportRejected, match="已在该单位的名单中"):
        households_import(frame=frame, data=b"unit,code\nv01,002\nv03,001\n", filename="more.csv")
    assert Household.objects.filter(unit__frame=frame).count() == 3


# --- the commands -----------------------------------------------------------------------------


def test_frame_import_command(fc: FieldCounty, tmp_path: Path) -> None:
    path = tmp_path / "frame.csv"
    path.write_text(GOOD, encoding="utf-8")
    out = io.StringIO()
    call_command("frame_import", str(path), county=fc.county.code, name="命令导入", year=2024, stdout=out)
    assert "3 units imported" in out.getvalue()
    frame = Frame.objects.get(name="命令导入")
    listing = tmp_path / "listing.csv"
    listing.write_text(LISTING, encoding="utf-8")
    call_command("households_import", str(listing), frame=frame.pk, stdout=out)
    assert "3 households imported" in out.getvalue()


def test_frame_import_command_reports_problems_and_imports_nothing(fc: FieldCounty, tmp_path: Path) -> None:
    path = tmp_path / "frame.csv"
    path.write_text(GOOD.replace("tb,农村", "tb,郊区"), encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 problem"):
        call_command("frame_import", str(path), county=fc.county.code, name="坏", year=2024, stderr=err)
    assert "第 4 行“urban_rural”列" in err.getvalue()
    assert not Frame.objects.filter(name="坏").exists()
    with pytest.raises(CommandError, match="no county"):
        call_command("frame_import", str(path), county="000000", name="x", year=2024)
