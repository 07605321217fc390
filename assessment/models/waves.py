"""Yearly survey waves, the instruments they field and the targets they are judged by."""
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from assessment.models.geography import County


def validate_expression(value: str) -> None:
    """Refuse an eligibility rule that the XLSForm expression parser cannot read."""
    from questionnaires.expressions import ExpressionError, parse

    if value and value.strip():
        try:
            parse(value)
        except ExpressionError as exc:
            raise ValidationError(_("表达式有误：%(error)s"), params={"error": exc}) from exc


class Wave(models.Model):
    class Kind(models.TextChoices):
        HOUSEHOLD = "household", _("入户调查")
        SCHOOL = "school", _("学校调查")
        ENTERPRISE = "enterprise", _("企业调查")
        AGENCY = "agency", _("机关调查")

    class Status(models.TextChoices):
        DRAFT = "draft", _("准备中")
        FIELDWORK = "fieldwork", _("调查中")
        CLOSED = "closed", _("已结束")

    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="waves")
    code = models.SlugField(_("代码"), max_length=32)
    year = models.PositiveSmallIntegerField(_("年度"))
    name_zh = models.CharField(_("名称"), max_length=128)
    name_en = models.CharField(_("英文名称"), max_length=128)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices, default=Kind.HOUSEHOLD)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    fieldwork_start = models.DateField(_("调查开始"), null=True, blank=True)
    fieldwork_end = models.DateField(_("调查结束"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set anew (a random 62-bit number, never reused: a rolled-back change's mark cannot come
    # back for another change) whenever what the wave fields changes: its WaveInstrument rows,
    # or an instrument, version or scoring key they point at (questionnaires/signals.py).  Web
    # processes keep the wave's questionnaire plan under it and check it with each invitation.
    plan_revision = models.BigIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("调查轮次")
        verbose_name_plural = _("调查轮次")
        ordering = ["county", "-year", "code"]
        constraints = [
            models.UniqueConstraint(fields=["county", "code"], name="wave_code_unique_in_county"),
        ]

    def __str__(self) -> str:
        return self.name_zh


class WaveInstrument(models.Model):
    """An instrument fielded in a wave, with the key whose scores are official."""

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="wave_instruments")
    instrument_version = models.ForeignKey(
        "questionnaires.InstrumentVersion", on_delete=models.PROTECT, related_name="+"
    )
    scoring_key = models.ForeignKey(
        "questionnaires.ScoringKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    order = models.PositiveSmallIntegerField(default=0)
    eligibility = models.CharField(
        _("适用条件"),
        max_length=255,
        blank=True,
        help_text=_("XLSForm 表达式，基于人口学模块，例如 ${age} >= 18 and ${age} <= 69"),
        validators=[validate_expression],
    )

    class Meta:
        verbose_name = _("轮次问卷")
        verbose_name_plural = _("轮次问卷")
        ordering = ["wave", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["wave", "instrument_version"], name="wave_instrument_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.wave} · {self.instrument_version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        validate_expression(self.eligibility)  # a bad rule would break every respondent's page
        super().save(*args, **kwargs)


class Target(models.Model):
    """A plan target for one indicator (a benchmark name of a scoring key)."""

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="targets")
    indicator = models.SlugField(_("指标"), max_length=64)
    value = models.DecimalField(_("目标值"), max_digits=6, decimal_places=4)
    target_year = models.PositiveSmallIntegerField(_("目标年份"))
    source = models.CharField(_("依据"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("目标")
        verbose_name_plural = _("目标")
        constraints = [
            models.UniqueConstraint(fields=["wave", "indicator"], name="target_unique_per_wave"),
            models.CheckConstraint(
                condition=models.Q(value__gte=0) & models.Q(value__lte=1), name="target_is_share"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator} ≥ {self.value:.1%}"
