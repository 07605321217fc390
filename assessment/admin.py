from django.contrib import admin

from assessment import models


@admin.register(models.County)
class CountyAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en"]


@admin.register(models.Town)
class TownAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "kind", "county"]
    list_filter = ["county", "kind"]


@admin.register(models.Village)
class VillageAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "town", "kind", "urban_rural", "population", "households"]
    list_filter = ["town", "kind", "urban_rural"]
    search_fields = ["code", "name_zh"]


class TargetInline(admin.TabularInline):
    model = models.Target
    extra = 0


class WaveInstrumentInline(admin.TabularInline):
    model = models.WaveInstrument
    extra = 0


@admin.register(models.Wave)
class WaveAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "year", "kind", "status"]
    list_filter = ["county", "status"]
    inlines = [WaveInstrumentInline, TargetInline]


@admin.register(models.CensusMarginSet)
class CensusMarginSetAdmin(admin.ModelAdmin):
    list_display = ["name", "county", "reference_year", "age_min", "age_max"]


@admin.register(models.Frame)
class FrameAdmin(admin.ModelAdmin):
    list_display = ["name", "county", "kind", "reference_year", "imported_at"]


@admin.register(models.SampleDesign)
class SampleDesignAdmin(admin.ModelAdmin):
    list_display = ["name", "wave", "allocation", "psu_total", "households_per_psu"]


@admin.register(models.Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["code", "wave", "town", "disposition", "assigned_to", "prob_psu", "prob_household", "prob_person"]
    list_filter = ["wave", "town", "disposition"]
    search_fields = ["code"]
    raw_id_fields = ["draw", "sampled_unit", "household", "assigned_to"]


@admin.register(models.WeightSet)
class WeightSetAdmin(admin.ModelAdmin):
    list_display = ["wave", "instrument", "version", "is_current", "created_at"]
    list_filter = ["wave", "instrument", "is_current"]
    readonly_fields = [f.name for f in models.WeightSet._meta.fields]


@admin.register(models.StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "county"]
    list_filter = ["role", "county"]
    filter_horizontal = ["towns"]


@admin.register(models.AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id", "summary"]
    list_filter = ["action"]
    readonly_fields = ["at", "actor", "action", "object_type", "object_id", "summary", "details"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
