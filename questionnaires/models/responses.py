"""Invitations, responses with their answers, reviews and stamped scores."""
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from assessment.fields import EncryptedTextField
from questionnaires.models.instruments import InstrumentVersion
from questionnaires.models.keys import ScoringKey


class Invitation(models.Model):
    """A link for one case; only the token's hash is searchable, the token itself is encrypted."""

    wave = models.ForeignKey("assessment.Wave", on_delete=models.CASCADE, related_name="invitations")
    case = models.ForeignKey("assessment.Case", on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    token = EncryptedTextField(help_text=_("加密保存，用于重新打印二维码"))
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    first_opened_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    label = models.CharField(_("备注"), max_length=64, blank=True)

    # Read with the invitation by `invitations.invitation_find` (not columns): the case's
    # answered questionnaires and its wave's plan revision, for `selectors.respondent_state`.
    answered: list[Any] | None = None
    plan_revision: int | None = None

    class Meta:
        verbose_name = _("邀请")
        verbose_name_plural = _("邀请")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(revoked=False), name="one_live_invitation_per_case"
            ),
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk} ({self.case_id})"


class Response(models.Model):
    """One completed instrument; `client_id` is generated on the device and makes submission idempotent."""

    class Mode(models.TextChoices):
        SELF = "self", _("自填")
        INTERVIEWER = "interviewer", _("调查员访问")

    class Review(models.TextChoices):
        NONE = "none", _("无需审核")
        FLAGGED = "flagged", _("待审核")
        APPROVED = "approved", _("审核通过")
        REJECTED = "rejected", _("已剔除")

    client_id = models.UUIDField(unique=True)
    wave = models.ForeignKey("assessment.Wave", on_delete=models.PROTECT, related_name="responses")
    instrument_version = models.ForeignKey(InstrumentVersion, on_delete=models.PROTECT, related_name="responses")
    case = models.ForeignKey(
        "assessment.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="responses"
    )
    invitation = models.ForeignKey(
        Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="responses"
    )
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.SELF)
    enumerator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    language = models.CharField(max_length=8, default="zh-hans")
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    review = models.CharField(max_length=10, choices=Review.choices, default=Review.NONE)
    flags = models.JSONField(default=list, blank=True)
    answers = models.JSONField(_("回答"), default=dict, help_text=_("{题目名称: 回答}，已按问卷规则校验"))
    payload_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("答卷")
        verbose_name_plural = _("答卷")
        indexes = [models.Index(fields=["wave", "instrument_version"])]
        constraints = [
            # One answer sheet per case and instrument; retries are caught by client_id first.
            models.UniqueConstraint(
                fields=["case", "instrument_version"],
                condition=models.Q(case__isnull=False),
                name="one_response_per_case_instrument",
            ),
        ]

    def __str__(self) -> str:
        return str(self.client_id)


class ReviewDecision(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="review_decisions")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Response.Review.choices)
    reason = models.CharField(_("理由"), max_length=255)
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("审核决定")
        verbose_name_plural = _("审核决定")
        ordering = ["response", "decided_at"]

    def __str__(self) -> str:
        return f"{self.response_id}: {self.decision}"


class ResponseScore(models.Model):
    """A response scored under one key version; old scores stay when a new key is published."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="scores")
    key = models.ForeignKey(ScoringKey, on_delete=models.PROTECT, related_name="response_scores")
    total_points = models.FloatField()
    max_points = models.FloatField()
    level = models.CharField(max_length=32, blank=True)
    benchmarks = models.JSONField(default=dict, help_text=_("{规则名: 是否达标}，维度规则为 {维度: 是否达标}"))
    dimension_points = models.JSONField(default=dict)
    item_points = models.JSONField(default=dict, help_text=_("{题目名称: 得分}，未作答为 null"))
    groups = models.JSONField(default=list, help_text=_("所属人群（人口学模块）"))
    scored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("得分")
        verbose_name_plural = _("得分")
        constraints = [
            models.UniqueConstraint(fields=["response", "key"], name="score_once_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.response_id}: {self.total_points:g}/{self.max_points:g}"
