from django.contrib import admin
from django.utils.translation import gettext_lazy as _

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


class StratumInline(admin.TabularInline):
    model = models.Stratum
    extra = 0
    can_delete = False
    readonly_fields = ["code", "town", "urban_rural", "frame_units", "frame_size", "psu_allocated", "target_completes"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # strata come from the design service (assessment.services.sample_design_create)


@admin.register(models.SampleDesign)
class SampleDesignAdmin(admin.ModelAdmin):
    list_display = ["name", "wave", "allocation", "psu_total", "households_per_psu"]
    inlines = [StratumInline]


@admin.register(models.SampleDraw)
class SampleDrawAdmin(admin.ModelAdmin):
    list_display = ["design", "seed", "is_current", "drawn_at", "drawn_by"]
    list_filter = ["design__wave", "is_current"]
    readonly_fields = ["design", "seed", "is_current", "drawn_at", "drawn_by"]


@admin.register(models.Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ["case", "visited_at", "outcome", "enumerator", "received_at"]
    list_filter = ["outcome", "case__wave", "case__town"]
    search_fields = ["case__code"]
    readonly_fields = ["client_id", "case", "enumerator", "visited_at", "outcome", "note", "received_at"]


@admin.register(models.Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["case", "enumerator", "assigned_by", "assigned_at", "ended_at"]
    list_filter = ["case__wave", "case__town"]
    search_fields = ["case__code", "enumerator__username"]
    readonly_fields = ["case", "enumerator", "assigned_by", "assigned_at", "ended_at"]


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
    list_display = ["at", "actor", "county", "what", "object_type", "object_id", "summary"]
    list_filter = ["action", "county"]
    readonly_fields = ["at", "actor", "county", "what", "action", "object_type", "object_id", "summary", "details"]

    @admin.display(description=_("操作"), ordering="action")
    def what(self, obj: models.AuditEvent) -> str:
        return obj.action_label

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
