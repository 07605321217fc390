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


class AuditEvent(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.SlugField(_("操作"), max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    summary = models.CharField(max_length=255)
    details = models.JSONField(default=dict, blank=True)
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


def county_of_wave(wave_id: int | None) -> int | None:
    """Return the county id of a wave (for an audit event that knows only the wave's id)."""
    from assessment.models.waves import Wave

    if wave_id is None:
        return None
    return Wave.objects.filter(pk=wave_id).values_list("county_id", flat=True).first()
