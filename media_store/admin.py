"""Admin for stored content, read-only: blobs are immutable and created only by ingest; source
URLs and WhatsApp IDs are records of where content came from."""

from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat

from media_store.api import admin_display
from media_store.api.admin_display import AnalysisFilter
from media_store.models import Blob, SourceURL, Variant, WhatsAppMedia


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Blob)
class BlobAdmin(ReadOnlyAdmin):
    list_display = ("sha256", "mime_type", "media_type", "human_size", "duration", "created_at", "expired_at")
    list_filter = ("media_type", "expired_at", AnalysisFilter)
    search_fields = ("=sha256", "=md5")
    date_hierarchy = "created_at"
    readonly_fields = ("analysis", "variant_list")

    @admin.display(description="size", ordering="size")
    def human_size(self, obj: Blob) -> str:
        return filesizeformat(obj.size)

    @admin.display(description="analysis")
    def analysis(self, obj: Blob) -> str:
        return admin_display.summary(obj)

    @admin.display(description="variants")
    def variant_list(self, obj: Blob) -> str:
        return admin_display.variant_names(obj)


@admin.register(Variant)
class VariantAdmin(ReadOnlyAdmin):
    list_display = ("source", "name", "blob", "created_at")
    list_filter = ("name",)
    search_fields = ("=source__sha256", "=blob__sha256")
    list_select_related = ("source", "blob")


@admin.register(SourceURL)
class SourceURLAdmin(ReadOnlyAdmin):
    list_display = ("url", "blob", "fetched_at")
    search_fields = ("url", "=blob__sha256")
    list_select_related = ("blob",)
    date_hierarchy = "fetched_at"


@admin.register(WhatsAppMedia)
class WhatsAppMediaAdmin(ReadOnlyAdmin):
    list_display = ("media_id", "mime_type", "blob", "fetched_at")
    search_fields = ("=media_id", "=blob__sha256")
    list_select_related = ("blob",)
    date_hierarchy = "fetched_at"
