"""Responses, review decisions and the audit log, read-only (mounted at /api/v1/).

Responses and decisions: admins (the county) and supervisors (their towns), as
`assessment.access.visible_responses`; no personal data (no answers, names or contacts).
The audit log: admins only.  Every list is paginated and filtered by query parameters that
are validated (400 names the bad parameter).
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from api.lists import PAGE_PARAMETERS, MomentField, object_id, page_of, paginated, query_of
from assessment import access
from assessment.models import AuditEvent, Role
from questionnaires.models import Response, ReviewDecision


def _reviewers_only(request: Request) -> None:
    if access.role_of(request.user) not in (Role.ADMIN, Role.SUPERVISOR):
        raise PermissionDenied("only admins and supervisors see responses")


class ResponseOutput(serializers.ModelSerializer):
    wave = serializers.CharField(source="wave.code")
    instrument = serializers.CharField(source="instrument_version.instrument.code")
    version = serializers.IntegerField(source="instrument_version.version")
    case = serializers.CharField(source="case.code", default=None, allow_null=True)
    town = serializers.CharField(source="case.town.code", default=None, allow_null=True)
    enumerator = serializers.CharField(source="enumerator.username", default=None, allow_null=True)
    flags = serializers.SerializerMethodField(help_text="quality flags; another town's cases are counted (elsewhere), not named")

    class Meta:
        model = Response
        fields = [
            "id", "client_id", "wave", "instrument", "version", "case", "town", "mode", "enumerator", "language",
            "started_at", "submitted_at", "received_at", "duration_seconds", "review", "flags",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_flags(self, response: Response) -> list[dict[str, Any]]:
        memo = self.context.setdefault("scope_memo", {})
        return access.flags_for(self.context["request"].user, response.flags, memo)


class ResponseListApi(APIView):
    """Responses the user may review (filters: wave, instrument, town, review, received_after, received_before)."""

    class Query(serializers.Serializer):
        wave = serializers.SlugField(required=False)
        instrument = serializers.SlugField(required=False)
        town = serializers.SlugField(required=False)
        review = serializers.ChoiceField(choices=Response.Review.choices, required=False)
        received_after = MomentField(required=False)
        received_before = MomentField(required=False)

    @extend_schema(parameters=[Query, *PAGE_PARAMETERS], responses={200: paginated("PaginatedResponseList", ResponseOutput(many=True))})
    def get(self, request: Request) -> ApiResponse:
        _reviewers_only(request)
        params = query_of(request, self.Query)
        rows = access.visible_responses(request.user).select_related(
            "wave", "instrument_version__instrument", "case__town", "enumerator"
        )
        rows = rows.filter(**_filters(params, {
            "wave": "wave__code", "instrument": "instrument_version__instrument__code", "town": "case__town__code",
            "review": "review", "received_after": "received_at__gte", "received_before": "received_at__lt",
        }))
        return page_of(request, self, rows.order_by("pk"), ResponseOutput)


def _filters(params: dict[str, Any], lookups: dict[str, str]) -> dict[str, Any]:
    return {lookups[name]: value for name, value in params.items() if name in lookups and value not in (None, "")}


DECISIONS = [Response.Review.APPROVED, Response.Review.REJECTED]


class ReviewDecisionOutput(serializers.ModelSerializer):
    decision = serializers.ChoiceField(choices=DECISIONS)
    wave = serializers.CharField(source="response.wave.code")
    instrument = serializers.CharField(source="response.instrument_version.instrument.code")
    case = serializers.CharField(source="response.case.code", default=None, allow_null=True)
    reviewer = serializers.CharField(source="reviewer.username")

    class Meta:
        model = ReviewDecision
        fields = ["id", "response", "wave", "instrument", "case", "decision", "reason", "reviewer", "decided_at"]


class ReviewDecisionListApi(APIView):
    """Review decisions on the responses the user may review (filters: wave, response, decision, reviewer)."""

    class Query(serializers.Serializer):
        wave = serializers.SlugField(required=False)
        response = object_id(required=False)
        decision = serializers.ChoiceField(choices=DECISIONS, required=False)
        reviewer = serializers.CharField(required=False, max_length=150)

    @extend_schema(parameters=[Query, *PAGE_PARAMETERS], responses={200: paginated("PaginatedReviewDecisionList", ReviewDecisionOutput(many=True))})
    def get(self, request: Request) -> ApiResponse:
        _reviewers_only(request)
        params = query_of(request, self.Query)
        rows = ReviewDecision.objects.filter(response__in=access.visible_responses(request.user)).select_related(
            "response__wave", "response__instrument_version__instrument", "response__case", "reviewer"
        )
        rows = rows.filter(**_filters(params, {
            "wave": "response__wave__code", "response": "response_id", "decision": "decision", "reviewer": "reviewer__username",
        }))
        return page_of(request, self, rows.order_by("-decided_at", "-pk"), ReviewDecisionOutput)


class AuditEventOutput(serializers.ModelSerializer):
    action = serializers.CharField(help_text="what was done, e.g. key.publish, weights.compute, report.download")
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)
    county = serializers.CharField(
        source="county.code", default=None, allow_null=True,
        help_text="the county whose data it concerns; null for the shared question banks and keys",
    )
    details = serializers.JSONField()

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "action", "object_type", "object_id", "county", "summary", "details"]


class AuditEventListApi(APIView):
    """The audit log, newest first: an admin reads their county's events and those of the shared
    question banks and keys (filters: action, actor, object_type, object_id, since, until)."""

    class Query(serializers.Serializer):
        action = serializers.CharField(required=False, max_length=64, help_text="exact action, or a prefix ending in '.' (e.g. 'key.')")
        actor = serializers.CharField(required=False, max_length=150, help_text="username")
        object_type = serializers.CharField(required=False, max_length=64)
        object_id = serializers.CharField(required=False, max_length=64)
        since = MomentField(required=False)
        until = MomentField(required=False)

    @extend_schema(parameters=[Query, *PAGE_PARAMETERS], responses={200: paginated("PaginatedAuditEventList", AuditEventOutput(many=True))})
    def get(self, request: Request) -> ApiResponse:
        if not access.can_read_audit(request.user):
            raise PermissionDenied("only admins see the audit log")
        params = query_of(request, self.Query)
        rows = access.audit_in_scope(request.user, AuditEvent.objects.select_related("actor", "county"))
        action = params.pop("action", "")
        if action:
            rows = rows.filter(action__startswith=action) if action.endswith(".") else rows.filter(action=action)
        if params.get("actor"):
            actor = get_user_model().objects.filter(username=params.pop("actor")).first()
            rows = rows.filter(actor=actor) if actor is not None else rows.none()
        rows = rows.filter(**_filters(params, {
            "object_type": "object_type", "object_id": "object_id", "since": "at__gte", "until": "at__lt",
        }))
        return page_of(request, self, rows.order_by("-at", "-pk"), AuditEventOutput)
