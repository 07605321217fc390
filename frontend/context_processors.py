"""Template context shared by the pages."""
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

# Where each role starts, and which parts of the site it works in (the navigation's links).
START = {"admin": "staff_monitor", "supervisor": "staff_monitor", "enumerator": "field", "official": "officials"}


def start_url(role: str | None) -> str:
    """Return the page a signed-in user of ROLE starts on (the home page without a role)."""
    return reverse(START.get(role or "", "home"))


def staff_role(request: HttpRequest) -> dict[str, Any]:
    """Expose the signed-in user's staff profile (or None) as `staff`, and their start page as `start_url`."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"staff": None}
    staff = getattr(user, "staff", None)
    return {"staff": staff, "start_url": start_url(staff.role if staff else None)}
