"""Lists: one pagination and one way to declare it in the schema, for every API list endpoint.

Views here are plain APIViews, so drf-spectacular cannot see their pagination; `paginated`
gives the response component ({count, next, previous, results}) and `PAGE_PARAMETERS` the
query parameters, and `page_of` answers with a page of rows.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import ApiPagination

PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="page number, from 1"),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="rows per page (default 50, at most 500)"),
]


def paginated(name: str, output: serializers.BaseSerializer) -> serializers.Serializer:
    """Return the schema of a page of OUTPUT rows, as the component NAME."""
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": output,
        },
    )


def page_of(request: Request, view: APIView, rows: Any, output: type[serializers.BaseSerializer], **context: Any) -> Response:
    """Return the requested page of ROWS shaped by OUTPUT (404 for a page that does not exist)."""
    paginator = ApiPagination()
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(output(page, many=True, context={"request": request, **context}).data)


def query_of(request: Request, query: type[serializers.Serializer]) -> dict[str, Any]:
    """Return the validated query parameters (400 naming each bad parameter)."""
    found = query(data=request.query_params)
    found.is_valid(raise_exception=True)
    return dict(found.validated_data)
