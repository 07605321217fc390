"""API routes of the questionnaires app (mounted at /api/v1/)."""
from django.urls import path

from questionnaires import apis

urlpatterns = [
    path("invitations/<str:token>/", apis.InvitationApi.as_view(), name="api-invitation"),
    path("invitations/<str:token>/responses/", apis.SubmissionApi.as_view(), name="api-submission"),
    path("instruments/", apis.InstrumentListApi.as_view(), name="api-instruments"),
    path("instruments/<slug:code>/", apis.InstrumentDetailApi.as_view(), name="api-instrument"),
    path("instrument-versions/", apis.VersionListApi.as_view(), name="api-versions"),
    path("instrument-versions/<int:version_id>/", apis.VersionDetailApi.as_view(), name="api-version"),
    path("instrument-versions/<int:version_id>/xlsform/", apis.VersionXLSFormApi.as_view(), name="api-version-xlsform"),
    path("instrument-versions/<int:version_id>/publish/", apis.VersionPublishApi.as_view(), name="api-version-publish"),
    path("scoring-keys/", apis.KeyListApi.as_view(), name="api-keys"),
    path("scoring-keys/<int:key_id>/", apis.KeyDetailApi.as_view(), name="api-key"),
    path("scoring-keys/<int:key_id>/file/", apis.KeyFileApi.as_view(), name="api-key-file"),
    path("scoring-keys/<int:key_id>/publish/", apis.KeyPublishApi.as_view(), name="api-key-publish"),
    path("scoring-keys/<int:key_id>/rescore/", apis.KeyRescoreApi.as_view(), name="api-key-rescore"),
    path("waves/<slug:wave_code>/instruments/<slug:code>/key/", apis.WaveKeyApi.as_view(), name="api-wave-key"),
    path("item-analysis/", apis.ItemAnalysisApi.as_view(), name="api-item-analysis"),
]
