"""Admin for messages and attachments: find any attachment by token, name or digest."""

from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html

from .models import Message, MessageAttachment


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
class MessageAttachmentAdmin(admin.ModelAdmin):
    list_display = ("original_filename", "link", "media_type", "mime_type", "size", "created_at")
    list_filter = ("media_type", "created_at")
    search_fields = ("=media_hash", "original_filename", "=sha256", "=md5_sum")
    date_hierarchy = "created_at"
    list_select_related = ("blob",)
    raw_id_fields = ("message", "blob")
    readonly_fields = (
        "link",
        "media_hash",
        "short_url",
        "mime_type",
        "file_size",
        "sha256",
        "md5_sum",
        "width",
        "height",
        "created_at",
    )
    fields = ("message", "blob", "original_filename", "media_type", *readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        # The content is chosen when the attachment is created, never re-pointed afterwards.
        return (*self.readonly_fields, "blob") if obj else self.readonly_fields

    @admin.display(description="short URL")
    def link(self, obj: MessageAttachment) -> str:
        if not obj.short_url:
            return "—"
        return format_html('<a href="{0}" target="_blank" rel="noopener">{0}</a>', obj.short_url)

    @admin.display(description="size", ordering="file_size")
    def size(self, obj: MessageAttachment) -> str:
        return filesizeformat(obj.file_size) if obj.file_size is not None else "—"
