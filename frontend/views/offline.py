"""The service worker: the offline app shell, served from the site's root so it controls every page."""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.templatetags.static import PrefixNode, static
from django.views.decorators.http import require_GET

from frontend.selectors import PAGE_CACHE

SHELL = (
    "frontend/site.css",
    "frontend/expressions.js",
    "frontend/store.js",
    "frontend/survey.js",
    "frontend/field.js",
)


@lru_cache(maxsize=1)
def shell_version() -> str:
    """Return a digest of the shell's files: a deployment that changes one installs a new worker."""
    digest = hashlib.sha256()
    for name in SHELL:
        path = finders.find(name)
        if path:
            with open(path, "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()[:12]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The worker script; no-cache so that the browser notices a new deployment at once."""
    body = render_to_string("frontend/sw.js", {
        "version": shell_version(),
        "files": json.dumps([static(name) for name in SHELL]),
        "store": json.dumps(static("frontend/store.js")),
        "static_prefix": json.dumps(PrefixNode.handle_simple("STATIC_URL")),
        "pages": json.dumps(PAGE_CACHE),
    })
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response
