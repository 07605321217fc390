"""OpenAPI schema generation: component names for serializers nested in API views.

Views keep their serializers beside them as `Input` / `Output` classes (see STYLE.md). drf-spectacular
names a component after the bare class name, so two views' `Output` would collide; this names a nested
serializer after its view instead (`KeyListApi.Output` → `KeyListOutput`).
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema


class SuyangAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: Any, direction: str) -> str:
        qualname = type(serializer).__qualname__
        if "." not in qualname:
            return str(super().get_serializer_name(serializer, direction))
        outer, _, inner = qualname.rpartition(".")
        outer = outer.replace(".", "")
        if outer.endswith("Api"):
            outer = outer[:-3]
        return f"{outer}{inner}"
