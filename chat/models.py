"""Chat messages and their attachments.

Each attachment gets a public token (``media_hash``: 128 random bits, 32 hex characters) and
a short URL built from it; the content itself is a ``media_store.Blob``, shared by every
attachment with the same bytes. The content fields (type, size, digests, dimensions) are
copied from the blob when the attachment is created: they are immutable, and having them on
the row keeps the admin, the API and legacy queries free of joins.
"""

from __future__ import annotations

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from media_store.conf import media_settings
from media_store.content.digests import new_token
from media_store.content.mediatypes import MEDIA_TYPES
from media_store.models import Blob

TOKEN_ATTEMPTS = 3


class Message(models.Model):
    """A chat message, minimal on purpose: mediacache stores media, not conversations."""

    class Direction(models.TextChoices):
        INBOUND = "in", "inbound"
        OUTBOUND = "out", "outbound"

    chat_id = models.CharField(max_length=128, blank=True, db_index=True, help_text="Remote JID or wa_id.")
    external_id = models.CharField(max_length=128, blank=True, db_index=True, help_text="Gateway message id.")
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.INBOUND)
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.chat_id or '-'} #{self.pk}"


def short_url_prefix() -> str:
    """``<PUBLIC_BASE_URL>/media/``: a short URL is this plus the token."""
    return f"{media_settings.PUBLIC_BASE_URL.rstrip('/')}/media/"


def short_url_for(token: str) -> str:
    return f"{short_url_prefix()}{token}"


class MessageAttachment(models.Model):
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="attachments")
    # NULL, not "": many rows may lack a token (legacy rows before backfill) under the unique index.
    media_hash = models.CharField(  # noqa: DJ001
        max_length=32, unique=True, db_index=True, null=True, blank=True, editable=False
    )
    short_url = models.CharField(max_length=255, null=True, blank=True, editable=False)  # noqa: DJ001 (CONTRACT §3)
    original_filename = models.CharField(max_length=255, blank=True)
    mime_type = models.CharField(max_length=127, blank=True)
    media_type = models.CharField(max_length=16, choices=[(t, t) for t in MEDIA_TYPES], blank=True)
    file_size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    md5_sum = models.CharField(max_length=32, blank=True, db_index=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    whatsapp_media_id = models.CharField(
        max_length=128, blank=True, db_index=True, help_text="Cloud API media ID this attachment was fetched from."
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.original_filename or self.media_hash or f"attachment #{self.pk}"

    def save(self, *args, **kwargs) -> None:
        """Fill ``media_hash``/``short_url`` when missing; retry on the (2^-128) token collision."""
        if self.blob_id and not self.sha256:
            self.copy_content_fields()
        generated = not self.media_hash
        for attempt in range(1, TOKEN_ATTEMPTS + 1):
            if generated:
                self.media_hash = new_token()
                self.short_url = short_url_for(self.media_hash)
                kwargs = _with_update_fields(kwargs, "media_hash", "short_url")
            elif not self.short_url:
                self.short_url = short_url_for(self.media_hash)
                kwargs = _with_update_fields(kwargs, "short_url")
            try:
                with transaction.atomic():
                    super().save(*args, **kwargs)
                return
            except IntegrityError:
                if not (generated and attempt < TOKEN_ATTEMPTS and self._token_taken()):
                    raise

    @property
    def is_expired(self) -> bool:
        """The origin no longer has the content (lifecycle expiry, deletion): the URL answers 404."""
        return self.blob.expired_at is not None

    def evolution_media_payload(self) -> dict[str, str]:
        """The body of Evolution API's ``sendMedia`` for this attachment (see ``chat.outbound``:
        the original when WhatsApp accepts it, else the right variant; URL and fileName with
        an extension). Voice notes: ``chat.outbound.evolution_send_audio``."""
        from chat.outbound import evolution_send_media

        return evolution_send_media(self)

    @property
    def url_with_extension(self) -> str:
        """The short URL plus the content's extension, for clients that read it from the URL."""
        return f"{self.short_url}{self.blob.extension}" if self.short_url else ""

    def copy_content_fields(self) -> None:
        """Fill the content fields from the blob (they never change afterwards)."""
        blob = self.blob
        self.mime_type = self.mime_type or blob.mime_type
        self.media_type = self.media_type or blob.media_type
        self.file_size = blob.size
        self.sha256 = blob.sha256
        self.md5_sum = blob.md5
        self.width = blob.width
        self.height = blob.height

    def _token_taken(self) -> bool:
        return MessageAttachment.objects.filter(media_hash=self.media_hash).exclude(pk=self.pk).exists()


def _with_update_fields(kwargs: dict, *fields: str) -> dict:
    """A save(update_fields=[...]) must also write the fields save() just filled in."""
    if kwargs.get("update_fields") is None:
        return kwargs
    return {**kwargs, "update_fields": set(kwargs["update_fields"]) | set(fields)}


from chat.idempotency import IdempotencyKey  # noqa: E402,F401 (retried ingests: a model of this app)
from chat.jobs import FetchJob  # noqa: E402,F401 (asynchronous fetches: a model of this app)
