"""County → town/street → village/community."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class UrbanRural(models.TextChoices):
    URBAN = "urban", _("城镇")
    RURAL = "rural", _("农村")


class County(models.Model):
    code = models.CharField(_("行政区划代码"), max_length=12, unique=True)
    name_zh = models.CharField(_("名称"), max_length=64)
    name_en = models.CharField(_("英文名称"), max_length=64)

    class Meta:
        verbose_name = _("县")
        verbose_name_plural = _("县")

    def __str__(self) -> str:
        return self.name_zh


class Town(models.Model):
    class Kind(models.TextChoices):
        STREET = "street", _("街道")
        TOWN = "town", _("镇")
        ZONE = "zone", _("开发区")

    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="towns")
    code = models.SlugField(_("代码"), max_length=32)
    name_zh = models.CharField(_("名称"), max_length=64)
    name_en = models.CharField(_("英文名称"), max_length=64)
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("乡镇（街道）")
        verbose_name_plural = _("乡镇（街道）")
        ordering = ["county", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["county", "code"], name="town_code_unique_in_county"),
        ]

    def __str__(self) -> str:
        return self.name_zh


class Village(models.Model):
    class Kind(models.TextChoices):
        VILLAGE = "village", _("行政村")
        COMMUNITY = "community", _("社区")

    town = models.ForeignKey(Town, on_delete=models.PROTECT, related_name="villages")
    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name_zh = models.CharField(_("名称"), max_length=64)
    name_en = models.CharField(_("英文名称"), max_length=64, blank=True)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    urban_rural = models.CharField(_("城乡"), max_length=5, choices=UrbanRural.choices)
    population = models.PositiveIntegerField(_("常住人口"))
    households = models.PositiveIntegerField(_("户数"))

    class Meta:
        verbose_name = _("村（社区）")
        verbose_name_plural = _("村（社区）")
        ordering = ["town", "code"]

    def __str__(self) -> str:
        return f"{self.town.name_zh}·{self.name_zh}"
