"""API routes of the assessment app (mounted at /api/v1/)."""
from django.urls import path

from assessment import api_estimates, api_records, api_waves, apis

urlpatterns = [
    path("waves/", api_waves.WaveListApi.as_view(), name="api-waves"),
    path("waves/<slug:wave_code>/", api_waves.WaveDetailApi.as_view(), name="api-wave"),
    path("weight-sets/", api_waves.WeightSetListApi.as_view(), name="api-weight-sets"),
    path("weight-sets/<int:weight_set_id>/", api_waves.WeightSetDetailApi.as_view(), name="api-weight-set"),
    path("estimates/", api_estimates.EstimateApi.as_view(), name="api-estimates"),
    path("responses/", api_records.ResponseListApi.as_view(), name="api-responses"),
    path("review-decisions/", api_records.ReviewDecisionListApi.as_view(), name="api-review-decisions"),
    path("audit-events/", api_records.AuditEventListApi.as_view(), name="api-audit-events"),
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
