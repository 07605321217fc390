from django.contrib import admin

from reports import models


@admin.register(models.Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["wave", "kind", "town", "group", "format", "status", "generated_at"]
    list_filter = ["wave", "kind", "status"]
    readonly_fields = ["provenance", "generated_at", "file"]
