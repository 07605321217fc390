"""Admin for instruments and keys: drafts are edited here, published ones are read-only, and
publishing goes through `questionnaires.services` (the action "publish", with its checks)."""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.forms import ModelChoiceField, ModelMultipleChoiceField
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assessment.access import is_admin
from questionnaires import models
from questionnaires.selectors import export_filename, instrument_export, key_export
from questionnaires.services import QuestionnaireError, instrument_publish, key_publish

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _draft(status: str) -> bool:
    return status == models.PublishState.DRAFT


class ReadOnlyWhenPublished:
    """Let admins change a row only while the version or key it belongs to is a draft."""

    def is_draft(self, obj: Any) -> bool:
        raise NotImplementedError

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not self.is_draft(obj):
            return False
        return super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not self.is_draft(obj):
            return False
        return super().has_delete_permission(request, obj)  # type: ignore[misc]


class DraftInline(ReadOnlyWhenPublished):
    """An inline of a version or key: rows can be added only while the parent is a draft."""

    def is_draft(self, obj: Any) -> bool:
        return _draft(obj.status)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not self.is_draft(obj):
            return False
        return super().has_add_permission(request, obj)  # type: ignore[misc]


def _may_publish(request: HttpRequest) -> bool:
    return bool(request.user.is_superuser or is_admin(request.user))


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin.register(models.Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "kind", "age_min", "age_max"]


class SectionInline(DraftInline, admin.TabularInline):
    model = models.Section
    extra = 0
    fields = ["order", "name", "label_zh", "label_en", "relevant", "appearance"]


class DimensionInline(DraftInline, admin.TabularInline):
    model = models.Dimension
    extra = 0
    fields = ["order", "code", "family", "label_zh", "label_en"]


@admin.register(models.InstrumentVersion)
class InstrumentVersionAdmin(ReadOnlyWhenPublished, admin.ModelAdmin):
    list_display = ["instrument", "version", "status", "title_zh", "published_at"]
    list_filter = ["instrument", "status"]
    readonly_fields = ["status", "source_name", "source_hash", "created_at", "published_at", "published_by"]
    inlines = [SectionInline, DimensionInline]
    actions = ["publish", "export_xlsform"]

    def is_draft(self, obj: Any) -> bool:
        return _draft(obj.status)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fixed = ["instrument", "version"] if obj is not None else []
        return [*fixed, *self.readonly_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from XLSForm imports (manage.py instrument_import, or the API)

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return _may_publish(request)

    @admin.action(description=gettext_lazy("发布所选问卷版本（含其草稿评分标准）"), permissions=["publish"])
    def publish(self, request: HttpRequest, queryset: QuerySet[models.InstrumentVersion]) -> None:
        for version in queryset.select_related("instrument"):
            try:
                instrument_publish(version=version, user=request.user)
            except QuestionnaireError as exc:
                self.message_user(
                    request, _("无法发布 %(name)s：%(problems)s") % {"name": version, "problems": "；".join(exc.problems)},
                    messages.ERROR,
                )
            else:
                self.message_user(request, _("已发布 %(name)s") % {"name": version}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("导出 XLSForm（.xlsx）"))
    def export_xlsform(self, request: HttpRequest, queryset: QuerySet[models.InstrumentVersion]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, _("请只选择一个问卷版本导出。"), messages.WARNING)
            return None
        version = queryset.select_related("instrument").get()
        return _xlsx(instrument_export(version), export_filename(version))


class VersionChildAdmin(ReadOnlyWhenPublished, admin.ModelAdmin):
    def is_draft(self, obj: Any) -> bool:
        return _draft(obj.version.status)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> ModelChoiceField:
        if db_field.name == "version":
            kwargs["queryset"] = models.InstrumentVersion.objects.filter(status=models.PublishState.DRAFT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(models.Item)
class ItemAdmin(VersionChildAdmin):
    list_display = ["name", "version", "type", "required", "label_zh"]
    list_filter = ["version", "type"]
    search_fields = ["name", "label_zh", "label_en"]
    list_select_related = ["version__instrument"]


class ChoiceInline(admin.TabularInline):
    model = models.Choice
    extra = 0
    fields = ["order", "name", "label_zh", "label_en"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (obj is None or _draft(obj.version.status)) and super().has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (obj is None or _draft(obj.version.status)) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (obj is None or _draft(obj.version.status)) and super().has_delete_permission(request, obj)


@admin.register(models.ChoiceList)
class ChoiceListAdmin(VersionChildAdmin):
    list_display = ["name", "version"]
    list_filter = ["version"]
    inlines = [ChoiceInline]


class KeyInlineMixin(DraftInline):
    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        request._scoring_key = obj  # type: ignore[attr-defined]  # read by the field querysets below
        return super().get_formset(request, obj, **kwargs)  # type: ignore[misc]


class ItemKeyInline(KeyInlineMixin, admin.TabularInline):
    model = models.ItemKey
    extra = 0
    fields = ["item", "points", "correct", "dimensions"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> ModelChoiceField:
        key = getattr(request, "_scoring_key", None)
        if db_field.name == "item" and key is not None:
            kwargs["queryset"] = models.Item.objects.filter(version_id=key.instrument_version_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> ModelMultipleChoiceField | None:
        key = getattr(request, "_scoring_key", None)
        if db_field.name == "dimensions" and key is not None:
            kwargs["queryset"] = models.Dimension.objects.filter(version_id=key.instrument_version_id)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class BenchmarkRuleInline(KeyInlineMixin, admin.StackedInline):
    model = models.BenchmarkRule
    extra = 0
    fields = ["order", "name", "label_zh", "label_en", "scope", "basis", "threshold", "levels"]


class GroupRuleInline(KeyInlineMixin, admin.TabularInline):
    model = models.GroupRule
    extra = 0
    fields = ["order", "name", "label_zh", "label_en", "rule"]


@admin.register(models.ScoringKey)
class ScoringKeyAdmin(ReadOnlyWhenPublished, admin.ModelAdmin):
    list_display = ["instrument_version", "version", "status", "based_on", "note", "published_at"]
    list_filter = ["status", "instrument_version__instrument"]
    list_select_related = ["instrument_version__instrument", "based_on__instrument_version__instrument"]
    readonly_fields = ["status", "source_name", "source_hash", "created_at", "published_at", "published_by"]
    inlines = [ItemKeyInline, BenchmarkRuleInline, GroupRuleInline]
    actions = ["publish", "export_key_file"]

    def is_draft(self, obj: Any) -> bool:
        return _draft(obj.status)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fixed = ["instrument_version", "version", "based_on"] if obj is not None else []
        return [*fixed, *self.readonly_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # new key versions come from key files (manage.py key_import, or the API)

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return _may_publish(request)

    @admin.action(description=gettext_lazy("发布所选评分标准"), permissions=["publish"])
    def publish(self, request: HttpRequest, queryset: QuerySet[models.ScoringKey]) -> None:
        for key in queryset.select_related("instrument_version__instrument"):
            try:
                key_publish(key=key, user=request.user)
            except QuestionnaireError as exc:
                self.message_user(
                    request, _("无法发布 %(name)s：%(problems)s") % {"name": key.label, "problems": "；".join(exc.problems)},
                    messages.ERROR,
                )
            else:
                self.message_user(request, _("已发布 %(name)s") % {"name": key.label}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("导出评分标准文件（.xlsx）"))
    def export_key_file(self, request: HttpRequest, queryset: QuerySet[models.ScoringKey]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, _("请只选择一个评分标准导出。"), messages.WARNING)
            return None
        key = queryset.select_related("instrument_version__instrument").get()
        return _xlsx(key_export(key), f"{key.label}.xlsx")


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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # scores come from the scoring services only

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
