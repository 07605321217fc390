from django.contrib import admin

from reports import models


@admin.register(models.Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["wave", "kind", "town", "group", "format", "status", "generated_at"]
    list_filter = ["wave", "kind", "format", "status"]
    readonly_fields = ["provenance", "generated_at", "file"]


@admin.register(models.ReportBatch)
class ReportBatchAdmin(admin.ModelAdmin):
    list_display = ["wave", "status", "done", "total", "created_at", "finished_at"]
    list_filter = ["wave", "status"]
    readonly_fields = ["data_hash", "archive", "error", "started_at", "finished_at"]
