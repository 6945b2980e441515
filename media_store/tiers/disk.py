"""The warm tier: files under ``MEDIA_CACHE_DIR``, laid out by type and named by digest.

Writes go to ``.tmp/`` and are renamed into place, so a reader never sees half a file.
A file is hashed once per process before it is first served; after that its
(size, mtime, inode) signature stands in for the hash, and any change to it triggers a
re-hash. A file that fails the check is deleted and never served.
"""

from __future__ import annotations

import fcntl
import hashlib
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
from media_store.content.digests import sha256_file
from media_store.content.mediatypes import DISK_FOLDERS
from media_store.exceptions import DigestMismatch, TierUnavailable
from media_store.tiers.guard import OutageGuard

logger = logging.getLogger("media_store.disk")

TEMP_DIR = ".tmp"
FOLDER_TYPES = {folder: kind for kind, folder in DISK_FOLDERS.items() if kind != "sticker"}  # folder → type
ACCESS_TOUCH_SECONDS = 3600  # record a read in atime at most this often (LRU cleanup uses it)


def signature(stat: os.stat_result) -> tuple[int, int, int]:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


class DiskTier:
    name = "disk"

    def __init__(self, root: str | Path, *, guard: OutageGuard | None = None, max_verified: int = 100_000) -> None:
        self.root = Path(root)
        self._root = str(self.root)
        self.guard = guard
        self._verified: LRUCache[str, tuple[int, int, int]] = LRUCache(maxsize=max_verified)
        self._touched: LRUCache[str, float] = LRUCache(maxsize=max_verified)
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
            if not _share_lock(file):  # cleanup is removing it this very moment
                file.close()
                return None
            stat = os.fstat(file.fileno())
            if not self._is_verified(blob, path, stat):
                file.close()
                return None
            self._touch(file, path, stat)
            return file
        except BaseException:
            file.close()
            raise

    def read(self, blob: BlobInfo) -> bytes | None:
        file = self.open(blob)
        if file is None:
            return None
        with file:
            return file.read()

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
        """
        sha = None if verified else hashlib.sha256()
        temp = self._temp_file()
        try:
            with temp:
                for chunk in chunks:
                    if sha is not None:
                        sha.update(chunk)
                    temp.write(chunk)
            if sha is not None and sha.hexdigest() != blob.sha256:
                raise DigestMismatch(f"content for {blob.sha256} hashed to {sha.hexdigest()}")
            return self._install(blob, Path(temp.name))
        except BaseException:
            _unlink(temp.name)
            raise

    def adopt(self, blob: BlobInfo, verified_path: str | Path) -> Path:
        """Move an already-verified temp file (e.g. a fresh upload) into the tier."""
        return self._install(blob, Path(verified_path))

    def delete(self, blob: BlobInfo) -> bool:
        path = self.path(blob)
        with self._lock:
            self._verified.pop(str(path), None)
        return _unlink(path)

    def usage(self) -> dict[str, dict[str, int]]:
        """Files and bytes per media type (``image``/``video``/``audio``/``document``), temp files excluded."""
        report = {}
        for folder, media_type in FOLDER_TYPES.items():
            count = size = 0
            base = self.root / folder
            if base.is_dir():
                for entry in os.scandir(base):
                    try:
                        if entry.is_file(follow_symlinks=False):
                            size += entry.stat(follow_symlinks=False).st_size
                            count += 1
                    except FileNotFoundError:  # removed by cleanup while we counted
                        continue
            report[media_type] = {"count": count, "size": size}
        return report

    def temp_dir(self) -> Path:
        path = self.root / TEMP_DIR
        path.mkdir(parents=True, exist_ok=True)
        return path

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
        with self._lock:
            if now - self._touched.get(key, 0.0) < ACCESS_TOUCH_SECONDS:
                return
            self._touched[key] = now
        try:
            os.utime(file.fileno(), ns=(time.time_ns(), stat.st_mtime_ns))
        except OSError as error:  # a read-only or vanished file still serves
            logger.debug("media.atime_not_recorded path=%s: %s", path, error)


def _share_lock(file: BinaryIO) -> bool:
    """Hold a shared flock while the file is open: cleanup skips files someone is reading.

    Released by the kernel when the file is closed (after the response is sent).
    """
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def remove_if_idle(path: str | Path) -> bool:
    """Delete ``path`` unless a reader holds it open (see ``_share_lock``); True if removed."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    try:
        return _unlink(path)
    finally:
        os.close(fd)


def _unlink(path: str | Path) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
