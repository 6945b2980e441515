"""Commit staged bytes to the store: one Blob row and one origin object per SHA-256.

Order matters for "nothing is lost": the object is put to the origin first, outside any
database transaction (a 100 MB PUT must not hold SQLite's write lock or an idle PostgreSQL
transaction), then the Blob row is inserted in a short transaction. If the put fails there is
no row; if the row is there, the object is there. The only leftover a crash can cause is an
origin object with no row — harmless, and removed by ``cleanup_media --orphans``. Ingests of
the same bytes, and the orphan sweep, queue on one per-digest lock (``content_lock``).
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone

from media_store import runtime
from media_store.conf import media_settings
from media_store.content.analysis import Analysis, analyse
from media_store.content.blobs import origin_key_for
from media_store.content.mediatypes import detect, image_dimensions
from media_store.exceptions import RejectedMedia, TierUnavailable
from media_store.ingest.content_lock import content_lock
from media_store.ingest.staging import StagedFile
from media_store.models import Blob
from media_store.tiers.origin import StoredObject

REFRESH_AFTER_SECONDS = 86400.0  # a dedup hit on an object older than this restarts its age
clock = time.time  # looked up at call time (tests move it)

logger = logging.getLogger("media_store.ingest.commit")


def staging_dir() -> Path:
    """Temp files live beside the disk tier so that adopting one is an atomic rename."""
    return Path(media_settings.MEDIA_CACHE_DIR) / ".tmp"


def new_staged_file(max_bytes: int | None = None) -> StagedFile:
    """A StagedFile beside the disk tier; in the system temp folder if the cache folder is
    unusable or has less room than the content may need (a full cache disk must not fail an
    ingest: the staged file then simply is not adopted by the disk tier)."""
    cap = media_settings.UPLOAD_MAX_BYTES if max_bytes is None else max_bytes
    try:
        _require_room(staging_dir(), cap)
        return StagedFile(staging_dir(), cap)
    except OSError as error:
        logger.warning("media.staging_fallback dir=%s: %s; staging in the system temp folder", staging_dir(), error)
        return StagedFile(tempfile.gettempdir(), cap)


def _require_room(folder: Path, needed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    if free < needed:
        raise OSError(errno.ENOSPC, f"{free} bytes free, up to {needed} may be needed")


@contextmanager
def staged_copy(path: str | Path) -> Iterator[StagedFile]:
    """A local file copied into a StagedFile (hashed and capped on the way; the file stays)."""
    with new_staged_file() as staged, open(path, "rb") as source:
        staged.copy_from(source)
        yield staged


def store_file(
    path: str | Path, *, filename: str | None = None, declared_type: str | None = None, eager_variants: bool = True
) -> tuple[Blob, bool]:
    """Ingest a local file (the file itself is left in place)."""
    with staged_copy(path) as staged:
        return store_staged(
            staged, filename=filename or Path(path).name, declared_type=declared_type, eager_variants=eager_variants
        )


def store_staged(
    staged: StagedFile,
    *,
    filename: str | None = None,
    declared_type: str | None = None,
    eager_variants: bool = True,
) -> tuple[Blob, bool]:
    """Store staged content; returns ``(blob, created)``. Same bytes → same Blob, created=False.

    New content is analysed first (ffprobe/Pillow, outside the transaction; a failure is
    recorded, never raised) and, with ``MEDIA_VARIANTS_EAGER``, its variants are queued once
    the row is committed (``eager_variants=False`` for content that is itself a variant).
    """
    with committing(staged, filename=filename, declared_type=declared_type, eager_variants=eager_variants) as result:
        return result


@contextmanager
def committing(
    staged: StagedFile,
    *,
    filename: str | None = None,
    declared_type: str | None = None,
    eager_variants: bool = True,
) -> Iterator[tuple[Blob, bool]]:
    """Store staged content and yield ``(blob, created)`` inside the short transaction that
    holds its row, so the caller's own rows (an attachment, a source URL) commit with it.

    The origin PUT (up to ``UPLOAD_MAX_BYTES``) runs first and outside any transaction — it
    must not hold SQLite's write lock or keep a PostgreSQL connection idle in a transaction;
    the row follows in a short transaction. The key is derived from the content, so the PUT is
    idempotent; a failure between the two leaves an object without a row, which the orphan
    sweep removes — never a row without an object. Both steps hold ``content_lock``, which the
    sweep takes too, so it cannot delete the object between our PUT and our row.
    """
    digests = staged.finish()
    if digests.size == 0:
        raise RejectedMedia("the content is empty")
    store = runtime.get_store()
    with content_lock(digests.sha256):
        blob = Blob.objects.filter(sha256=digests.sha256).first()
        created = blob is None
        if blob is None:
            blob = _new_blob(staged, digests, filename, declared_type)
            store.origin.put(blob.origin_key, staged.path, blob.mime_type, {"sha256": blob.sha256})
        else:
            _ensure_in_origin(store, blob, staged)
        with transaction.atomic():
            if created:
                blob, created = _insert(blob)
            yield blob, created
    _warm_disk(store, blob, staged)
    if created and eager_variants and media_settings.MEDIA_VARIANTS_EAGER:
        from media_store.variants.eager import schedule

        schedule(blob)
    logger.info("media.stored hash=%s size=%d type=%s new=%s", blob.sha256, blob.size, blob.mime_type, created)


def _new_blob(staged: StagedFile, digests, filename: str | None, declared_type: str | None) -> Blob:
    """The row for new content, not saved yet (type, dimensions and analysis come from the bytes)."""
    kind = detect(staged.head, declared_type, filename)
    dimensions = None
    if kind.media_type == "image":
        dimensions = image_dimensions(staged.path, media_settings.MEDIA_MAX_IMAGE_PIXELS)
    analysis: Analysis = analyse(staged.path, kind.media_type)
    return Blob(
        sha256=digests.sha256,
        md5=digests.md5,
        size=digests.size,
        mime_type=kind.mime_type,
        media_type=kind.media_type,
        extension=kind.extension,
        width=dimensions[0] if dimensions else None,
        height=dimensions[1] if dimensions else None,
        origin_key=origin_key_for(digests.sha256, media_settings.MEDIA_S3_PREFIX),
        **analysis.fields(),
    )


def _insert(blob: Blob) -> tuple[Blob, bool]:
    try:
        with transaction.atomic():
            blob.save(force_insert=True)
        return blob, True
    except IntegrityError:
        # Inserted meanwhile by an ingest the content lock did not serialise us with (a second
        # SQLite lock folder, say): its row and our object are the same content, so use its row.
        return Blob.objects.get(pk=blob.sha256), False


def _ensure_in_origin(store, blob: Blob, staged: StagedFile) -> None:
    """Dedup hit: the row exists, but lifecycle or an operator may have removed the object —
    and if it is there, its age must restart now (see ``refresh_if_aging``)."""
    found = store.origin.stat(blob.origin_key)
    if blob.expired_at is None and found is not None and found.size == blob.size:
        refresh_if_aging(store.origin, blob, found)
        return
    store.origin.put(blob.origin_key, staged.path, blob.mime_type, {"sha256": blob.sha256})
    if blob.expired_at is not None:
        blob.expired_at = None
        blob.save(update_fields=["expired_at"])
    logger.warning("media.restored hash=%s: origin object was missing, re-uploaded", blob.sha256)


def refresh_if_aging(origin, blob: Blob, found: StoredObject) -> bool:
    """Restart the object's age when new use arrives for old content (True if it did).

    ``apply_s3_lifecycle`` expires objects ``MEDIA_S3_RETENTION_DAYS`` after they were last
    written. Without this, an attachment created today for bytes first stored 29 days ago
    would answer 404 tomorrow. A server-side copy of the object onto itself (``touch``) makes
    its age count from now; done at most once per ``REFRESH_AFTER_SECONDS`` per content, so a
    popular forwarded image costs one copy a day, not one per attachment.
    """
    if clock() - found.modified < REFRESH_AFTER_SECONDS:
        return False
    origin.touch(blob.origin_key)
    logger.info(
        "media.refreshed hash=%s age_days=%.1f: origin object age restarted",
        blob.sha256,
        (clock() - found.modified) / 86400,
    )
    return True


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
