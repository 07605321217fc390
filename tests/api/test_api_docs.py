"""The interactive API docs are served with local assets only (no CDN)."""
from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


@pytest.mark.parametrize(("url", "asset"), [
    ("/api/docs/", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
    ("/api/docs/redoc/", "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"),
])
def test_docs_page_loads_and_references_only_local_assets(url: str, asset: str) -> None:
    response = Client().get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert f"/static/{asset}" in html
    assert finders.find(asset) is not None  # the asset is there to be served
    assert "/api/schema/" in html


def test_swagger_ui_script_is_served_by_the_site() -> None:
    html = Client().get("/api/docs/").content.decode()
    scripts = re.findall(r'src="(/static/[^"]+)"', html)
    assert scripts
    for src in scripts:
        path = src.removeprefix("/static/")
        assert finders.find(path) is not None, src


def test_the_schema_describes_token_authentication() -> None:
    schema = Client().get("/api/schema/?format=json").json()
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": "Token <key> — issue one with `manage.py api_token issue USER NAME`",
    }
