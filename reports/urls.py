"""API routes of the reports app (mounted at /api/v1/)."""
from django.urls import path

from reports import apis

urlpatterns = [
    path("reports/", apis.ReportListApi.as_view(), name="api-reports"),
    path("reports/<int:pk>/download/", apis.ReportDownloadApi.as_view(), name="api-report-download"),
    path("report-batches/", apis.BatchStartApi.as_view(), name="api-report-batches"),
    path("report-batches/<int:pk>/", apis.BatchStatusApi.as_view(), name="api-report-batch"),
    path("report-batches/<int:pk>/download/", apis.BatchDownloadApi.as_view(), name="api-report-batch-download"),
]
