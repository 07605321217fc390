"""Reads for the enumerator's offline mode (mounted under /field/api/, session authentication).

The writes go through the fieldwork API (`assessment/apis.py`: rosters, visit sync) and the
respondent API (`questionnaires/apis.py`: answer sheets); this module only packs what a device
needs to work a day without signal.
"""
from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from assessment import access, services
from assessment.models import Case, Disposition, Role, Wave
from assessment.services.designs import eligible_ages
from frontend.selectors import plan_pages
from questionnaires.selectors import respondent_plan

MAX_CASES = 300  # a device's day of work many times over; the page says when more are assigned


@extend_schema_serializer(component_name="FieldCase")
class FieldCaseOutput(serializers.Serializer):
    code = serializers.CharField()
    wave = serializers.CharField()
    town = serializers.CharField()
    psu = serializers.CharField()
    household = serializers.CharField(allow_null=True)
    address = serializers.CharField(allow_blank=True)
    disposition = serializers.CharField()
    kish_u = serializers.FloatField(allow_null=True)
    ages = serializers.ListField(child=serializers.IntegerField())
    members = serializers.ListField(child=serializers.DictField())
    answered = serializers.IntegerField()
    invitation = serializers.CharField()
    pages = serializers.ListField(child=serializers.CharField())


def _case_view(case: Case, token: str, lang_en: bool) -> dict[str, Any]:
    plan = respondent_plan(case)
    household = case.household
    return {
        "code": case.code,
        "wave": case.wave.name_en if lang_en and case.wave.name_en else case.wave.name_zh,
        "town": case.town.name_en if lang_en and case.town.name_en else case.town.name_zh,
        "psu": case.sampled_unit.unit.name,
        "household": household.code if household else None,
        # Contact details only for the assigned enumerator (the bundle holds nothing else).
        "address": household.address if household else "",
        "disposition": case.disposition,
        "kish_u": case.kish_u,
        "ages": list(eligible_ages(case)),
        "members": [
            {"line": m.line, "sex": m.sex, "age": m.age, "name": m.name, "eligible": m.eligible, "selected": m.selected}
            for m in case.members.order_by("line")
        ],
        "answered": sum(1 for s in plan if s.status == "done"),
        "invitation": reverse("invitation", args=[token]),
        "pages": plan_pages(token, plan),
    }


class FieldBundleApi(APIView):
    """Prepare this device: the user's assigned cases with live invitation links (issued if missing)."""

    @extend_schema_serializer(component_name="FieldBundle")
    class Output(serializers.Serializer):
        cases = FieldCaseOutput(many=True)
        more = serializers.IntegerField(help_text="assigned cases left out of this bundle")
        outcomes = serializers.ListField(child=serializers.DictField(), help_text="what a visit may record")
        dispositions = serializers.DictField(child=serializers.CharField(), help_text="every case outcome's label")

    @extend_schema(request=None, responses={200: Output})
    def post(self, request: Request) -> ApiResponse:
        profile = access.profile_of(request.user)
        if profile is None or profile.role not in (Role.ENUMERATOR, Role.SUPERVISOR, Role.ADMIN):
            return ApiResponse({"detail": "only field staff take cases out"}, status=status.HTTP_403_FORBIDDEN)
        assigned = (
            access.visible_cases(request.user)
            .filter(assigned_to=request.user, draw__is_current=True)
            .exclude(wave__status=Wave.Status.CLOSED)  # a closed wave's cases are not worked (access.wave_open)
            .select_related("wave", "town", "household", "sampled_unit__unit", "draw__design")
            .order_by("code")
        )
        cases = list(assigned[:MAX_CASES])
        tokens = services.invitations_issue(cases=cases, user=request.user) if cases else {}
        lang_en = (getattr(request, "LANGUAGE_CODE", "") or "").startswith("en")
        return ApiResponse({
            "cases": [_case_view(c, tokens[c.pk], lang_en) for c in cases],
            "more": max(0, assigned.count() - len(cases)),
            "outcomes": [{"value": v, "label": str(label)} for v, label in Disposition.choices if v != Disposition.PENDING],
            "dispositions": {v: str(label) for v, label in Disposition.choices},
        })
