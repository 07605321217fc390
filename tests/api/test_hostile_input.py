"""Hostile or broken input never gives a 500: ids that overflow the database, digits int() cannot
read, impossible dates, damaged workbooks and over-long CSV fields.

Every client here runs as production does (`raise_request_exception=False`: an exception is a
500 answer, not a test error), so each assertion is about the status a real client would see.
The API answers 400 naming the field; the staff pages answer 4xx, or the page with a message
naming the field in Chinese.
"""
from __future__ import annotations

import io
import uuid
import zipfile
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from openpyxl import Workbook
from rest_framework.test import APIClient

from assessment.models import Case, Frame, SampleDesign
from questionnaires.models import InstrumentVersion, Response, ScoringKey
from tests.frontend.html import text_of
from tests.frontend.survey_setup import DEMOGRAPHICS_ADULT, Survey, as_post, build_survey

HUGE = str(10**30)
TOO_LONG = 140_000  # characters in one CSV field: more than the csv module's field limit (131 072)


def api(name: str) -> APIClient:
    client = APIClient()
    client.force_login(get_user_model().objects.get(username=name))
    client.raise_request_exception = False
    return client


def pages(name: str) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(get_user_model().objects.get(username=name))
    return client


def refused_naming(response: Any, field: str) -> None:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert field in response.json(), response.json()


@pytest.fixture
def county_id(demo_county: Any, db: None) -> int:
    return int(demo_county.county_id)


# --- ids in query strings and bodies (API) -----------------------------------------------------


@pytest.mark.parametrize(("url", "field"), [
    ("/api/v1/cases/", "psu"),
    ("/api/v1/review-decisions/", "response"),
    ("/api/v1/waves/2025/designs/", "frame"),
])
def test_a_huge_id_in_a_list_filter_is_400_naming_the_parameter(county_id: int, url: str, field: str) -> None:
    refused_naming(api("admin").get(url, {field: HUGE}), field)


def test_the_largest_64_bit_id_is_still_a_valid_filter(county_id: int) -> None:
    listed = api("admin").get("/api/v1/cases/", {"psu": str(2**63 - 1)})
    assert listed.status_code == 200 and listed.json()["count"] == 0


@pytest.mark.parametrize("body", [{"psu": 1e30}, {"psu": 10**30, "enumerator": "x"}], ids=["float", "integer"])
def test_a_huge_psu_in_an_assignment_is_400_naming_it(county_id: int, body: dict[str, Any]) -> None:
    refused_naming(api("admin").post("/api/v1/cases/assign/", body, format="json"), "psu")


@pytest.mark.parametrize("path", [
    "/api/v1/weight-sets/{n}/",
    "/api/v1/instrument-versions/{n}/",
    "/api/v1/scoring-keys/{n}/",
    "/api/v1/draws/{n}/",
])
def test_a_huge_id_in_a_path_is_404(county_id: int, path: str) -> None:
    assert api("admin").get(path.format(n=HUGE)).status_code == 404


def test_a_huge_response_id_to_review_is_404(county_id: int) -> None:
    answer = api("admin").post(f"/api/v1/responses/{HUGE}/review/", {"decision": "approved", "reason": "x"}, format="json")
    assert answer.status_code == 404


@pytest.mark.parametrize("key", ["²", "abc", HUGE], ids=["superscript", "text", "huge"])
def test_a_bad_key_number_of_an_xlsform_export_is_400_naming_it(county_id: int, key: str) -> None:
    version = InstrumentVersion.objects.get(instrument__code="science_literacy", version=1)
    refused_naming(api("admin").get(f"/api/v1/instrument-versions/{version.pk}/xlsform/", {"key": key}), "key")


@pytest.mark.parametrize("parameters", [
    {"min_psu": "abc"},
    {"min_psu": 10**30},
    {"response_rate": "abc"},
    {"response_rate": 1e308},
], ids=["min_psu-text", "min_psu-huge", "response_rate-text", "response_rate-huge"])
def test_bad_design_parameters_are_refused_not_a_500(county_id: int, parameters: dict[str, Any]) -> None:
    frame = Frame.objects.filter(county_id=county_id).order_by("pk").first()
    designs = SampleDesign.objects.count()
    body = {"name": "hostile", "frame": frame.pk, "allocation": "proportional", "psu_total": 10, "households_per_psu": 5,
            "parameters": parameters}
    answer = api("admin").post("/api/v1/waves/2025/designs/", body, format="json")
    assert answer.status_code == 400, (answer.status_code, answer.content[:300])
    assert SampleDesign.objects.count() == designs


# --- the staff pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("psu", ["²", HUGE, "-1", "abc"], ids=["superscript", "huge", "negative", "text"])
def test_the_cases_page_ignores_a_psu_that_is_not_an_id(county_id: int, psu: str) -> None:
    page = pages("admin").get("/staff/cases/", {"wave": "2025", "psu": psu})
    assert page.status_code == 200


def test_reviewing_on_the_staff_page_a_response_that_is_not_an_id_is_404(county_id: int) -> None:
    client = pages("admin")
    for response in ("abc", "²", HUGE):
        answer = client.post("/staff/review/?wave=2025", {"response": response, "decision": "approved", "reason": "x"})
        assert answer.status_code == 404


def test_assigning_on_the_staff_page_a_psu_that_is_not_an_id_is_404(county_id: int) -> None:
    enumerator = get_user_model().objects.get(username="enumerator_yushan")
    answer = pages("admin").post("/staff/cases/assign/", {"psu": HUGE, "enumerator": str(enumerator.pk)})
    assert answer.status_code == 404


@pytest.mark.parametrize("enumerator", ["abc", "²", HUGE], ids=["text", "superscript", "huge"])
def test_assigning_on_the_staff_page_to_an_enumerator_that_is_not_an_id_says_so(county_id: int, enumerator: str) -> None:
    case = Case.objects.filter(wave__county_id=county_id, wave__code="2025", town__code="yushan").order_by("code").first()
    holder = case.assigned_to_id
    answer = pages("admin").post("/staff/cases/assign/", {"case": [case.code], "enumerator": enumerator})
    assert answer.status_code == 302
    assert [str(m) for m in get_messages(answer.wsgi_request)] == ["请选择可分配的调查员。"]
    case.refresh_from_db()
    assert case.assigned_to_id == holder


def test_the_invitation_sheet_of_a_huge_psu_is_404(county_id: int) -> None:
    assert pages("admin").get(f"/staff/psus/{HUGE}/invitations.pdf").status_code == 404


@pytest.mark.parametrize(("field", "value", "label"), [
    ("households_per_psu", HUGE, "每单位抽取户数"),
    ("households_per_psu", "abc", "每单位抽取户数"),
    ("psu_total", HUGE, "抽取单位总数"),
    ("p", "nan", "预期比例 p"),
    ("p", "inf", "预期比例 p"),
    ("deff", "1e400", "设计效应 deff"),
    ("min_psu_per_town", HUGE, "每镇最少单位数"),
], ids=["households-huge", "households-text", "psu_total-huge", "p-nan", "p-inf", "deff-overflow", "min_psu_per_town-huge"])
def test_a_design_form_with_a_bad_number_is_400_naming_the_field(county_id: int, field: str, value: str, label: str) -> None:
    frame = Frame.objects.filter(county_id=county_id).order_by("pk").first()
    designs = SampleDesign.objects.count()
    form = {"name": "hostile", "frame": str(frame.pk), "allocation": "proportional", "psu_total": "10", "households_per_psu": "5", field: value}
    page = pages("admin").post("/staff/designs/?wave=2025", form)
    assert page.status_code == 400
    assert f"“{label}”" in text_of(page.content.decode())
    assert SampleDesign.objects.count() == designs


def test_drawing_with_a_huge_seed_on_the_designs_page_is_400_naming_the_seed(county_id: int) -> None:
    design = SampleDesign.objects.filter(wave__county_id=county_id, wave__code="2025").order_by("pk").first()
    page = pages("admin").post("/staff/designs/?wave=2025", {"action": "draw", "design": str(design.pk), "seed": HUGE})
    assert page.status_code == 400
    assert "“随机种子”" in text_of(page.content.decode())


@pytest.mark.parametrize("year", [HUGE, "abc"], ids=["huge", "text"])
def test_a_frame_upload_with_a_bad_reference_year_is_400_naming_it(county_id: int, year: str) -> None:
    frames = Frame.objects.count()
    upload = SimpleUploadedFile("frame.csv", "code,name,town,measure_of_size\nv1,王庄村,yushan,100\n".encode())
    page = pages("admin").post("/staff/frames/", {"name": "hostile", "kind": "area", "reference_year": year, "file": upload})
    assert page.status_code == 400
    assert "“资料年份”" in text_of(page.content.decode())
    assert Frame.objects.count() == frames


# --- the respondent's form and submission --------------------------------------------------------


@pytest.fixture
def survey(db: None) -> Survey:
    return build_survey()


def demographics_posted(survey: Survey, started_at: str) -> Any:
    client = Client(raise_request_exception=False)
    return client.post(f"/r/{survey.token}/demographics/", as_post(DEMOGRAPHICS_ADULT, str(uuid.uuid4()), started_at=started_at))


def test_an_impossible_start_time_on_the_respondent_form_is_dropped_and_the_answers_stored(survey: Survey) -> None:
    answer = demographics_posted(survey, "2025-13-45T10:00:00")
    assert answer.status_code == 302
    stored = Response.objects.get(case=survey.case)
    assert stored.started_at is None


def test_a_start_time_without_a_zone_on_the_respondent_form_is_stored_in_the_sites_zone(survey: Survey) -> None:
    answer = demographics_posted(survey, "2025-01-01T10:00:00")
    assert answer.status_code == 302
    stored = Response.objects.get(case=survey.case)
    assert stored.started_at == timezone.make_aware(datetime(2025, 1, 1, 10, 0))


@pytest.mark.parametrize(("started_at", "status"), [("2025-13-45T10:00:00", 400), ("2025-01-01T10:00:00", 201)], ids=["impossible", "naive"])
def test_a_submission_with_a_bad_or_naive_start_time_is_400_or_stored(survey: Survey, started_at: str, status: int) -> None:
    client = APIClient()
    client.raise_request_exception = False
    sheet = {"client_id": str(uuid.uuid4()), "instrument": "demographics", "answers": DEMOGRAPHICS_ADULT, "started_at": started_at}
    answer = client.post(f"/api/v1/invitations/{survey.token}/responses/", sheet, format="json")
    assert answer.status_code == status, answer.content
    if status == 400:
        assert "started_at" in answer.json()["errors"]
    assert Response.objects.filter(case=survey.case).count() == (1 if status == 201 else 0)


# --- damaged uploads -------------------------------------------------------------------------------


def truncated_xlsx(rows: list[list[Any]], title: str = "survey") -> bytes:
    """A real workbook whose first sheet's XML is cut off half way (a broken download, say)."""
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    book.create_sheet("settings").append(["form_id", "version"])
    whole = io.BytesIO()
    book.save(whole)
    cut = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(whole.getvalue())) as source, zipfile.ZipFile(cut, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)
    return cut.getvalue()


def long_field_csv() -> bytes:
    """An XLSForm as CSV whose one label is longer than the csv module reads."""
    return ("survey,type,name,label\n,text,q1," + "长" * TOO_LONG + "\nsettings,form_id,version\n,hostile,1\n").encode()


FRAME_ROWS = [["code", "name", "town", "measure_of_size"], *[[f"v{i}", f"村{i}", "yushan", 100 + i] for i in range(40)]]
FORM_ROWS = [["type", "name", "label"], *[["text", f"q{i}", f"问题{i}"] for i in range(40)]]


def science_version() -> InstrumentVersion:
    return InstrumentVersion.objects.get(instrument__code="science_literacy", version=1)


def problems_of(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 400, (answer.status_code, answer.content[:300])
    problems = answer.json()["problems"]
    assert problems and all(p["message"] for p in problems)
    return list(problems)


@pytest.mark.parametrize(("filename", "data"), [
    ("frame.xlsx", lambda: truncated_xlsx(FRAME_ROWS, "frame")),
    ("frame.csv", lambda: ("code,name\nv1," + "长" * TOO_LONG + "\n").encode()),
], ids=["truncated-xlsx", "long-csv-field"])
def test_a_damaged_frame_file_is_400_with_a_problem_and_imports_nothing(county_id: int, filename: str, data: Any) -> None:
    frames = Frame.objects.count()
    upload = SimpleUploadedFile(filename, data())
    problems_of(api("admin").post("/api/v1/frames/", {"name": "hostile", "kind": "area", "reference_year": 2024, "file": upload}))
    assert Frame.objects.count() == frames


def test_a_truncated_workbook_on_the_frames_page_is_400_with_a_problem(county_id: int) -> None:
    frames = Frame.objects.count()
    upload = SimpleUploadedFile("frame.xlsx", truncated_xlsx(FRAME_ROWS, "frame"))
    page = pages("admin").post("/staff/frames/", {"name": "hostile", "kind": "area", "reference_year": "2024", "file": upload})
    assert page.status_code == 400
    assert "无法读取 XLSX 工作簿" in text_of(page.content.decode())
    assert Frame.objects.count() == frames


@pytest.mark.parametrize(("filename", "data"), [
    ("form.xlsx", lambda: truncated_xlsx(FORM_ROWS)),
    ("form.csv", long_field_csv),
], ids=["truncated-xlsx", "long-csv-field"])
def test_a_damaged_xlsform_is_400_with_a_problem_and_imports_nothing(county_id: int, filename: str, data: Any) -> None:
    versions = InstrumentVersion.objects.count()
    problems_of(api("admin").post("/api/v1/instrument-versions/", {"file": SimpleUploadedFile(filename, data())}))
    assert InstrumentVersion.objects.count() == versions


@pytest.mark.parametrize(("filename", "data"), [
    ("key.xlsx", lambda: truncated_xlsx([["name", "points"], *[[f"q{i}", 1] for i in range(40)]])),
    ("key.csv", long_field_csv),
], ids=["truncated-xlsx", "long-csv-field"])
def test_a_damaged_key_file_is_400_with_a_problem_and_imports_nothing(county_id: int, filename: str, data: Any) -> None:
    keys = ScoringKey.objects.count()
    body = {"instrument_version": science_version().pk, "file": SimpleUploadedFile(filename, data())}
    problems_of(api("admin").post("/api/v1/scoring-keys/", body))
    assert ScoringKey.objects.count() == keys

