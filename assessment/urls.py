"""API routes of the assessment app (mounted at /api/v1/)."""
from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
