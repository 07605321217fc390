"""Versioned instruments: sections, items, choice lists and dimensions."""
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class PublishState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    RETIRED = "retired", _("已停用")


class Bilingual:
    """Mixin: pick the `*_zh` or `*_en` field for the active language."""

    def text(self, field: str) -> str:
        lang = (get_language() or "zh-hans").lower()
        value = getattr(self, f"{field}_en" if lang.startswith("en") else f"{field}_zh")
        return value or getattr(self, f"{field}_zh")


class Instrument(Bilingual, models.Model):
    class Kind(models.TextChoices):
        TEST = "test", _("测评")
        MODULE = "module", _("模块")

    code = models.SlugField(_("代码"), max_length=64, unique=True)
    name_zh = models.CharField(_("名称"), max_length=128)
    name_en = models.CharField(_("英文名称"), max_length=128)
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    age_min = models.PositiveSmallIntegerField(_("最小年龄"), null=True, blank=True)
    age_max = models.PositiveSmallIntegerField(_("最大年龄"), null=True, blank=True)

    class Meta:
        verbose_name = _("问卷")
        verbose_name_plural = _("问卷")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name_zh


class ImmutableWhenPublished(models.Model):
    """Refuse edits to a row whose parent version has been published."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.published_parent():
            raise PermissionError(f"{self._meta.verbose_name} belongs to a published version")
        super().save(*args, **kwargs)

    def published_parent(self) -> bool:
        raise NotImplementedError


class InstrumentVersion(Bilingual, models.Model):
    """One immutable-once-published version of an instrument, as imported from XLSForm."""

    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField(_("版本"))
    status = models.CharField(max_length=10, choices=PublishState.choices, default=PublishState.DRAFT)
    title_zh = models.CharField(_("标题"), max_length=255)
    title_en = models.CharField(_("英文标题"), max_length=255)
    source_name = models.CharField(max_length=255, blank=True)
    source = models.BinaryField(_("原始 XLSForm"), editable=False)
    source_hash = models.CharField(max_length=64)
    form_settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("问卷版本")
        verbose_name_plural = _("问卷版本")
        ordering = ["instrument", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "version"], name="instrument_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument.code} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = InstrumentVersion.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored == PublishState.PUBLISHED and self.status == PublishState.PUBLISHED:
                raise PermissionError("a published instrument version is immutable")
        super().save(*args, **kwargs)


class VersionChild(ImmutableWhenPublished):
    version = models.ForeignKey(InstrumentVersion, on_delete=models.CASCADE)

    class Meta:
        abstract = True

    def published_parent(self) -> bool:
        return InstrumentVersion.objects.filter(
            pk=self.version_id, status=PublishState.PUBLISHED
        ).exists()


class Section(Bilingual, VersionChild):
    """An XLSForm group: shown together, optionally skipped by its `relevant`."""

    name = models.SlugField(max_length=64)
    order = models.PositiveIntegerField()
    label_zh = models.CharField(max_length=255, blank=True)
    label_en = models.CharField(max_length=255, blank=True)
    relevant = models.TextField(blank=True)
    appearance = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("部分")
        verbose_name_plural = _("部分")
        ordering = ["version", "order"]
        default_related_name = "sections"
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="section_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class ChoiceList(VersionChild):
    name = models.SlugField(max_length=64)

    class Meta:
        verbose_name = _("选项列表")
        verbose_name_plural = _("选项列表")
        default_related_name = "choice_lists"
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="choice_list_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Choice(Bilingual, ImmutableWhenPublished):
    choice_list = models.ForeignKey(ChoiceList, on_delete=models.CASCADE, related_name="choices")
    order = models.PositiveIntegerField()
    name = models.CharField(max_length=64)
    label_zh = models.CharField(max_length=255)
    label_en = models.CharField(max_length=255, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("选项")
        verbose_name_plural = _("选项")
        ordering = ["choice_list", "order"]
        constraints = [
            models.UniqueConstraint(fields=["choice_list", "name"], name="choice_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def published_parent(self) -> bool:
        return InstrumentVersion.objects.filter(
            choice_lists=self.choice_list_id, status=PublishState.PUBLISHED
        ).exists()


class Item(Bilingual, VersionChild):
    class Type(models.TextChoices):
        TRUE_FALSE = "true_false", _("判断题")
        SINGLE = "single", _("单选题")
        MULTIPLE = "multiple", _("多选题")
        LIKERT = "likert", _("量表题")
        INTEGER = "integer", _("整数")
        DECIMAL = "decimal", _("数值")
        TEXT = "text", _("文本")
        NOTE = "note", _("说明")

    section = models.ForeignKey(Section, on_delete=models.CASCADE, null=True, blank=True, related_name="items")
    order = models.PositiveIntegerField()
    name = models.SlugField(max_length=64)
    type = models.CharField(max_length=12, choices=Type.choices)
    xlsform_type = models.CharField(max_length=128)
    # RESTRICT, not PROTECT: a list may go only together with its version (which takes the items too).
    choice_list = models.ForeignKey(ChoiceList, on_delete=models.RESTRICT, null=True, blank=True, related_name="items")
    situational = models.BooleanField(_("情景题"), default=False)
    label_zh = models.TextField(blank=True)
    label_en = models.TextField(blank=True)
    hint_zh = models.TextField(blank=True)
    hint_en = models.TextField(blank=True)
    required = models.BooleanField(default=False)
    relevant = models.TextField(blank=True)
    constraint = models.TextField(blank=True)
    constraint_message_zh = models.CharField(max_length=255, blank=True)
    constraint_message_en = models.CharField(max_length=255, blank=True)
    appearance = models.CharField(max_length=64, blank=True)
    choice_filter = models.TextField(blank=True)
    randomize = models.BooleanField(default=False)
    rationale_zh = models.TextField(_("答案依据"), blank=True)
    rationale_en = models.TextField(blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("题目")
        verbose_name_plural = _("题目")
        ordering = ["version", "order"]
        default_related_name = "items"
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="item_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Dimension(Bilingual, VersionChild):
    """A reporting dimension (area, aspect, category) that items can count toward."""

    code = models.SlugField(max_length=64)
    family = models.SlugField(max_length=32)
    order = models.PositiveIntegerField(default=0)
    label_zh = models.CharField(max_length=128)
    label_en = models.CharField(max_length=128)

    class Meta:
        verbose_name = _("维度")
        verbose_name_plural = _("维度")
        ordering = ["version", "family", "order"]
        default_related_name = "dimensions"
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="dimension_code_unique"),
        ]

    def __str__(self) -> str:
        return self.code
