"""API routes of the assessment app (mounted at /api/v1/)."""
from django.urls import path

from assessment import apis

urlpatterns = [
    path("frames/", apis.FrameListApi.as_view(), name="api-frames"),
    path("frames/<int:frame_id>/households/", apis.HouseholdListingApi.as_view(), name="api-frame-households"),
    path("waves/<slug:wave_code>/designs/", apis.DesignListApi.as_view(), name="api-designs"),
    path("designs/<int:design_id>/draws/", apis.DrawCreateApi.as_view(), name="api-draw-create"),
    path("draws/<int:draw_id>/", apis.DrawDetailApi.as_view(), name="api-draw"),
    path("cases/", apis.CaseListApi.as_view(), name="api-cases"),
    path("cases/assign/", apis.CaseAssignApi.as_view(), name="api-cases-assign"),
    path("cases/<str:case_code>/roster/", apis.RosterApi.as_view(), name="api-case-roster"),
    path("visits/sync/", apis.VisitSyncApi.as_view(), name="api-visits-sync"),
    path("rates/", apis.RatesApi.as_view(), name="api-rates"),
    path("responses/<int:response_id>/review/", apis.ReviewApi.as_view(), name="api-response-review"),
]
