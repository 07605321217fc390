"""API routes of the reports app (mounted at /api/v1/)."""
from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
