"""Survey staff pages (fieldwork monitoring, cases, review); filled in by the fieldwork work."""
from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
