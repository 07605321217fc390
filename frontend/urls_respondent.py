"""Respondent pages, reached from an invitation link or QR code."""
from django.urls import path

from frontend.views import respondent

urlpatterns = [
    path("<str:token>/", respondent.invitation, name="invitation"),
    path("<str:token>/<slug:code>/", respondent.questionnaire, name="questionnaire"),
]
