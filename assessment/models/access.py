"""Staff roles and the towns they may see."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from assessment.models.geography import County, Town


class Role(models.TextChoices):
    ADMIN = "admin", _("管理员（县科协）")
    SUPERVISOR = "supervisor", _("督导（乡镇/街道）")
    ENUMERATOR = "enumerator", _("调查员")
    OFFICIAL = "official", _("领导（查看报告）")


class StaffProfile(models.Model):
    """A staff member's role; towns empty means the whole county (admins, county officials)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(_("角色"), max_length=12, choices=Role.choices)
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="staff")
    towns = models.ManyToManyField(Town, blank=True, related_name="staff", verbose_name=_("负责乡镇"))

    class Meta:
        verbose_name = _("工作人员")
        verbose_name_plural = _("工作人员")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"
