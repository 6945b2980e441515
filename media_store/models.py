"""Stored content, one row per SHA-256: the engine's own table.

``chat.MessageAttachment`` points here. Two attachments with the same bytes share one Blob,
hence one origin object and one cache entry.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from media_store.content.blobs import BlobInfo

MEDIA_TYPE_CHOICES = [(name, name) for name in ("image", "audio", "video", "document")]


class Blob(models.Model):
    sha256 = models.CharField(primary_key=True, max_length=64, editable=False)
    md5 = models.CharField(max_length=32, db_index=True, editable=False)
    size = models.BigIntegerField(editable=False)
    mime_type = models.CharField(max_length=127)
    media_type = models.CharField(max_length=16, choices=MEDIA_TYPE_CHOICES)
    extension = models.CharField(max_length=16)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    origin_key = models.CharField(max_length=512, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    expired_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the origin object was found gone (e.g. S3 lifecycle expiry)."
    )
    # Content analysis (media_store.content.analysis): filled at ingest, or by `analyse_media`.
    duration = models.FloatField(null=True, blank=True, help_text="Seconds (audio and video), when known.")
    metadata = models.JSONField(default=dict, blank=True, help_text="Codecs, bit rate, streams, rotation, …")
    analysed_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When the content was analysed; empty: not yet."
    )
    analysis_error = models.CharField(max_length=255, blank=True, help_text="Why the analysis failed, if it did.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.sha256[:12]}… {self.mime_type} {self.size} B"

    def info(self) -> BlobInfo:
        return BlobInfo(
            sha256=self.sha256,
            size=self.size,
            mime_type=self.mime_type,
            media_type=self.media_type,
            extension=self.extension,
            origin_key=self.origin_key,
        )


class SourceURL(models.Model):
    """Where content came from: URL → the last content downloaded from it (``find_cached_by_url``).

    Keyed by the SHA-256 of the URL; the stored ``url`` has credentials removed, so a
    ``https://user:pass@host/`` never lands in the database or the admin.
    """

    url_hash = models.CharField(primary_key=True, max_length=64, editable=False)
    url = models.TextField(help_text="The URL with any user:password removed.")
    blob = models.ForeignKey(Blob, on_delete=models.CASCADE, related_name="sources")
    fetched_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "source URL"

    def __str__(self) -> str:
        return self.url


class WhatsAppMedia(models.Model):
    """A WhatsApp Cloud API media ID that has been fetched: ID → content, so it is fetched once."""

    media_id = models.CharField(primary_key=True, max_length=128)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="whatsapp_media")
    mime_type = models.CharField(max_length=127, blank=True, help_text="As reported by the Graph API.")
    fetched_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "WhatsApp media"
        verbose_name_plural = "WhatsApp media"

    def __str__(self) -> str:
        return self.media_id


class Variant(models.Model):
    """A form of some content made for a channel (``voice.ogg``, ``video.mp4``, …): source → content.

    The variant is ordinary content — its own Blob, SHA-256, origin object and cache entries —
    so the same bytes made from two sources are stored once. When the source already is what
    the variant asks for, ``blob`` is the source itself (nothing was transcoded).
    """

    source = models.ForeignKey(Blob, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=32, help_text="As in the URL: voice.ogg, video.mp4, …")
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="variant_of")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "name"], name="variant_unique_per_source")]

    def __str__(self) -> str:
        return f"{self.source_id[:12]}…/{self.name}"

    @property
    def is_original(self) -> bool:
        return self.blob_id == self.source_id
