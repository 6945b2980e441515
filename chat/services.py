"""Creating attachments from incoming content: the one place chat calls the engine's ingest."""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePath

from django.db import transaction

from chat.models import Message, MessageAttachment
from media_store.ingest.commit import staged_copy, store_staged
from media_store.ingest.staging import StagedFile
from media_store.models import Blob


def attach_staged(
    staged: StagedFile,
    *,
    filename: str | None = None,
    declared_type: str | None = None,
    media_type: str | None = None,
    message: Message | None = None,
) -> MessageAttachment:
    """Store staged bytes (deduplicated by SHA-256) and create an attachment for them.

    One transaction: if the attachment cannot be created, the blob row is not left behind.
    """
    with transaction.atomic():
        blob, _created = store_staged(staged, filename=filename, declared_type=declared_type)
        return attach_blob(blob, filename=filename, media_type=media_type, message=message)


def attach_file(path: str | Path, *, filename: str | None = None, message: Message | None = None) -> MessageAttachment:
    """Ingest a local file (left in place) as a new attachment."""
    with staged_copy(path) as staged:
        return attach_staged(staged, filename=filename or Path(path).name, message=message)


def attach_blob(
    blob: Blob, *, filename: str | None = None, media_type: str | None = None, message: Message | None = None
) -> MessageAttachment:
    return MessageAttachment.objects.create(
        blob=blob,
        message=message,
        original_filename=filename_for(blob, filename),
        media_type=media_type or blob.media_type,
    )


def filename_for(blob: Blob, filename: str | None) -> str:
    """A file name whose extension matches the content.

    Gateways (Evolution API) derive the MIME type from the file name they are given, so a
    voice note called ``voice`` or a PNG called ``photo.bin`` would be sent as the wrong type.
    """
    name = PurePath((filename or "").replace("\\", "/")).name.strip()[:200]  # Windows paths too
    if not name:
        return f"{blob.media_type}-{blob.sha256[:12]}{blob.extension}"
    path = PurePath(name)
    if path.suffix.lower() == blob.extension or mimetypes.guess_type(name)[0] == blob.mime_type:
        return name
    return f"{path.stem or blob.media_type}{blob.extension}"
