"""Ready-to-send payloads: what each sender needs to deliver an attachment through WhatsApp.

One choice per channel rule (COMPAT.md, "Sending media out"): the original when it already
complies, the right variant otherwise (``/media/<token>/<variant>.<ext>``, made on first
fetch), and ``CannotSend`` when nothing can fit (a 3-hour video in 16 MB). Every URL has an
extension and every fileName too: Evolution derives the MIME type from the fileName and turns
a name without extension into the mimetype ``"false"``.

Evolution API: ``evolution_send_media`` (``POST /message/sendMedia``), ``evolution_send_audio``
(``sendWhatsAppAudio``, with ``encoding: false`` — our voice.ogg already is what its ffmpeg
would make), ``evolution_send_sticker``. Cloud API: ``cloud_api_message`` (``audio`` with
``voice: true``, ``image``, ``video``, ``document``, ``sticker``). Each returns the request
body without the recipient (``number`` / ``to``), which the caller adds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from chat.models import MessageAttachment
from media_store.exceptions import VariantUnsupported
from media_store.variants.base import AUDIO_VIDEO_MAX_BYTES, DOCUMENT_MAX_BYTES, IMAGE_MAX_BYTES, ORIGINAL
from media_store.variants.service import plan_for

VOICE_MIMETYPE = "audio/ogg; codecs=opus"  # not audio/opus (Evolution issue #2030)
KINDS = ("voice", "audio", "image", "video", "document", "sticker")
VARIANT_FOR = {"voice": "voice.ogg", "audio": "audio.mp3", "image": "image.jpg", "video": "video.mp4",
               "sticker": "sticker.webp"}  # fmt: skip
CLOUD_AUDIO_TYPES = frozenset({"audio/mpeg", "audio/aac", "audio/amr"})


class CannotSend(ValueError):
    """No form of this attachment fits what the channel accepts; the message says why."""


@dataclass(frozen=True)
class Outgoing:
    """The form of an attachment to hand a sender."""

    kind: str  # voice | audio | image | video | document | sticker
    url: str  # always with an extension
    mimetype: str
    file_name: str  # always with an extension
    variant: str | None  # None: the original bytes


def choose(attachment: MessageAttachment, kind: str | None = None) -> Outgoing:
    """The original or the variant that ``kind`` (default: the attachment's media type) needs."""
    kind = kind or attachment.media_type or "document"
    if kind not in KINDS:
        raise CannotSend(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    if not attachment.short_url:
        raise CannotSend("the attachment has no short URL yet (run manage.py backfill_media_hashes)")
    blob = attachment.blob
    if blob.expired_at is not None:
        raise CannotSend("the attachment's content is gone from the store (expired)")
    if _original_complies(attachment, kind):
        mimetype = VOICE_MIMETYPE if kind == "voice" else blob.mime_type
        return Outgoing(kind, attachment.url_with_extension, mimetype, _file_name(attachment, blob.extension), None)
    if kind == "document":
        raise CannotSend(f"a {blob.size} B document is over WhatsApp's {DOCUMENT_MAX_BYTES} B limit")
    name = VARIANT_FOR[kind]
    try:
        plan = plan_for(blob, name)
    except VariantUnsupported as error:
        raise CannotSend(f"cannot send as {kind}: {error}") from None
    if plan is ORIGINAL:  # the recipe accepts the original for this variant
        return Outgoing(kind, attachment.url_with_extension, _mimetype(kind, blob.mime_type),
                        _file_name(attachment, blob.extension), None)  # fmt: skip
    suffix = PurePath(name).suffix
    mimetype = _mimetype(kind, {".ogg": "audio/ogg", ".mp3": "audio/mpeg", ".mp4": "video/mp4",
                                ".jpg": "image/jpeg", ".webp": "image/webp"}[suffix])  # fmt: skip
    return Outgoing(kind, f"{attachment.short_url}/{name}", mimetype, _file_name(attachment, suffix), name)


def _original_complies(attachment: MessageAttachment, kind: str) -> bool:
    """Channel rules that are wider than a variant's (any JPEG or PNG is a valid image, …)."""
    blob = attachment.blob
    meta = blob.metadata or {}
    if kind == "document":
        return blob.size <= DOCUMENT_MAX_BYTES
    if kind == "image":
        return blob.mime_type in ("image/jpeg", "image/png") and blob.size <= IMAGE_MAX_BYTES
    if kind == "audio":
        if blob.size > AUDIO_VIDEO_MAX_BYTES or meta.get("has_video"):
            return False
        codec = (meta.get("audio") or {}).get("codec")
        if blob.mime_type == "audio/mp4":  # M4A: AAC, and readable from a pipe (moov first)
            return codec == "aac" and bool(meta.get("streamable"))
        if blob.mime_type == "audio/ogg":
            return codec == "opus"
        return blob.mime_type in CLOUD_AUDIO_TYPES and bool(meta)
    return False  # voice, video, sticker: the variant's recipe decides (it knows "ORIGINAL")


def _mimetype(kind: str, mime_type: str) -> str:
    return VOICE_MIMETYPE if kind == "voice" else mime_type


def _file_name(attachment: MessageAttachment, extension: str) -> str:
    stem = PurePath(attachment.original_filename or "").stem or f"{attachment.media_type}-{attachment.sha256[:12]}"
    return f"{stem}{extension}"


# -- Evolution API (Baileys channel) ------------------------------------------------------------
def evolution_send_media(attachment: MessageAttachment, *, caption: str | None = None) -> dict[str, Any]:
    """Body of ``POST /message/sendMedia/{instance}`` (add ``number``). Stickers go as images
    here; use ``evolution_send_sticker`` to send a sticker."""
    kind = {"sticker": "image"}.get(attachment.media_type, attachment.media_type)
    kind = kind if kind in ("image", "video", "audio", "document") else "document"
    chosen = choose(attachment, kind)
    body = {"mediatype": kind, "mimetype": chosen.mimetype, "media": chosen.url, "fileName": chosen.file_name}
    if caption:
        body["caption"] = caption
    return body


def evolution_send_audio(attachment: MessageAttachment) -> dict[str, Any]:
    """Body of ``POST /message/sendWhatsAppAudio/{instance}``: a voice note (push-to-talk).

    ``encoding: false`` because the URL is an OGG/Opus mono 48 kHz voice note already: Evolution
    sends it to WhatsApp as it is instead of piping it through its own ffmpeg.
    """
    chosen = choose(attachment, "voice")
    return {"audio": chosen.url, "encoding": False}


def evolution_send_sticker(attachment: MessageAttachment) -> dict[str, Any]:
    """Body of ``POST /message/sendSticker/{instance}``: a 512×512 WebP (the URL ends in .webp)."""
    return {"sticker": choose(attachment, "sticker").url}


# -- WhatsApp Cloud API -------------------------------------------------------------------------
def cloud_api_message(
    attachment: MessageAttachment, kind: str | None = None, *, caption: str | None = None
) -> dict[str, Any]:
    """A Cloud API ``/messages`` body (add ``to``). ``kind``: voice, audio, image, video,
    document or sticker (default: the attachment's media type; audio defaults to a voice note)."""
    kind = kind or ("voice" if attachment.media_type == "audio" else attachment.media_type or "document")
    chosen = choose(attachment, kind)
    media: dict[str, Any] = {"link": chosen.url}
    message_type = "audio" if kind == "voice" else kind
    if kind == "voice":
        media["voice"] = True
    if kind == "document":
        media["filename"] = chosen.file_name
    if caption and kind in ("image", "video", "document"):
        media["caption"] = caption
    return {"messaging_product": "whatsapp", "type": message_type, message_type: media}
