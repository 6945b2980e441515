"""Admin for stored content (read-only: blobs are immutable and created only by ingest)."""

from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat

from .models import Blob


@admin.register(Blob)
class BlobAdmin(admin.ModelAdmin):
    list_display = ("sha256", "mime_type", "media_type", "human_size", "created_at", "expired_at")
    list_filter = ("media_type", "expired_at")
    search_fields = ("=sha256", "=md5")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="size", ordering="size")
    def human_size(self, obj: Blob) -> str:
        return filesizeformat(obj.size)
