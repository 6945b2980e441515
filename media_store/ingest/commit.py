"""Commit staged bytes to the store: one Blob row and one origin object per SHA-256.

Order matters for "nothing is lost": inside one transaction the Blob row is inserted first
(its primary key, the digest, makes concurrent ingests of the same bytes queue behind each
other), then the object is put to the origin. If the put fails the row rolls back; if the row
is there, the object is there. The only leftover a crash can cause is an origin object with no
row — harmless, and found by ``cleanup_media --orphans``.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone

from media_store import runtime
from media_store.conf import media_settings
from media_store.content.blobs import origin_key_for
from media_store.content.mediatypes import detect, image_dimensions
from media_store.exceptions import RejectedMedia, TierUnavailable
from media_store.ingest.staging import StagedFile
from media_store.models import Blob

logger = logging.getLogger("media_store.ingest.commit")


def staging_dir() -> Path:
    """Temp files live beside the disk tier so that adopting one is an atomic rename."""
    return Path(media_settings.MEDIA_CACHE_DIR) / ".tmp"


def new_staged_file(max_bytes: int | None = None) -> StagedFile:
    """A StagedFile beside the disk tier; in the system temp folder if the cache folder is unusable."""
    cap = media_settings.UPLOAD_MAX_BYTES if max_bytes is None else max_bytes
    try:
        return StagedFile(staging_dir(), cap)
    except OSError as error:
        logger.warning("media.staging_fallback dir=%s: %s; staging in the system temp folder", staging_dir(), error)
        return StagedFile(tempfile.gettempdir(), cap)


@contextmanager
def staged_copy(path: str | Path) -> Iterator[StagedFile]:
    """A local file copied into a StagedFile (hashed and capped on the way; the file stays)."""
    with new_staged_file() as staged, open(path, "rb") as source:
        staged.copy_from(source)
        yield staged


def store_file(path: str | Path, *, filename: str | None = None, declared_type: str | None = None) -> tuple[Blob, bool]:
    """Ingest a local file (the file itself is left in place)."""
    with staged_copy(path) as staged:
        return store_staged(staged, filename=filename or Path(path).name, declared_type=declared_type)


def store_staged(
    staged: StagedFile, *, filename: str | None = None, declared_type: str | None = None
) -> tuple[Blob, bool]:
    """Store staged content; returns ``(blob, created)``. Same bytes → same Blob, created=False."""
    digests = staged.finish()
    if digests.size == 0:
        raise RejectedMedia("the content is empty")
    store = runtime.get_store()
    try:
        blob, created = _commit(store, staged, digests, filename, declared_type)
    except IntegrityError:
        # Another process inserted the same digest between our check and our insert: its
        # row is committed now, so a second pass takes the dedup branch.
        blob, created = _commit(store, staged, digests, filename, declared_type)
    _warm_disk(store, blob, staged)
    logger.info("media.stored hash=%s size=%d type=%s new=%s", blob.sha256, blob.size, blob.mime_type, created)
    return blob, created


def _commit(store, staged: StagedFile, digests, filename: str | None, declared_type: str | None) -> tuple[Blob, bool]:
    with transaction.atomic():
        existing = Blob.objects.select_for_update().filter(sha256=digests.sha256).first()
        if existing is not None:
            _ensure_in_origin(store, existing, staged)
            return existing, False
        kind = detect(staged.head, declared_type, filename)
        dimensions = None
        if kind.media_type == "image":
            dimensions = image_dimensions(staged.path, media_settings.MEDIA_MAX_IMAGE_PIXELS)
        blob = Blob.objects.create(
            sha256=digests.sha256,
            md5=digests.md5,
            size=digests.size,
            mime_type=kind.mime_type,
            media_type=kind.media_type,
            extension=kind.extension,
            width=dimensions[0] if dimensions else None,
            height=dimensions[1] if dimensions else None,
            origin_key=origin_key_for(digests.sha256, media_settings.MEDIA_S3_PREFIX),
        )
        store.origin.put(blob.origin_key, staged.path, blob.mime_type, {"sha256": blob.sha256})
        return blob, True


def _ensure_in_origin(store, blob: Blob, staged: StagedFile) -> None:
    """Dedup hit: the row exists, but lifecycle or an operator may have removed the object."""
    if blob.expired_at is None and store.origin.head(blob.origin_key) == blob.size:
        return
    store.origin.put(blob.origin_key, staged.path, blob.mime_type, {"sha256": blob.sha256})
    if blob.expired_at is not None:
        blob.expired_at = None
        blob.save(update_fields=["expired_at"])
    logger.warning("media.restored hash=%s: origin object was missing, re-uploaded", blob.sha256)


def _warm_disk(store, blob: Blob, staged: StagedFile) -> None:
    """The staged file is verified content: moving it into the disk tier costs a rename."""
    if store.disk is None or staged.path is None or store.disk.contains(blob.info()):
        return
    try:
        store.disk.adopt(blob.info(), staged.path)
        staged.mark_adopted()
    except TierUnavailable:
        pass  # the disk tier's guard logged it; the origin has the content


def mark_expired(sha256: str) -> None:
    """The origin no longer has this content (S3 lifecycle, manual delete): remember it."""
    Blob.objects.filter(sha256=sha256, expired_at__isnull=True).update(expired_at=timezone.now())
