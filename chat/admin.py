"""Admin for messages and attachments: find any attachment by token, name or digest; see and
hear it inline; see which tiers hold it; warm, purge or verify its cached copies."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html

from chat.admin_changelist import OriginStateFilter, SourceFilter, cached_tiers
from chat.admin_forms import IngestingAddMixin
from chat.deletion import delete_attachments
from chat.models import Message, MessageAttachment
from media_store import runtime
from media_store.api import admin_display as analysis_display
from media_store.exceptions import MediaError
from media_store.ops.verify import verify_blob

PREVIEW_TAGS = {
    "image": '<img src="{0}" alt="" style="max-width: 320px; max-height: 240px">',
    "sticker": '<img src="{0}" alt="" style="max-width: 160px">',
    "audio": '<audio controls preload="none" src="{0}"></audio>',
    "video": '<video controls preload="none" width="320" src="{0}"></video>',
}


class AttachmentInline(admin.TabularInline):
    model = MessageAttachment
    extra = 0
    fields = ("original_filename", "media_type", "mime_type", "file_size", "short_url")
    readonly_fields = fields
    show_change_link = True
    can_delete = False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "direction", "chat_id", "external_id", "created_at")
    list_filter = ("direction",)
    search_fields = ("chat_id", "external_id", "text")
    inlines = [AttachmentInline]


@admin.register(MessageAttachment)
class MessageAttachmentAdmin(IngestingAddMixin, admin.ModelAdmin):
    list_display = ("original_filename", "link", "media_type", "mime_type", "size", "held_by", "created_at")
    list_filter = ("media_type", OriginStateFilter, SourceFilter, "created_at", "mime_type")
    search_fields = ("=media_hash", "original_filename", "=sha256", "=md5_sum", "=whatsapp_media_id")
    date_hierarchy = "created_at"
    list_select_related = ("blob",)
    raw_id_fields = ("message", "blob")
    readonly_fields = (
        "preview",
        "link",
        "tiers",
        "media_hash",
        "short_url",
        "mime_type",
        "file_size",
        "sha256",
        "md5_sum",
        "width",
        "height",
        "duration",
        "analysis",
        "variants",
        "whatsapp_media_id",
        "created_at",
    )
    fields = ("message", "blob", "original_filename", "media_type", *readonly_fields)
    actions = ("warm_cache", "purge_cache", "purge_attachments", "verify_integrity")

    def get_readonly_fields(self, request, obj=None):
        # The content is chosen when the attachment is created, never re-pointed afterwards.
        return (*self.readonly_fields, "blob") if obj else self.readonly_fields

    @admin.display(description="short URL")
    def link(self, obj: MessageAttachment) -> str:
        if not obj.short_url:
            return "—"
        return format_html(
            '<a href="{0}" target="_blank" rel="noopener">{0}</a> '
            '<button type="button" class="button" data-url="{0}" '
            'onclick="navigator.clipboard.writeText(this.dataset.url)">copy</button>',
            obj.short_url,
        )

    @admin.display(description="size", ordering="file_size")
    def size(self, obj: MessageAttachment) -> str:
        return filesizeformat(obj.file_size) if obj.file_size is not None else "—"

    @admin.display(description="expired", boolean=True)
    def expired(self, obj: MessageAttachment) -> bool:
        return obj.is_expired

    @admin.display(description="held by")
    def held_by(self, obj: MessageAttachment) -> str:
        return cached_tiers(obj.blob)

    @admin.display(description="preview")
    def preview(self, obj: MessageAttachment) -> str:
        tag = PREVIEW_TAGS.get(obj.media_type)
        if not obj.media_hash or tag is None:
            return "—"
        return format_html(tag, reverse("media", kwargs={"token": obj.media_hash}))

    @admin.display(description="duration")
    def duration(self, obj: MessageAttachment) -> str:
        return analysis_display.duration(obj.blob) if obj.blob_id else "—"

    @admin.display(description="analysis")
    def analysis(self, obj: MessageAttachment) -> str:
        return analysis_display.summary(obj.blob) if obj.blob_id else "—"

    @admin.display(description="variants")
    def variants(self, obj: MessageAttachment) -> str:
        return analysis_display.variant_links(obj.blob, obj.short_url) if obj.blob_id else "—"

    @admin.display(description="held by")
    def tiers(self, obj: MessageAttachment) -> str:
        if not obj.blob_id:
            return "—"
        presence = runtime.get_store().presence(obj.blob.info())
        return ", ".join(f"{tier}: {state}" for tier, state in presence.items())

    @admin.action(description="Warm the cache (hot + disk) for the selected attachments")
    def warm_cache(self, request, queryset) -> None:
        store = runtime.get_store()
        self._each_blob(request, queryset, "warmed", lambda blob: store.warm(blob.info()))

    @admin.action(description="Purge the selected attachments from the cache (the origin keeps them)")
    def purge_cache(self, request, queryset) -> None:
        store = runtime.get_store()
        self._each_blob(request, queryset, "purged", lambda blob: store.evict(blob.info()))

    @admin.action(description="Verify the integrity of every stored and cached copy")
    def verify_integrity(self, request, queryset) -> None:
        store = runtime.get_store()
        bad = []

        def check(blob):
            report = verify_blob(blob, store)
            if report.bad_tiers:
                states = ", ".join(f"{tier} {report.states[tier]}" for tier in report.bad_tiers)
                bad.append(f"Blob {blob.sha256[:12]}…: {states} (run manage.py verify_media --repair)")

        self._each_blob(request, queryset, "verified", check)
        for line in bad:
            self.message_user(request, line, messages.ERROR)

    # Deleting (the change form's "Delete", the "delete selected" action) and purging go through
    # chat.deletion, so the token stops resolving at once here and within the edge TTL there.
    def delete_model(self, request, obj: MessageAttachment) -> None:
        delete_attachments([obj])

    def delete_queryset(self, request, queryset) -> None:
        delete_attachments(queryset.select_related("blob"))

    @admin.action(
        description="Delete the selected attachments and purge their content from the cache now",
        permissions=("delete",),
    )
    def purge_attachments(self, request, queryset) -> None:
        deleted = delete_attachments(queryset.select_related("blob"), purge=True)
        self.message_user(
            request,
            f"Deleted {deleted} attachment(s); content no other attachment uses was purged from the cache "
            "and leaves the origin with the next orphan sweep",
        )

    def _each_blob(self, request, queryset, verb: str, operation) -> None:
        done, failures = 0, []
        for blob in {attachment.blob for attachment in queryset.select_related("blob")}:
            try:
                operation(blob)
                done += 1
            except MediaError as error:
                failures.append(f"Blob {blob.sha256[:12]}…: {error}")
        self.message_user(request, f"{verb.capitalize()} {done} stored object(s)")
        for failure in failures:
            self.message_user(request, failure, messages.ERROR)
