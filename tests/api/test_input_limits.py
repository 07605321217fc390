"""Inputs at and past their limits get a 400 naming what is wrong, never a 500 or a hung worker:
workbooks that claim a huge size, NUL bytes deep in a CSV, sizes no county has, design
parameters of the wrong kind, dates near the year 1, JSON and expressions nested without end."""
from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from assessment.errors import FieldworkError, ImportRejected
from assessment.models import Frame, FrameUnit, SampleDesign, Visit
from assessment.services import frame_import, sample_design_create
from assessment.tabular import table_read
from questionnaires.expressions import ExpressionError, parse
from tests.assessment.fieldwork_setup import FieldCounty, drawn_county

pytestmark = pytest.mark.django_db
FRAME_CSV = "code,name,town,urban_rural,measure_of_size\nn01,新村,ta,rural,500\nn02,新社区,tb,urban,900\n"


@pytest.fixture
def fc(db: None) -> FieldCounty:
    return drawn_county(seed=91)


def api(fc: FieldCounty, role: str = "admin") -> APIClient:
    client = APIClient()
    client.force_login(fc.users[role])
    return client


def bomb_xlsx() -> bytes:
    """1.5 KB: a sheet that claims A1:XFD1048576 and holds a header and one far cell."""
    buffer = io.BytesIO()
    ns = "http://schemas.openxmlformats.org"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", f'<?xml version="1.0"?><Types xmlns="{ns}/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", f'<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{ns}/officeDocument/2006/relationships"><sheets><sheet name="frame" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", f'<?xml version="1.0"?><worksheet xmlns="{ns}/spreadsheetml/2006/main"><dimension ref="{{ref}}"/><sheetData>'
                   '<row r="1"><c r="A1" t="inlineStr"><is><t>code</t></is></c></row>'
                   '<row r="{row}"><c r="XFD{row}"><v>1</v></c></row></sheetData></worksheet>')
    return buffer.getvalue()


def workbook(ref: str, row: int) -> bytes:
    """The bomb with its stated size REF and far cell in ROW."""
    source = zipfile.ZipFile(io.BytesIO(bomb_xlsx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.endswith("sheet1.xml"):
                data = data.replace(b"{ref}", ref.encode()).replace(b"{row}", str(row).encode())
            z.writestr(item, data)
    return out.getvalue()


def test_a_workbook_claiming_a_million_rows_is_refused_at_once() -> None:
    started = time.perf_counter()
    with pytest.raises(ImportRejected, match="行数太多"):
        table_read(workbook("A1:XFD1048576", 1048576), "frame.xlsx", sheet_names=["frame"])
    assert time.perf_counter() - started < 5


def test_a_workbook_that_understates_its_size_is_read_as_it_is_without_padding() -> None:
    """A far cell in a sheet claiming A1:A2 is past the columns read: the sheet is a header only."""
    started = time.perf_counter()
    with pytest.raises(ImportRejected, match="只有表头"):
        table_read(workbook("A1:A2", 3), "frame.xlsx", sheet_names=["frame"])
    assert time.perf_counter() - started < 5


def test_a_nul_byte_anywhere_in_a_csv_refuses_the_file(fc: FieldCounty) -> None:
    data = (FRAME_CSV + "n03,村" + "x" * 5000 + ",ta,rural,10\n").encode().replace(b"x" * 10, b"x\x00" + b"x" * 8, 1)
    response = api(fc).post("/api/v1/frames/", {"name": "nul", "kind": "area", "reference_year": 2025,
                                                 "file": SimpleUploadedFile("f.csv", data)}, format="multipart")
    assert response.status_code == 400 and "二进制" in response.json()["problems"][0]["message"]
    assert not Frame.objects.filter(name="nul").exists()


@pytest.mark.parametrize(("column", "value"), [("measure_of_size", "1e308"), ("measure_of_size", "2e9"), ("households", "99999999999999")])
def test_sizes_no_county_has_are_refused_naming_row_and_column(fc: FieldCounty, column: str, value: str) -> None:
    text = FRAME_CSV.replace("measure_of_size\n", "measure_of_size,households\n").replace(",500\n", ",500,100\n").replace(",900\n", ",900,200\n")
    text = text.replace(",900,200", ",900," + value if column == "households" else "," + value + ",200")
    with pytest.raises(ImportRejected) as refused:
        frame_import(county=fc.county, name="big", kind=Frame.Kind.AREA, reference_year=2025, data=text.encode(), filename="f.csv")
    (problem,) = refused.value.problems
    assert (problem.row, problem.column) == (3, column)
    assert not Frame.objects.filter(name="big").exists() and not FrameUnit.objects.filter(code="n02", frame__name="big").exists()


@pytest.mark.parametrize("year", [-5, 0, 1948, 2101, 70000])
def test_a_frames_reference_year_is_checked_by_the_import_itself(fc: FieldCounty, year: int) -> None:
    with pytest.raises(ImportRejected, match="资料年份"):
        frame_import(county=fc.county, name="y", kind=Frame.Kind.AREA, reference_year=year, data=FRAME_CSV.encode(), filename="f.csv")
    assert not Frame.objects.filter(name="y").exists()


@pytest.mark.parametrize(("parameters", "named"), [
    ({"response_rate": "abc"}, "response_rate"),
    ({"response_rate": -1}, "response_rate"),
    ({"response_rate": 1e308}, "response_rate"),
    ({"eligibility_rate": [1]}, "eligibility_rate"),
    ({"min_psu": "abc"}, "min_psu"),
    ({"min_psu": -5}, "min_psu"),
    ({"min_psu": 2.5}, "min_psu"),
    ({"eligible_ages": "x"}, "eligible_ages"),
    ({"eligible_ages": [70, 10]}, "eligible_ages"),
    ({"cv": 1e-200, "p": 0.2}, "cv"),
    ({"p": 0.2, "cv": 0.1, "p_by_stratum": [1]}, "p_by_stratum"),
    ({"level": "town"}, "level"),
    ({"respons_rate": 0.8}, "respons_rate"),
])
def test_design_parameters_are_checked_one_by_one(fc: FieldCounty, parameters: dict[str, Any], named: str) -> None:
    before = SampleDesign.objects.count()
    with pytest.raises(FieldworkError, match=named):
        sample_design_create(wave=fc.wave, frame=fc.frame, name="p", allocation="target_cv" if "cv" in parameters else "proportional",
                             psu_total=4, households_per_psu=5, parameters=parameters)
    response = api(fc).post(f"/api/v1/waves/{fc.wave.code}/designs/", {
        "name": "p", "frame": fc.frame.pk, "allocation": "proportional", "psu_total": 4, "households_per_psu": 5, "parameters": parameters,
    }, format="json")
    assert response.status_code == 400 and named in response.json()["detail"]
    assert SampleDesign.objects.count() == before


def test_good_design_parameters_still_make_a_design(fc: FieldCounty) -> None:
    design = sample_design_create(wave=fc.wave, frame=fc.frame, name="ok", allocation="proportional", psu_total=4, households_per_psu=5,
                                  parameters={"response_rate": 0.8, "eligibility_rate": 1, "eligible_ages": [18, 69], "min_psu": 1})
    assert design.parameters["eligible_ages"] == [18, 69] and design.parameters["response_rate"] == 0.8


def test_dates_near_the_year_1_are_refused_by_name_and_cost_no_other_visit(fc: FieldCounty) -> None:
    admin = api(fc)
    for url, name in (("/api/v1/responses/?received_after=0001-01-01", "received_after"), ("/api/v1/audit-events/?since=0001-01-01", "since")):
        response = admin.get(url)
        assert response.status_code == 400 and name in response.json()
    case = fc.wave.cases.filter(assigned_to=fc.users["enumerator_a"]).order_by("code").first()
    good, bad = uuid.uuid4(), uuid.uuid4()
    response = api(fc, "enumerator_a").post("/api/v1/visits/sync/", {"visits": [
        {"client_id": str(good), "case": case.code, "visited_at": "2026-09-02T10:00:00+08:00", "outcome": "non_contact"},
        {"client_id": str(bad), "case": case.code, "visited_at": "0001-01-01T00:00", "outcome": "non_contact"},
    ]}, format="json")
    assert response.status_code == 200
    statuses = {r["client_id"]: r["status"] for r in response.json()["results"]}
    assert statuses == {str(good): "stored", str(bad): "refused"}
    assert Visit.objects.filter(client_id=good).exists() and not Visit.objects.filter(client_id=bad).exists()


def test_json_nested_past_the_decoder_is_a_400_even_for_anonymous_submissions(fc: FieldCounty) -> None:
    body = "[" * 100_000
    anonymous = APIClient().post("/api/v1/invitations/" + "A" * 32 + "/responses/", body, content_type="application/json")
    assert anonymous.status_code in (400, 404)
    staff = api(fc).post(f"/api/v1/waves/{fc.wave.code}/designs/", body, content_type="application/json")
    assert staff.status_code == 400 and "nested too deeply" in json.dumps(staff.json())


@pytest.mark.parametrize("source", ["(" * 3000 + "${a}" + ")" * 3000, "-" * 5000 + "1", "not(" * 500 + "1" + ")" * 500, "not(" * 70 + "1" + ")" * 70])
def test_expressions_nested_without_end_are_refused_as_expressions(source: str) -> None:
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse(source)


def test_expressions_of_real_forms_still_parse() -> None:
    assert parse("(${age} >= 15 and ${age} <= 69) or not(selected(${edu}, 'none'))")


def test_item_analysis_of_an_instrument_the_wave_does_not_field_is_a_400_naming_it(fc: FieldCounty) -> None:
    response = api(fc).get("/api/v1/item-analysis/", {"wave": fc.wave.code, "instrument": "no_such_test"})
    assert response.status_code == 400 and "no_such_test" in response.json()["instrument"][0]
