"""Officials' pages: waves and their reports (PDF, XLSX, CSV), and batches of all reports."""
from django.urls import path

from frontend.views import officials

urlpatterns = [
    path("", officials.officials, name="officials"),
    path("batches/<int:batch_id>/", officials.batch_status, name="report_batch"),
    path("batches/<int:batch_id>/download/", officials.batch_download, name="report_batch_download"),
    path("<slug:wave_code>/county.<str:fmt>", officials.county_report, name="county_report"),
    path("<slug:wave_code>/town/<slug:code>.<str:fmt>", officials.town_report, name="town_report"),
    path("<slug:wave_code>/group/<slug:code>.<str:fmt>", officials.group_report, name="group_report"),
    path("<slug:wave_code>/batch/", officials.batch_start, name="report_batch_start"),
]
