"""The public site pages."""
from __future__ import annotations

import math
from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from api.throttles import LoginThrottle


def home(request: HttpRequest) -> HttpResponse:
    """The home page: what Suyang is and who uses it."""
    return render(request, "frontend/home.html")


class LoginView(auth_views.LoginView):
    """Django's login page, with login attempts throttled per client IP (429 with Retry-After)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        throttle = LoginThrottle()
        if not throttle.allow_request(request, self):
            seconds = max(1, math.ceil(throttle.wait() or 1))
            message = _("登录尝试过于频繁，请在 %(seconds)d 秒后重试。") % {"seconds": seconds}
            response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
            response["Retry-After"] = str(seconds)
            return response
        return super().dispatch(request, *args, **kwargs)
