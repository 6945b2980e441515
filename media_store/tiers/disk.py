"""The warm tier: files under ``MEDIA_CACHE_DIR``, laid out by type and named by digest.

Writes go to ``.tmp/`` and are renamed into place, so a reader never sees half a file.
A file is hashed once per process before it is first served; after that its
(size, mtime, inode) signature stands in for the hash, and any change to it triggers a
re-hash. A file that fails the check is deleted and never served.

A failing disk is a skipped tier, never an error for the client: every OS error of the tier
(disk full, I/O error, permissions, a read-only remount) becomes ``TierUnavailable``, logged at
most once per interval by the tier's guard (``media.degraded tier=disk``), and the store serves
from memory or streams from the origin instead. With a byte budget (``MEDIA_DISK_MAX_BYTES``)
each write first evicts least-recently-used files (``disk_budget``).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from cachetools import LRUCache

from media_store.content.blobs import BlobInfo
from media_store.content.digests import DigestCheck, sha256_file
from media_store.content.mediatypes import DISK_FOLDERS
from media_store.exceptions import DigestMismatch, TierUnavailable
from media_store.tiers.disk_budget import TEMP_DIR, DiskBudget, remove_if_idle, share_lock
from media_store.tiers.guard import OutageGuard

__all__ = ["TEMP_DIR", "DiskTier", "remove_if_idle", "signature"]

logger = logging.getLogger("media_store.disk")

FOLDER_TYPES = {folder: kind for kind, folder in DISK_FOLDERS.items() if kind != "sticker"}  # folder → type
ACCESS_TOUCH_SECONDS = 60  # record a use in atime at most this often per process (LRU eviction uses it)


def signature(stat: os.stat_result) -> tuple[int, int, int]:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


class DiskTier:
    name = "disk"

    def __init__(
        self,
        root: str | Path,
        *,
        guard: OutageGuard | None = None,
        max_verified: int = 100_000,
        max_bytes: int | None = None,
    ) -> None:
        self.root = Path(root)
        self._root = str(self.root)
        self.guard = guard
        self.budget = DiskBudget(self.root, max_bytes) if max_bytes is not None else None
        self._verified: LRUCache[str, tuple[int, int, int]] = LRUCache(maxsize=max_verified)
        # path -> when its use was last recorded; a plain dict, read without a lock on every hit
        self._touched: dict[str, float] = {}
        self._max_touched = max_verified
        self._lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------
    def path(self, blob: BlobInfo) -> Path:
        return self.root / blob.disk_name

    def open(self, blob: BlobInfo) -> BinaryIO | None:
        """The verified file opened for reading, or None when absent (or found corrupt)."""
        path = os.path.join(self._root, blob.disk_name)  # a str: this runs on every disk hit
        try:
            file = open(path, "rb")  # noqa: SIM115 (the caller owns and closes it)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise self._unavailable(error) from error
        try:
            if not share_lock(file):  # cleanup is removing it this very moment
                file.close()
                return None
            stat = os.fstat(file.fileno())
            if not self._is_verified(blob, path, stat):
                file.close()
                return None
            self._touch(file, path, stat)
            return file
        except OSError as error:  # fstat, or reading the file to verify it: an I/O error
            file.close()
            raise self._unavailable(error) from error
        except BaseException:
            file.close()
            raise

    def contains(self, blob: BlobInfo) -> bool:
        """Cheap presence check (size must match); content is verified when served."""
        try:
            return self.path(blob).stat().st_size == blob.size
        except OSError:
            return False

    # -- writing ---------------------------------------------------------------------------
    def write_bytes(self, blob: BlobInfo, data: bytes) -> None:
        """Store verified bytes atomically."""
        self.write_chunks(blob, [data], verified=True)

    def write_chunks(self, blob: BlobInfo, chunks: Iterable[bytes], *, verified: bool = False) -> Path:
        """Stream chunks to a temp file and rename it into place.

        Unless the caller already verified the bytes, they are hashed on the way and a
        mismatch raises DigestMismatch (the temp file is removed, nothing is installed).
        Every OS error of the tier itself (disk full, I/O error, read-only remount) becomes
        ``TierUnavailable`` and the partial temp file is removed; an error raised by ``chunks``
        (the origin failing mid-stream) passes through unchanged.
        """
        self._make_room(blob)
        check = None if verified else DigestCheck(blob.sha256)
        temp = self._temp_file()
        try:
            try:
                for chunk in chunks:
                    if check is not None:
                        check.update(chunk)
                    self._write(temp, chunk)
            finally:
                self._close(temp)
            if check is not None and not check.matches:
                raise DigestMismatch(f"content for {blob.sha256}: {check.mismatch()}")
            return self._install(blob, Path(temp.name))
        except BaseException:
            _unlink_quietly(temp.name)
            raise

    def adopt(self, blob: BlobInfo, verified_path: str | Path) -> Path:
        """Move an already-verified temp file (e.g. a fresh upload) into the tier."""
        self._make_room(blob)
        return self._install(blob, Path(verified_path))

    def delete(self, blob: BlobInfo) -> bool:
        path = self.path(blob)
        with self._lock:
            self._verified.pop(str(path), None)
        try:
            removed = _unlink(path)
        except OSError as error:
            raise self._unavailable(error) from error
        if removed and self.budget is not None:
            self.budget.forget(blob.size)
        return removed

    def note_use(self, blob: BlobInfo) -> None:
        """A hit served from memory or Redis: record it on the disk copy too (rate-limited).

        Without this a hot object's disk copy looks idle and is the first one evicted — and
        comes back from the origin as soon as its Redis copy expires. Never raises.
        """
        path = os.path.join(self._root, blob.disk_name)
        now = time.time()
        if now - self._touched.get(path, 0.0) < ACCESS_TOUCH_SECONDS:  # the common case: no lock
            return
        self._remember_touch(path, now)
        try:
            stat = os.stat(path)
            os.utime(path, ns=(time.time_ns(), stat.st_mtime_ns))  # mtime is part of the signature
        except OSError as error:  # no disk copy (yet), or a read-only disk: nothing to record
            logger.debug("media.use_not_recorded path=%s: %s", path, error)

    def usage(self) -> dict[str, dict[str, int]]:
        """Files and bytes per media type (``image``/``video``/``audio``/``document``), temp files excluded."""
        report = {}
        for folder, media_type in FOLDER_TYPES.items():
            count = size = 0
            base = self.root / folder
            try:
                entries = list(os.scandir(base)) if base.is_dir() else []
            except OSError as error:  # a failing disk: report what can be read
                logger.debug("media.usage_unreadable path=%s: %s", base, error)
                entries = []
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False):
                        size += entry.stat(follow_symlinks=False).st_size
                        count += 1
                except OSError:  # removed by cleanup while we counted, or unreadable
                    continue
            report[media_type] = {"count": count, "size": size}
        return report

    def temp_dir(self) -> Path:
        path = self.root / TEMP_DIR
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _make_room(self, blob: BlobInfo) -> None:
        if self.budget is None:
            return
        try:
            self.budget.make_room(blob.size)
        except OSError as error:
            raise self._unavailable(error) from error

    def _write(self, temp, chunk: bytes) -> None:
        try:
            temp.write(chunk)
        except OSError as error:  # ENOSPC, EIO, EFBIG …
            raise self._unavailable(error) from error

    def _close(self, temp) -> None:
        try:
            temp.close()  # flushes the last buffered bytes: may be where ENOSPC shows up
        except OSError as error:
            raise self._unavailable(error) from error

    # -- internals -------------------------------------------------------------------------
    def _unavailable(self, error: OSError) -> TierUnavailable:
        """Log (rate-limited by the guard) and wrap an OS error: disk full, permissions, I/O."""
        if self.guard is not None:
            self.guard.record_failure(error)
        return TierUnavailable(f"disk: {error}")

    def _temp_file(self):
        try:
            return tempfile.NamedTemporaryFile(dir=self.temp_dir(), prefix="fill-", delete=False)  # noqa: SIM115
        except OSError as error:
            raise self._unavailable(error) from error

    def _remember_touch(self, key: str, now: float) -> None:
        with self._lock:
            if len(self._touched) >= self._max_touched:
                self._touched.clear()  # bounded; the worst case is one extra utime per file
            self._touched[key] = now

    def _install(self, blob: BlobInfo, temp_path: Path) -> Path:
        final = self.path(blob)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(temp_path, 0o644)
            os.replace(temp_path, final)
            stat = final.stat()
        except OSError as error:
            _unlink(temp_path)
            raise self._unavailable(error) from error
        if stat.st_size == blob.size:
            with self._lock:
                self._verified[str(final)] = signature(stat)
        return final

    def _is_verified(self, blob: BlobInfo, path: str | Path, stat: os.stat_result) -> bool:
        key = str(path)
        with self._lock:
            known = self._verified.get(key)
        if known == signature(stat):
            return True
        if stat.st_size == blob.size and sha256_file(path) == blob.sha256:
            with self._lock:
                self._verified[key] = signature(stat)
            return True
        logger.error("media.corrupt tier=disk hash=%s path=%s: removed, will re-fill", blob.sha256, path)
        self.delete(blob)
        return False

    def _touch(self, file: BinaryIO, path: str | Path, stat: os.stat_result) -> None:
        """Record the read in atime (mtime untouched: it is part of the verified signature).

        Done through the open descriptor, so a file replaced at ``path`` meanwhile is not touched.
        """
        now = time.time()
        key = str(path)
        if now - self._touched.get(key, 0.0) < ACCESS_TOUCH_SECONDS:
            return
        self._remember_touch(key, now)
        try:
            os.utime(file.fileno(), ns=(time.time_ns(), stat.st_mtime_ns))
        except OSError as error:  # a read-only or vanished file still serves
            logger.debug("media.atime_not_recorded path=%s: %s", path, error)


def _unlink(path: str | Path) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def _unlink_quietly(path: str | Path) -> None:
    """Remove a temp file after a failed write; a failing disk must not mask the first error."""
    try:
        _unlink(path)
    except OSError as error:
        logger.debug("media.temp_not_removed path=%s: %s", path, error)
