"""Keep the disk tier within its limits, and find origin objects nothing refers to.

Disk cleanup, in order:
1. stale temp files (``.tmp/``, untouched for an hour: a crashed fill or upload);
2. files not used for ``MEDIA_CACHE_DAYS`` — by last use, not by creation: the tier records
   disk reads in atime, and hits answered from Redis or a worker's memory too (rate-limited,
   ``DiskTier.note_use``), so a popular object's disk copy never looks idle;
3. least-recently-used files until the tier is under ``MEDIA_DISK_MAX_BYTES``;
4. empty folders.
The byte limit is also enforced at write time by each node (``tiers.disk_budget``), and
each node runs this cleanup on its own disk periodically (``ops.sweeper``); this function is
what they, ``cleanup_media``, the beat task and ``POST /media/cleanup`` call — each cleans the
disk of the machine it runs on.
A file that is being served is never removed: readers hold a shared ``flock`` while a file is
open and removal needs the exclusive lock (``tiers.disk_budget.remove_if_idle``). Files being written
live in ``.tmp/`` until they are complete, and fresh temp files are left alone.

Orphans (``--orphans``): origin objects with no Blob row, and Blobs no other row refers to
(no attachment, no WhatsApp ID, no source URL), older than a day so an ingest in progress is
never mistaken for one.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from media_store import runtime
from media_store.conf import media_settings
from media_store.content.mediatypes import DISK_FOLDERS
from media_store.ingest.content_lock import content_lock
from media_store.models import Blob
from media_store.tiers.disk_budget import TEMP_DIR, CachedFile, cached_files, remove_if_idle

logger = logging.getLogger("media_store.ops.cleanup")

STALE_TEMP_SECONDS = 3600
ORPHAN_GRACE = timedelta(days=1)
TYPE_FOLDERS = frozenset(DISK_FOLDERS.values())
DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass
class CleanupReport:
    removed_files: int = 0
    freed_bytes: int = 0
    expired_files: int = 0  # not read for `days`
    evicted_files: int = 0  # least recently used, over `max_bytes`
    temp_files: int = 0
    empty_folders: int = 0
    skipped_in_use: int = 0
    kept_files: int = 0
    kept_bytes: int = 0
    orphans: list[str] = field(default_factory=list)
    orphan_bytes: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def clean_disk(
    *,
    days: float | None = None,
    max_bytes: int | None = None,
    dry_run: bool = False,
    orphans: bool = False,
    now: float | None = None,
) -> CleanupReport:
    """Apply the disk-tier limits (defaults from settings); see the module docstring."""
    days = media_settings.MEDIA_CACHE_DAYS if days is None else days
    max_bytes = media_settings.MEDIA_DISK_MAX_BYTES if max_bytes is None else max_bytes
    if days < 0 or max_bytes < 0:
        raise ValueError("days and max bytes must not be negative")
    now = time.time() if now is None else now
    root = Path(media_settings.MEDIA_CACHE_DIR)
    report = CleanupReport(dry_run=dry_run)
    _remove_stale_temp_files(root, now, report)
    files = sorted(cached_files(root), key=lambda item: item.last_access)
    cutoff = now - days * 86400
    kept: list[CachedFile] = []
    for item in files:
        if item.last_access < cutoff and _remove(item, report, dry_run):
            report.expired_files += 1
            continue
        kept.append(item)
    total = sum(item.size for item in kept)
    survivors: list[CachedFile] = []
    for item in kept:  # oldest access first
        if total > max_bytes and _remove(item, report, dry_run):
            report.evicted_files += 1
            total -= item.size
            continue
        survivors.append(item)
    report.kept_files, report.kept_bytes = len(survivors), sum(item.size for item in survivors)
    if not dry_run:
        report.empty_folders = _remove_empty_folders(root)
    if orphans:
        delete_orphans(report, dry_run=dry_run)
    logger.info(
        "media.cleanup removed=%d freed=%d expired=%d evicted=%d temp=%d in_use=%d dry_run=%s",
        report.removed_files,
        report.freed_bytes,
        report.expired_files,
        report.evicted_files,
        report.temp_files,
        report.skipped_in_use,
        dry_run,
    )
    return report


def _remove(item: CachedFile, report: CleanupReport, dry_run: bool) -> bool:
    """Remove one cached file; False when it is in use (kept). A file already gone is "removed"."""
    if not dry_run and not remove_if_idle(item.path):
        if item.path.exists():
            report.skipped_in_use += 1
            return False
        return True  # removed by someone else meanwhile: not ours to count
    report.removed_files += 1
    report.freed_bytes += item.size
    return True


def _remove_stale_temp_files(root: Path, now: float, report: CleanupReport) -> None:
    temp = root / TEMP_DIR
    if not temp.is_dir():
        return
    for path in temp.iterdir():
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if path.is_file() and stat.st_mtime < now - STALE_TEMP_SECONDS:
            if not report.dry_run:
                path.unlink(missing_ok=True)
            report.temp_files += 1
            report.removed_files += 1
            report.freed_bytes += stat.st_size


def _remove_empty_folders(root: Path) -> int:
    removed = 0
    for dirpath, _dirs, _files in os.walk(root, topdown=False):
        path = Path(dirpath)
        if path == root or (path.parent == root and path.name in TYPE_FOLDERS | {TEMP_DIR}):
            continue
        if not any(path.iterdir()):  # children removed on the way up count as gone
            try:
                path.rmdir()
                removed += 1
            except OSError:  # something was written into it meanwhile
                continue
    return removed


# -- origin orphans ------------------------------------------------------------------------


def unreferenced_blobs(older_than: timedelta = ORPHAN_GRACE):
    """Blobs that no row of any app points to (attachments, WhatsApp IDs, source URLs, …)."""
    queryset = Blob.objects.filter(created_at__lt=timezone.now() - older_than)
    for relation in Blob._meta.related_objects:
        queryset = queryset.filter(**{f"{relation.name}__isnull": True})  # one row per blob: no DISTINCT needed
    return queryset


def delete_orphans(report: CleanupReport, *, dry_run: bool) -> None:
    """Unreferenced blobs (row + object + cached copies), then objects that have no row at all."""
    store = runtime.get_store()
    for sha256 in list(unreferenced_blobs().values_list("sha256", flat=True)):
        blob = Blob.objects.get(pk=sha256) if dry_run else _delete_if_still_unreferenced(store, sha256)
        if blob is not None:
            report.orphans.append(blob.origin_key)
            report.orphan_bytes += blob.size
    cutoff = time.time() - ORPHAN_GRACE.total_seconds()
    old_objects = (item for item in store.origin.iter_objects(media_settings.MEDIA_S3_PREFIX) if item.modified < cutoff)
    for batch in _batches(old_objects, 1000):
        # rows looked up per batch by digest (the primary key): an index lookup, constant memory
        digests = {item.key: digest_of(item.key) for item in batch}
        known = set(Blob.objects.filter(pk__in={d for d in digests.values() if d}).values_list("pk", flat=True))
        for item in batch:
            if digests[item.key] in known:
                continue
            if dry_run or _delete_if_still_orphaned(store, item, digests[item.key], cutoff):
                report.orphans.append(item.key)
                report.orphan_bytes += item.size


def digest_of(key: str) -> str | None:
    """The SHA-256 an origin key is named by (``<prefix><xx>/<sha256>``), or None for other names."""
    name = key.rsplit("/", 1)[-1]
    return name if DIGEST.fullmatch(name) else None


def _delete_if_still_orphaned(store, item, sha256: str | None, cutoff: float) -> bool:
    """Delete one rowless object, unless an ingest of the same bytes has claimed it since listing.

    Ingest uploads the object first and inserts the row after, both under ``content_lock``;
    the sweep re-checks under the same lock (without waiting: a held lock means an ingest is
    running, so the object is live). Under the lock: no row and still the old object → delete.
    """
    if sha256 is None:  # not named by a digest: only a row with exactly this key keeps it
        if Blob.objects.filter(origin_key=item.key).exists():
            return False
        store.origin.delete(item.key)
        return True
    with content_lock(sha256, wait=False) as held:
        if not held or Blob.objects.filter(pk=sha256).exists():
            return False
        now = store.origin.stat(item.key)
        if now is None or now.modified >= cutoff:  # gone already, or re-uploaded meanwhile
            return False
        store.origin.delete(item.key)
        return True


def _delete_if_still_unreferenced(store, sha256: str) -> Blob | None:
    """Delete one orphan blob, unless an ingest adopted it since the sweep listed it.

    Taken under ``content_lock`` (without waiting), with the row locked and re-checked: an
    ingest that deduplicates onto this blob holds the same lock until its attachment row is
    committed (``ingest.commit.committing``), so it either ran before — and the re-check sees
    its reference — or runs after, finds the row gone, and stores the content anew. The object
    is deleted before the row: if that fails, the row stays.
    """
    with content_lock(sha256, wait=False) as held, transaction.atomic():
        if not held:
            return None
        blob = Blob.objects.select_for_update().filter(pk=sha256).first()
        if blob is None or not unreferenced_blobs().filter(pk=sha256).exists():
            return None
        store.origin.delete(blob.origin_key)
        store.evict(blob.info())
        blob.delete()
    return blob


def _batches(items, size: int):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
