"""Versioned scoring keys: item points, correct answers, benchmark and group rules."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from questionnaires.models.instruments import (
    Bilingual,
    Dimension,
    ImmutableWhenPublished,
    InstrumentVersion,
    Item,
    PublishState,
)


class ScoringKey(models.Model):
    """A key for one instrument version; a national revision is a new key version."""

    instrument_version = models.ForeignKey(
        InstrumentVersion, on_delete=models.PROTECT, related_name="scoring_keys"
    )
    version = models.PositiveIntegerField(_("版本"))
    status = models.CharField(max_length=10, choices=PublishState.choices, default=PublishState.DRAFT)
    note = models.CharField(_("说明"), max_length=255, blank=True)
    based_on = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="revisions",
        verbose_name=_("修订自"),
    )
    excluded = models.JSONField(
        _("剔除的题目"), default=list, blank=True, help_text=_("本版本有意不计分的题目名称（例如题目分析发现问题的题目）")
    )
    source_name = models.CharField(max_length=255, blank=True)
    source = models.BinaryField(_("评分标准文件"), default=b"", blank=True, editable=False)
    source_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("评分标准")
        verbose_name_plural = _("评分标准")
        ordering = ["instrument_version", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["instrument_version", "version"], name="key_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_version} key {self.version}"

    @property
    def label(self) -> str:
        return f"{self.instrument_version.instrument.code}-v{self.instrument_version.version}-k{self.version}"


class KeyChild(ImmutableWhenPublished):
    key = models.ForeignKey(ScoringKey, on_delete=models.CASCADE)

    class Meta:
        abstract = True

    def published_parent(self) -> bool:
        return ScoringKey.objects.filter(pk=self.key_id, status=PublishState.PUBLISHED).exists()


class ItemKey(KeyChild):
    class Rule(models.TextChoices):
        EXACT = "exact", _("完全正确得分")

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="keys")
    points = models.DecimalField(max_digits=6, decimal_places=2)
    correct = models.JSONField(help_text=_("正确选项名称列表"))
    rule = models.CharField(max_length=8, choices=Rule.choices, default=Rule.EXACT)
    dimensions = models.ManyToManyField(Dimension, blank=True, related_name="item_keys")

    class Meta:
        verbose_name = _("题目评分")
        verbose_name_plural = _("题目评分")
        default_related_name = "item_keys"
        constraints = [
            models.UniqueConstraint(fields=["key", "item"], name="item_key_unique"),
            models.CheckConstraint(condition=models.Q(points__gt=0), name="item_points_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.item.name}: {self.correct} ({self.points})"


class BenchmarkRule(Bilingual, KeyChild):
    """A literacy rule: a cut-off on the total or on each dimension of a family."""

    class Basis(models.TextChoices):
        POINTS = "points", _("得分")
        SHARE = "share", _("得分率")

    name = models.SlugField(max_length=64)
    label_zh = models.CharField(max_length=128)
    label_en = models.CharField(max_length=128)
    scope = models.CharField(max_length=80, help_text="total | family:NAME | dimension:CODE")
    basis = models.CharField(max_length=6, choices=Basis.choices)
    threshold = models.FloatField()
    levels = models.JSONField(default=list, blank=True, help_text=_("[[名称, 下限], …] 由高到低"))
    order = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("达标规则")
        verbose_name_plural = _("达标规则")
        ordering = ["key", "order"]
        default_related_name = "benchmarks"
        constraints = [
            models.UniqueConstraint(fields=["key", "name"], name="benchmark_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class GroupRule(Bilingual, KeyChild):
    """Membership of a population group as an XLSForm expression over demographics."""

    name = models.SlugField(max_length=32)
    label_zh = models.CharField(max_length=64)
    label_en = models.CharField(max_length=64)
    rule = models.TextField()
    order = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("人群规则")
        verbose_name_plural = _("人群规则")
        ordering = ["key", "order"]
        default_related_name = "groups"
        constraints = [
            models.UniqueConstraint(fields=["key", "name"], name="group_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name
