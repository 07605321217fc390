"""The public site pages."""
from __future__ import annotations

import math
from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from api.throttles import LoginThrottle
from assessment import access
from frontend.context_processors import start_url


def home(request: HttpRequest) -> HttpResponse:
    """The home page: what Suyang is and who uses it."""
    return render(request, "frontend/home.html")


def login_refused(request: HttpRequest, view: Any = None) -> HttpResponse | None:
    """Return the 429 answer if REQUEST is one login attempt too many from its IP (LoginThrottle), else None."""
    throttle = LoginThrottle()
    if throttle.allow_request(request, view):
        return None
    seconds = max(1, math.ceil(throttle.wait() or 1))
    message = _("登录尝试过于频繁，请在 %(seconds)d 秒后重试。") % {"seconds": seconds}
    response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(seconds)
    return response


class LoginView(auth_views.LoginView):
    """Django's login page, with login attempts throttled per client IP (429 with Retry-After);
    a user then starts on their role's page."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return login_refused(request, self) or super().dispatch(request, *args, **kwargs)

    def get_default_redirect_url(self) -> str:
        """Without ?next=, each role starts where it works: enumerators in the field app,
        admins and supervisors on the fieldwork pages, officials on the reports."""
        return start_url(access.role_of(self.request.user))


def admin_login(request: HttpRequest) -> HttpResponse:
    """The Django admin's login, throttled as the site's (the same counter per client IP)."""
    from django.contrib import admin

    return login_refused(request) or admin.site.login(request)
