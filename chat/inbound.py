"""WhatsApp Cloud API media in the chat domain: media ID (or webhook entry) → MessageAttachment.

The engine (``media_store.fetch.media_ids.download_media``) turns a media ID into stored content; this
module gives that content an attachment — one per (media ID, content), so the same ID asked for
twice, by the webhook, the ``/media?id=`` endpoint, the command or the Celery task, always
answers with the same short URL. It also holds the JSON both the endpoint and the command print.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from chat.models import Message, MessageAttachment
from chat.services import filename_for
from media_store.fetch.media_ids import MediaResult, download_media, parse_timestamp, validate_media_id
from media_store.models import Blob, WhatsAppMedia

MEDIA_MESSAGE_TYPES = ("audio", "image", "video", "document", "sticker")
# CONTRACT §4: what each non-ok outcome answers over HTTP.
HTTP_STATUS = {"expired": 410, "failed": 404, "upstream": 502, "unavailable": 503}  # 503: our origin, not Meta


class MediaUnavailable(Exception):
    """``download_media`` did not produce content; ``result.status`` says why."""

    def __init__(self, media_id: str, result: MediaResult) -> None:
        super().__init__(f"WhatsApp media {media_id}: {result.status} ({result.reason})")
        self.result = result

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.result.status]


class NotMediaMessage(ValueError):
    """A webhook message whose type carries no media (text, location, reaction, …)."""


@dataclass(frozen=True)
class WebhookMedia:
    """The parts of one Cloud API webhook ``messages[]`` entry that matter for its media."""

    wamid: str
    sender: str
    timestamp: str | None
    kind: str  # audio | image | video | document | sticker
    media_id: str
    caption: str
    filename: str | None


def attachment_for_media_id(
    media_id: str,
    timestamp: int | float | str | datetime | None = None,
    use_cache: bool = True,
    message: Message | None = None,
    *,
    filename: str | None = None,
    media_type: str | None = None,
) -> MessageAttachment:
    """The attachment for a Cloud API media ID, fetched and stored on first use.

    Raises MediaUnavailable (expired, failed, upstream) and ValueError (bad ID or timestamp).
    An existing attachment without a message is given ``message``; one that has a message keeps it.
    """
    media_id = validate_media_id(media_id)
    blob = _fetch(media_id, timestamp, use_cache)
    return _attach(media_id, blob, message=message, filename=filename, media_type=media_type)


def attachment_from_webhook_message(
    message_json: Mapping[str, Any], *, chat_id: str | None = None, use_cache: bool = True
) -> MessageAttachment:
    """One webhook ``messages[]`` entry → its inbound ``Message`` and the media's attachment.

    The media is fetched first: if it is unavailable nothing is written (MediaUnavailable).
    Delivering the same webhook twice returns the same message and attachment. ``chat_id``
    overrides the sender's ``from`` (e.g. to key conversations on your own IDs).
    """
    entry = parse_webhook_message(message_json)
    blob = _fetch(entry.media_id, entry.timestamp, use_cache)
    with transaction.atomic():
        message = _inbound_message(entry, chat_id)
        return _attach(
            entry.media_id,
            blob,
            message=message,
            filename=entry.filename,
            media_type="sticker" if entry.kind == "sticker" else None,
        )


def parse_webhook_message(message_json: Mapping[str, Any]) -> WebhookMedia:
    """Validate one webhook entry: ``{"from", "id", "timestamp", "type", "<type>": {"id", ...}}``."""
    if not isinstance(message_json, Mapping):
        raise ValueError("a webhook message must be a JSON object")
    kind = message_json.get("type")
    if kind not in MEDIA_MESSAGE_TYPES:
        raise NotMediaMessage(
            f"webhook message type {kind!r} carries no media (expected one of {', '.join(MEDIA_MESSAGE_TYPES)})"
        )
    media = message_json.get(kind)
    if not isinstance(media, Mapping) or not media.get("id"):
        raise ValueError(f"webhook {kind} message has no {kind}.id (the media id)")
    wamid = message_json.get("id")
    if not wamid:
        raise ValueError("webhook message has no id (the wamid)")
    timestamp = message_json.get("timestamp")
    timestamp = None if timestamp in (None, "") else str(timestamp)
    parse_timestamp(timestamp)  # refuse a bad one before any work is done
    return WebhookMedia(
        wamid=str(wamid),
        sender=str(message_json.get("from") or ""),
        timestamp=timestamp,
        kind=kind,
        media_id=validate_media_id(media["id"]),
        caption=str(media.get("caption") or ""),
        filename=media.get("filename") or None,
    )


def success_payload(attachment: MessageAttachment) -> dict[str, Any]:
    """The 200 JSON of ``GET /media?id=`` (and of ``fetch_whatsapp_media --json``)."""
    return {
        "status": "success",
        "media_hash": attachment.media_hash,
        "short_url": attachment.short_url,
        "mime_type": attachment.mime_type,
        "file_size": attachment.file_size,
        "sha256": attachment.sha256,
    }


def error_payload(reason: str) -> dict[str, str]:
    return {"status": "error", "reason": reason}


def _fetch(media_id: str, timestamp, use_cache: bool) -> Blob:
    result = download_media(media_id, timestamp, use_cache)
    if not result.ok:
        raise MediaUnavailable(media_id, result)
    return result.blob


def _attach(
    media_id: str, blob: Blob, *, message: Message | None, filename: str | None, media_type: str | None
) -> MessageAttachment:
    with transaction.atomic():
        # Lock the ID's row so two concurrent callers cannot both create an attachment.
        WhatsAppMedia.objects.select_for_update().filter(media_id=media_id).first()
        existing = (
            MessageAttachment.objects.filter(whatsapp_media_id=media_id, blob=blob).order_by("created_at", "pk").first()
        )
        if existing is not None:
            if message is not None and existing.message_id is None:
                existing.message = message
                existing.save(update_fields=["message"])
            return existing
        return MessageAttachment.objects.create(
            blob=blob,
            message=message,
            whatsapp_media_id=media_id,
            original_filename=filename_for(blob, filename),
            media_type=media_type or blob.media_type,
        )


def _inbound_message(entry: WebhookMedia, chat_id: str | None) -> Message:
    existing = (
        Message.objects.filter(external_id=entry.wamid, direction=Message.Direction.INBOUND).order_by("pk").first()
    )
    if existing is not None:
        return existing
    sent_at = parse_timestamp(entry.timestamp)
    fields: dict[str, Any] = {}
    if sent_at is not None:
        fields["created_at"] = datetime.fromtimestamp(sent_at, UTC)
    return Message.objects.create(
        external_id=entry.wamid,
        chat_id=chat_id or entry.sender,
        direction=Message.Direction.INBOUND,
        text=entry.caption,
        **fields,
    )
