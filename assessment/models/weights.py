"""Versioned survey weights: every set is reproducible from its stored inputs."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from assessment.models.margins import CensusMarginSet
from assessment.models.waves import Wave


class WeightSet(models.Model):
    """Weights of one instrument's respondents in one wave."""

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="weight_sets")
    instrument = models.ForeignKey("questionnaires.Instrument", on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField()
    is_current = models.BooleanField(default=True)
    margin_set = models.ForeignKey(CensusMarginSet, on_delete=models.PROTECT, null=True, blank=True)
    method = models.JSONField(_("方法"), help_text=_("各步骤及其参数"))
    diagnostics = models.JSONField(_("诊断"), default=dict)
    inputs_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("权重集")
        verbose_name_plural = _("权重集")
        constraints = [
            models.UniqueConstraint(
                fields=["wave", "instrument", "version"], name="weight_set_version_unique"
            ),
            models.UniqueConstraint(
                fields=["wave", "instrument"],
                condition=models.Q(is_current=True),
                name="one_current_weight_set",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.wave.code}/{self.instrument_id} v{self.version}"

    @property
    def label(self) -> str:
        return f"W{self.wave.code}-{self.version}"


class Weight(models.Model):
    """One respondent's weight with the design coordinates the variance needs."""

    weight_set = models.ForeignKey(WeightSet, on_delete=models.CASCADE, related_name="weights")
    response = models.ForeignKey("questionnaires.Response", on_delete=models.CASCADE, related_name="weights")
    stratum = models.CharField(max_length=64)
    psu = models.CharField(max_length=64)
    base = models.FloatField(_("基础权重"))
    adjusted = models.FloatField(_("无回答调整后权重"))
    final = models.FloatField(_("最终权重"))

    class Meta:
        verbose_name = _("权重")
        verbose_name_plural = _("权重")
        constraints = [
            models.UniqueConstraint(fields=["weight_set", "response"], name="weight_once_per_response"),
        ]

    def __str__(self) -> str:
        return f"{self.response_id}: {self.final:.2f}"
