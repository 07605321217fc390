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


ID_MAX = 2**63 - 1  # ids are 64-bit; a larger number is refused by name, not left to overflow the driver


def object_id(**kwargs: Any) -> serializers.IntegerField:
    """An object's id in a filter or a body: a positive 64-bit integer."""
    return serializers.IntegerField(min_value=1, max_value=ID_MAX, **kwargs)


class MomentField(serializers.DateTimeField):
    """A date and time from the year 1900 on (to 2100 for a device's clock), naive ones in the
    site's time zone.

    DRF's own field overflows (a 500) making 0001-01-01T00:00 aware in a zone east of UTC.
    """

    default_error_messages = {"out_of_range": "must be a date and time between the years {low} and {high}"}

    def __init__(self, *, clock: bool = False, **kwargs: Any) -> None:
        """CLOCK: the value is read off a device's clock (metadata); one out of range is dropped
        (None), not refused, so a respondent's answers never bounce on a phone's wrong date."""
        self.clock = clock
        self.years = (1900, 2100) if clock else (1900, 9998)
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> Any:
        try:
            moment = super().to_internal_value(value)
        except OverflowError:
            moment = None
        low, high = self.years
        if moment is None or not low <= moment.year <= high:
            if self.clock:
                return None
            self.fail("out_of_range", low=low, high=high)
        return moment


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
