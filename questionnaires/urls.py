from django.urls import path

from questionnaires import apis

urlpatterns = [
    path("invitations/<str:token>/", apis.InvitationApi.as_view(), name="api-invitation"),
    path("invitations/<str:token>/responses/", apis.SubmissionApi.as_view(), name="api-submission"),
]
