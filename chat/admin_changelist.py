"""The attachment change list's extra column and filters: where each attachment's bytes are.

The column asks the cheap tiers only — one Redis ``EXISTS`` and one ``stat()`` per row — and
takes the origin from the database (``Blob.expired_at``, set when the origin answered "gone"),
so a page of 100 rows costs no S3 request. The change page's "held by" asks the origin too.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet

from media_store import runtime
from media_store.exceptions import TierUnavailable


def cached_tiers(blob) -> str:
    """``"hot + disk + origin"``, the tiers holding a copy (``hot?`` while Redis is down)."""
    store = runtime.get_store()
    info = blob.info()
    held = []
    if store.hot is not None and info.size <= store.max_hot_bytes:
        try:
            if store.hot.contains(info.sha256):
                held.append("hot")
        except TierUnavailable:
            held.append("hot?")
    if store.disk is not None and store.disk.contains(info):
        held.append("disk")
    if blob.expired_at is None:
        held.append("origin")
    return " + ".join(held) or "none (expired)"


class OriginStateFilter(admin.SimpleListFilter):
    """Whether the origin still has the content (lifecycle expiry or deletion make it 404)."""

    title = "origin copy"
    parameter_name = "origin"

    def lookups(self, request, model_admin):
        return (("stored", "stored"), ("expired", "expired"))

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() == "stored":
            return queryset.filter(blob__expired_at__isnull=True)
        if self.value() == "expired":
            return queryset.filter(blob__expired_at__isnull=False)
        return queryset


class SourceFilter(admin.SimpleListFilter):
    """WhatsApp media (fetched by Cloud API media ID) or everything else (uploads, URLs, files)."""

    title = "source"
    parameter_name = "source"

    def lookups(self, request, model_admin):
        return (("whatsapp", "WhatsApp media ID"), ("other", "upload, URL or file"))

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() == "whatsapp":
            return queryset.exclude(whatsapp_media_id="")
        if self.value() == "other":
            return queryset.filter(whatsapp_media_id="")
        return queryset
