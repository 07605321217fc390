"""Append-only audit log of consequential actions."""
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyQuerySet(models.QuerySet["AuditEvent"]):
    """Bulk changes would bypass the model's own guard, so the queryset refuses them too."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError("audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only")


# What each recorded action means, for the people who read the log.
ACTION_LABELS = {
    "api_token.issue": _("签发 API 令牌"), "api_token.revoke": _("吊销 API 令牌"),
    "case.disposition": _("样本户状态变更"), "case.roster": _("登记家庭成员"), "cases.assign": _("分派样本户"),
    "contacts.purge": _("删除联系方式"), "design.create": _("创建抽样设计"), "frame.import": _("导入抽样框"),
    "households.import": _("导入住户名单"), "instrument.publish": _("发布问卷"), "invitations.issue": _("发放邀请"),
    "key.publish": _("发布评分标准"), "key.select": _("选定正式评分标准"), "report.batch": _("批量生成报告"),
    "report.batch_download": _("下载报告合集"), "report.download": _("下载报告"), "report.generate": _("生成报告"),
    "response.review": _("审核答卷"), "responses.flag": _("答卷质量检查"), "responses.rescore": _("重新评分"),
    "sample.draw": _("抽取样本"), "sample.households": _("抽取住户"), "weights.compute": _("计算权重"),
}


class AuditEvent(models.Model):
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("操作人")
    )
    action = models.SlugField(_("操作"), max_length=64)
    object_type = models.CharField(_("对象类型"), max_length=64)
    object_id = models.CharField(_("对象编号"), max_length=64)
    summary = models.CharField(_("摘要"), max_length=255)
    details = models.JSONField(_("详情"), default=dict, blank=True)
    # The county whose data the action concerns; empty for what all counties share (the
    # question banks and their keys) and for accounts without one.  Admins read their
    # county's events and the shared ones.
    county = models.ForeignKey(
        "assessment.County", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("县")
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only")

    @property
    def action_label(self) -> str:
        """The action in words (the raw action for one without a label)."""
        label = ACTION_LABELS.get(self.action)
        return str(label) if label is not None else self.action


def county_of_wave(wave_id: int | None) -> int | None:
    """Return the county id of a wave (for an audit event that knows only the wave's id)."""
    from assessment.models.waves import Wave

    if wave_id is None:
        return None
    return Wave.objects.filter(pk=wave_id).values_list("county_id", flat=True).first()
