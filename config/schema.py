"""OpenAPI schema generation: component names for serializers nested in API views.

Views keep their serializers beside them as `Input` / `Output` classes (see STYLE.md). drf-spectacular
names a component after the bare class name, so two views' `Output` would collide; this names a nested
serializer after its view instead (`KeyListApi.Output` → `KeyListOutput`).
"""
from __future__ import annotations

import re
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

    def get_operation_id(self) -> str:
        """Name an operation after its view and method (`WaveListApi` GET → `wave_list_get`).

        The default (path + list/retrieve) cannot tell a plain APIView's paginated list from a
        detail view, and gives both the same id.
        """
        name = type(self.view).__name__.removesuffix("Api")
        return f"{re.sub(r'(?<!^)(?=[A-Z])', '_', name).lower()}_{self.method.lower()}"
