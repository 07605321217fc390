"""The public site pages."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    """The home page: what Suyang is and who uses it."""
    return render(request, "frontend/home.html")


