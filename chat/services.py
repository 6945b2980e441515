"""Creating attachments from incoming content: the one place chat calls the engine's ingest."""

from __future__ import annotations

import mimetypes
import unicodedata
from collections.abc import Callable
from pathlib import Path, PurePath

from django.db import transaction

from chat.models import Message, MessageAttachment
from media_store.ingest.commit import committing, staged_copy
from media_store.ingest.staging import StagedFile
from media_store.models import Blob

OnCreated = Callable[[MessageAttachment], None]


def attach_staged(
    staged: StagedFile,
    *,
    filename: str | None = None,
    declared_type: str | None = None,
    media_type: str | None = None,
    message: Message | None = None,
    on_created: OnCreated | None = None,
) -> MessageAttachment:
    """Store staged bytes (deduplicated by SHA-256) and create an attachment for them.

    The attachment is created in the blob row's short transaction: if it cannot be created,
    the row is not left behind (the object, uploaded before, is then an orphan the sweep removes).
    """
    with committing(staged, filename=filename, declared_type=declared_type) as (blob, _created):
        return attach_blob(blob, filename=filename, media_type=media_type, message=message, on_created=on_created)


def attach_file(path: str | Path, *, filename: str | None = None, message: Message | None = None) -> MessageAttachment:
    """Ingest a local file (left in place) as a new attachment."""
    with staged_copy(path) as staged:
        return attach_staged(staged, filename=filename or Path(path).name, message=message)


def attach_blob(
    blob: Blob,
    *,
    filename: str | None = None,
    media_type: str | None = None,
    message: Message | None = None,
    on_created: OnCreated | None = None,
) -> MessageAttachment:
    """A new attachment for stored content. ``on_created(attachment)`` runs in the transaction
    that inserts it: what must commit with the attachment or not at all (an idempotency key)."""
    with transaction.atomic():
        attachment = MessageAttachment.objects.create(
            blob=blob,
            message=message,
            original_filename=filename_for(blob, filename),
            media_type=media_type or blob.media_type,
        )
        if on_created is not None:
            on_created(attachment)
    return attachment


def filename_for(blob: Blob, filename: str | None) -> str:
    """A file name whose extension matches the content.

    Gateways (Evolution API) derive the MIME type from the file name they are given, so a
    voice note called ``voice`` or a PNG called ``photo.bin`` would be sent as the wrong type.
    """
    printable = "".join(char for char in (filename or "") if not _unprintable(char))  # no CR/LF/ESC/bidi
    name = PurePath(printable.replace("\\", "/")).name.strip()[:200]  # Windows paths too
    if not name:
        return f"{blob.media_type}-{blob.sha256[:12]}{blob.extension}"
    path = PurePath(name)
    if path.suffix.lower() == blob.extension or mimetypes.guess_type(name)[0] == blob.mime_type:
        return name
    return f"{path.stem or blob.media_type}{blob.extension}"


def _unprintable(char: str) -> bool:
    """Control, format and separator characters: they would forge log lines or headers downstream."""
    category = unicodedata.category(char)
    return category[0] == "C" or category in ("Zl", "Zp")
