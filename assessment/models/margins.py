"""Census margins that weights are calibrated to."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from assessment.models.geography import County


class CensusMarginSet(models.Model):
    """Population totals for one target population (an age range) of a county."""

    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="margin_sets")
    name = models.CharField(_("名称"), max_length=128)
    reference_year = models.PositiveSmallIntegerField(_("资料年份"))
    age_min = models.PositiveSmallIntegerField(_("最小年龄"))
    age_max = models.PositiveSmallIntegerField(_("最大年龄"))
    source = models.CharField(_("来源"), max_length=255, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("人口控制总数")
        verbose_name_plural = _("人口控制总数")

    def __str__(self) -> str:
        return f"{self.name} ({self.age_min}–{self.age_max})"


class CensusMargin(models.Model):
    margin_set = models.ForeignKey(CensusMarginSet, on_delete=models.CASCADE, related_name="margins")
    variable = models.SlugField(_("变量"), max_length=32)
    level = models.CharField(_("类别"), max_length=64)
    total = models.FloatField(_("总数"))

    class Meta:
        verbose_name = _("控制总数")
        verbose_name_plural = _("控制总数")
        ordering = ["margin_set", "variable", "level"]
        constraints = [
            models.UniqueConstraint(
                fields=["margin_set", "variable", "level"], name="margin_cell_unique"
            ),
            models.CheckConstraint(condition=models.Q(total__gt=0), name="margin_total_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.variable}={self.level}: {self.total:g}"
