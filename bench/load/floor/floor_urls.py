"""The product's URLs plus POST /bench/floor/<token>/: the least a durable acknowledgement can do.

It checks the invitation token (the same single lookup and throttles as a submission), checks the
body is {"client_id": uuid, "answers": {...}}, and appends it to a table (`bench_inbox`, made by
bench/load/floor.py) under a unique client id, committed before the 201.  No validation against the
questionnaire, no plan, no scoring, no disposition: what an "acknowledge now, process in a worker"
design would do on the web node, for measuring how close such a design could get to the ping.
Never mounted by the product (bench/load/floor.py runs gunicorn with floor_settings).
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from django.db import connection
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.throttles import InvitationThrottle, SubmissionThrottle
from config.urls import urlpatterns as product
from questionnaires.invitations import invitation_find, invitation_is_live


class FloorApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [InvitationThrottle, SubmissionThrottle]

    def post(self, request: Request, token: str) -> Response:
        found = invitation_find(token, memo=request)
        if not invitation_is_live(found):
            return Response({"detail": "invitation not found"}, status=404)
        data = request.data
        try:
            client_id = uuid.UUID(str(data["client_id"]))
        except (KeyError, TypeError, ValueError):
            return Response({"errors": {"client_id": "a UUID is required"}}, status=400)
        if not isinstance(data.get("answers"), dict) or not data["answers"]:
            return Response({"errors": {"answers": "a non-empty object is required"}}, status=400)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_inbox (client_id, invitation_id, body) VALUES (%s, %s, %s::jsonb)"
                " ON CONFLICT (client_id) DO NOTHING RETURNING id",
                [client_id, found.pk, json.dumps(data)],
            )
            created = cursor.fetchone() is not None
        return Response({"client_id": str(client_id), "status": "stored" if created else "already_stored"},
                        status=201 if created else 200)


class AppendApi(APIView):
    """Below the floor: no token, no throttle, the body appended and committed.  No submission
    design that stores before acknowledging can do less on the web node."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    def post(self, request: Request, token: str) -> Response:
        data = request.data
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_append (client_id, body) VALUES (%s, %s::jsonb)"
                " ON CONFLICT (client_id) DO NOTHING RETURNING id",
                [uuid.UUID(str(data["client_id"])), json.dumps(data)],
            )
            created = cursor.fetchone() is not None
        return Response({"client_id": str(data["client_id"]), "status": "stored" if created else "already_stored"},
                        status=201 if created else 200)


urlpatterns = [path("bench/floor/<str:token>/", FloorApi.as_view()),
               path("bench/append/<str:token>/", AppendApi.as_view()), *product]
