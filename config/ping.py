"""GET /api/v1/ping/: a liveness answer that touches neither the database nor a session.

For load balancers' health checks and as the yardstick of the load benchmark (bench/load/).
Public on purpose: it says only that a web process is up.
"""
from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class PingApi(APIView):
    """Answer {"status": "ok"} while this web process runs."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(responses={200: inline_serializer("Ping", {"status": serializers.CharField()})})
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})
