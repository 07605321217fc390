"""Respondent API: the invitation token is the credential (no account, no session)."""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from questionnaires.forms import SubmissionError
from questionnaires.invitations import InvitationInvalid, invitation_open
from questionnaires.models import Invitation, ResponseScore
from questionnaires.selectors import DEMOGRAPHICS, case_answers, respondent_plan
from questionnaires.services import Submission, response_submit, responses_score_new


def _invitation(token: str) -> Invitation | ApiResponse:
    try:
        return invitation_open(token)
    except InvitationInvalid as exc:
        gone = exc.reason in ("revoked", "expired")
        return ApiResponse(
            {"detail": f"invitation {exc.reason}", "code": f"invitation_{exc.reason}"},
            status=status.HTTP_410_GONE if gone else status.HTTP_404_NOT_FOUND,
        )


class PlanStepOutput(serializers.Serializer):
    instrument = serializers.CharField()
    version = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=["done", "todo", "waiting", "not_eligible"])


class InvitationApi(APIView):
    """The questionnaires of an invitation and how far the respondent has got."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: PlanStepOutput(many=True)})
    def get(self, request: Request, token: str) -> ApiResponse:
        found = _invitation(token)
        if isinstance(found, ApiResponse):
            return found
        steps = respondent_plan(found.case)
        return ApiResponse(
            [
                {"instrument": s.code, "version": s.version.version, "title": s.version.title_zh, "status": s.status}
                for s in steps
            ]
        )


class SubmissionInput(serializers.Serializer):
    client_id = serializers.UUIDField()
    instrument = serializers.SlugField()
    answers = serializers.DictField(child=serializers.JSONField(), allow_empty=False)
    language = serializers.CharField(max_length=8, required=False, default="zh-hans")
    started_at = serializers.DateTimeField(required=False, allow_null=True)
    submitted_at = serializers.DateTimeField(required=False, allow_null=True)


class SubmissionOutput(serializers.Serializer):
    client_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["stored", "already_stored"])
    scored = serializers.BooleanField()


class SubmissionApi(APIView):
    """Submit one questionnaire; idempotent by `client_id` (a retry returns 200, not a second copy)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(request=SubmissionInput, responses={201: SubmissionOutput, 200: SubmissionOutput})
    def post(self, request: Request, token: str) -> ApiResponse:
        found = _invitation(token)
        if isinstance(found, ApiResponse):
            return found
        body = SubmissionInput(data=request.data)
        if not body.is_valid():
            return ApiResponse({"errors": _flatten(body.errors)}, status=status.HTTP_400_BAD_REQUEST)
        data = body.validated_data
        step = next((s for s in respondent_plan(found.case) if s.code == data["instrument"]), None)
        if step is None:
            return ApiResponse({"errors": {"instrument": "not a questionnaire of this invitation"}}, status=400)
        if step.status == "not_eligible":
            return ApiResponse({"errors": {"instrument": "the respondent is not eligible for this questionnaire"}}, status=400)
        if step.status == "waiting":
            return ApiResponse({"errors": {"instrument": f"answer {DEMOGRAPHICS} first"}}, status=409)
        context = case_answers(found.case, DEMOGRAPHICS) if step.code != DEMOGRAPHICS else {}
        try:
            response, created = response_submit(
                wave=found.wave,
                version=step.version,
                submission=Submission(
                    client_id=data["client_id"],
                    answers=data["answers"],
                    language=data["language"],
                    started_at=data.get("started_at"),
                    submitted_at=data.get("submitted_at"),
                ),
                case=found.case,
                invitation=found,
                context=context,
            )
        except SubmissionError as exc:
            conflict = set(exc.errors) & {"case", "client_id"}
            return ApiResponse({"errors": exc.errors}, status=409 if conflict else 400)
        if created:
            responses_score_new(response)
        return ApiResponse(
            {
                "client_id": str(response.client_id),
                "status": "stored" if created else "already_stored",
                "scored": ResponseScore.objects.filter(response=response).exists(),
            },
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def _flatten(errors: Any, prefix: str = "") -> dict[str, str]:
    """Return DRF's nested error lists as {"field.sub": "message"}."""
    flat: dict[str, str] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
    elif isinstance(errors, list):
        if errors and all(not isinstance(e, (dict, list)) for e in errors):
            flat[prefix.rstrip(".")] = " ".join(str(e) for e in errors)
        else:
            for i, value in enumerate(errors):
                flat.update(_flatten(value, f"{prefix}{i}."))
    else:
        flat[prefix.rstrip(".")] = str(errors)
    return flat
