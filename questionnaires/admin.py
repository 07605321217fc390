from django.contrib import admin

from questionnaires import models


@admin.register(models.Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "kind", "age_min", "age_max"]


@admin.register(models.InstrumentVersion)
class InstrumentVersionAdmin(admin.ModelAdmin):
    list_display = ["instrument", "version", "status", "title_zh", "published_at"]
    list_filter = ["instrument", "status"]
    readonly_fields = ["source_hash", "published_at", "published_by"]


@admin.register(models.Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "type", "required", "label_zh"]
    list_filter = ["version", "type"]
    search_fields = ["name", "label_zh", "label_en"]


@admin.register(models.ScoringKey)
class ScoringKeyAdmin(admin.ModelAdmin):
    list_display = ["instrument_version", "version", "status", "published_at"]
    list_filter = ["status"]


@admin.register(models.Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["client_id", "wave", "instrument_version", "case", "mode", "review", "received_at"]
    list_filter = ["wave", "instrument_version", "mode", "review"]
    raw_id_fields = ["case", "invitation", "enumerator"]
    readonly_fields = ["client_id", "answers", "payload_hash", "received_at"]


@admin.register(models.ResponseScore)
class ResponseScoreAdmin(admin.ModelAdmin):
    list_display = ["response", "key", "total_points", "max_points", "level"]
    list_filter = ["key"]
    raw_id_fields = ["response"]
