"""Template context shared by staff pages."""
from typing import Any

from django.http import HttpRequest


def staff_role(request: HttpRequest) -> dict[str, Any]:
    """Expose the signed-in user's staff profile (or None) as `staff`."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"staff": None}
    return {"staff": getattr(user, "staff", None)}
