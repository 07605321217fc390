"""Generated reports and the batches that build them."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("生成中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ReportBatch(models.Model):
    """All reports of a wave built together as a background job, downloadable as one ZIP."""

    wave = models.ForeignKey("assessment.Wave", on_delete=models.CASCADE, related_name="report_batches")
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    archive = models.FileField(upload_to="reports/batches/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("报告批次")
        verbose_name_plural = _("报告批次")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.wave})"


class Report(models.Model):
    class Kind(models.TextChoices):
        COUNTY = "county", _("全县报告")
        TOWN = "town", _("乡镇（街道）报告")
        GROUP = "group", _("重点人群报告")

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    wave = models.ForeignKey("assessment.Wave", on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    town = models.ForeignKey("assessment.Town", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    group = models.SlugField(max_length=32, blank=True)
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.PDF)
    language = models.CharField(max_length=8, default="zh-hans")
    batch = models.ForeignKey(ReportBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports")
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED)
    file = models.FileField(upload_to="reports/", blank=True)
    error = models.TextField(blank=True)
    provenance = models.JSONField(default=dict, help_text=_("问卷、评分标准、权重版本及数据指纹"))
    created_at = models.DateTimeField(auto_now_add=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("报告")
        verbose_name_plural = _("报告")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="county", town__isnull=True, group="")
                    | models.Q(kind="town", town__isnull=False, group="")
                    | (models.Q(kind="group", town__isnull=True) & ~models.Q(group=""))
                ),
                name="report_scope_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.wave}"
