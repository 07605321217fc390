"""Reports and their CSV/XLSX tables carry no respondent's contact details or case codes."""
from __future__ import annotations

import io
import subprocess
import tempfile
from typing import Any

import pytest
from openpyxl import load_workbook

from assessment.models import Case, Household, HouseholdMember, Wave
from reports.builders import build_report
from reports.estimates import Estimates
from reports.pdf import render_pdf
from reports.tables import render_csv, render_xlsx

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def xlsx_text(data: bytes) -> str:
    book = load_workbook(io.BytesIO(data), read_only=True)
    return "\n".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row if v is not None)


def pdf_text(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        return subprocess.run(["pdftotext", "-enc", "UTF-8", f.name, "-"], capture_output=True, text=True, check=True).stdout


def test_no_contact_detail_of_the_wave_appears_in_any_report_format(demo_county: Any) -> None:
    wave = Wave.objects.get(county_id=demo_county.county_id, code="2025", kind=Wave.Kind.HOUSEHOLD)
    cases = Case.objects.filter(wave=wave).select_related("household")
    secrets = {c.contact_phone for c in cases} | {c.contact_name for c in cases}
    secrets |= set(Household.objects.filter(pk__in=cases.values("household_id")).values_list("address", flat=True))
    secrets |= set(HouseholdMember.objects.filter(case__wave=wave).values_list("name", flat=True))
    secrets.discard("")
    assert len(secrets) > 100  # the demo's synthetic residents do have contact details
    codes = set(cases.values_list("code", flat=True))
    estimates = Estimates(snapshots=False)
    for kind, code in (("county", ""), ("town", "yushan"), ("group", "worker")):
        data = build_report(wave, kind, code, estimates=estimates)
        texts = {
            "csv": render_csv(data).decode("utf-8-sig"),
            "xlsx": xlsx_text(render_xlsx(data)),
            "pdf": pdf_text(render_pdf(data)),
        }
        for fmt, text in texts.items():
            assert len(text) > 1000, (kind, fmt)
            # Names are two or three characters: look for each as a whole cell/word, phones anywhere.
            leaked = {s for s in secrets if (s.isdigit() and s in text) or (not s.isdigit() and len(s) > 3 and s in text)}
            tokens = set(text.replace(",", " ").split())
            leaked |= {s for s in secrets if s in tokens} | (codes & tokens)
            assert not leaked, (kind, fmt, sorted(leaked)[:5])
