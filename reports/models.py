"""Generated reports, the batches that build them, and the estimates they share."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("生成中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ReportBatch(models.Model):
    """All reports of a wave (county, every town, every group) built together as a background
    job, downloadable as one ZIP."""

    wave = models.ForeignKey("assessment.Wave", on_delete=models.CASCADE, related_name="report_batches")
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    step = models.CharField(_("当前步骤"), max_length=128, blank=True)
    data_hash = models.CharField(max_length=64, blank=True)
    archive = models.FileField(upload_to="reports/batches/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("报告批次")
        verbose_name_plural = _("报告批次")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.wave})"

    @property
    def progress(self) -> int:
        """Return the share of reports built, in percent."""
        return int(100 * self.done / self.total) if self.total else 0


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
        ordering = ["-created_at", "-pk"]
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

    @property
    def scope_code(self) -> str:
        """Return the town's code or the group's name ("" for the county report)."""
        if self.kind == self.Kind.TOWN and self.town is not None:
            return self.town.code
        return self.group

    @property
    def filename(self) -> str:
        """Return the name a download is saved under, e.g. suyang-2025-town-yushan.pdf."""
        scope = f"-{self.scope_code}" if self.scope_code else ""
        return f"suyang-{self.wave.code}-{self.kind}{scope}.{self.format}"


class EstimateSnapshot(models.Model):
    """Estimate cells already computed for a wave under its current weights and key.

    A report shows earlier waves in its trends; reading their cells here spares loading those
    waves again.  `inputs` hashes what the cells depend on (weight set, key, reliability rule,
    estimation version), so new weights or a new key simply miss and are computed afresh.
    """

    wave = models.ForeignKey("assessment.Wave", on_delete=models.CASCADE, related_name="+")
    instrument = models.SlugField(max_length=64)
    inputs = models.CharField(max_length=64)
    cells = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("估计结果缓存")
        verbose_name_plural = _("估计结果缓存")
        constraints = [
            models.UniqueConstraint(fields=["wave", "instrument", "inputs"], name="estimate_snapshot_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.wave} {self.instrument} ({len(self.cells)} estimates)"
