"""Officials' pages: waves and their reports."""
from django.urls import path

from frontend.views import officials

urlpatterns = [
    path("", officials.officials, name="officials"),
    path("<slug:wave_code>/county.pdf", officials.county_report_pdf, name="county_report_pdf"),
]
