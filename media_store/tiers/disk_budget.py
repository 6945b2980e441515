"""The disk tier's byte budget, enforced by the node that writes — not by a job elsewhere.

``MEDIA_DISK_MAX_BYTES`` used to be applied only by ``cleanup_media``, which Celery beat runs on
one worker: a web node's own disk grew without bound. Now every write first makes room: when
the bytes on disk plus the incoming object would pass the limit, the least recently *used*
files are removed (last use = the atime the tier records on disk hits and, rate-limited, on
hits served from memory or Redis — see ``DiskTier.note_use``) until the tier is back under a
low-water mark, so eviction runs in bursts rather than on every write.

Several worker processes share one cache folder, so the running total is an estimate: each
process adds its own writes and re-counts the folder at most every ``rescan_seconds`` and
always before it evicts. A file someone is reading is never removed (``remove_if_idle``).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from media_store.content.mediatypes import DISK_FOLDERS
from media_store.exceptions import TierUnavailable

logger = logging.getLogger("media_store.disk")

TEMP_DIR = ".tmp"
TYPE_FOLDERS = frozenset(DISK_FOLDERS.values())
LOW_WATER = 0.9  # evict down to this share of the limit, so the next writes need no eviction
RESCAN_SECONDS = 30.0


@dataclass
class CachedFile:
    path: Path
    size: int
    last_access: float


def cached_files(root: Path) -> Iterator[CachedFile]:
    """Every installed file of the tier (temp files excluded), with its last use."""
    for folder in sorted(TYPE_FOLDERS):
        base = root / folder
        if not base.is_dir():
            continue
        for dirpath, _dirs, names in os.walk(base):
            for name in names:
                path = Path(dirpath) / name
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                # atime older than mtime means "never read since written": the write counts.
                yield CachedFile(path, stat.st_size, max(stat.st_atime, stat.st_mtime))


def temp_bytes(root: Path) -> int:
    """Bytes held by files being written (they take space too, but are never evicted)."""
    total = 0
    try:
        entries = list(os.scandir(root / TEMP_DIR))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            total += entry.stat(follow_symlinks=False).st_size
        except FileNotFoundError:
            continue
    return total


def share_lock(file: BinaryIO) -> bool:
    """Hold a shared flock while the file is open: eviction skips files someone is reading.

    Released by the kernel when the file is closed (after the response is sent).
    """
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def remove_if_idle(path: str | Path) -> bool:
    """Delete ``path`` unless a reader holds it open (see ``share_lock``); True if removed."""
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
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
    finally:
        os.close(fd)


class DiskBudget:
    """Make room for an incoming object before it is written (see the module docstring)."""

    def __init__(
        self,
        root: str | Path,
        max_bytes: int,
        *,
        rescan_seconds: float = RESCAN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.rescan_seconds = rescan_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._used: int | None = None
        self._counted_at = float("-inf")
        self.evicted_files = 0
        self.evicted_bytes = 0

    def make_room(self, incoming: int) -> None:
        """Evict least-recently-used files so ``incoming`` more bytes fit under the limit.

        An object larger than the whole budget raises ``TierUnavailable``: it is served by
        streaming from the origin instead of pushing every other file out.
        """
        if incoming > self.max_bytes:
            raise TierUnavailable(f"disk: {incoming} bytes is more than MEDIA_DISK_MAX_BYTES={self.max_bytes}")
        with self._lock:
            if self._used is None or self.clock() - self._counted_at >= self.rescan_seconds:
                self._recount()
            if self._used + incoming > self.max_bytes:
                self._recount()  # the estimate misses other processes' writes and evictions
            if self._used + incoming > self.max_bytes:
                self._evict(target=int(self.max_bytes * LOW_WATER) - incoming)
            self._used += incoming

    def forget(self, size: int) -> None:
        """A file of ``size`` bytes left the tier (deleted, found corrupt)."""
        with self._lock:
            if self._used is not None:
                self._used = max(0, self._used - size)

    def _recount(self) -> list[CachedFile]:
        files = list(cached_files(self.root))
        self._used = sum(item.size for item in files) + temp_bytes(self.root)
        self._counted_at = self.clock()
        return files

    def _evict(self, target: int) -> None:
        files = sorted(self._recount(), key=lambda item: item.last_access)
        removed = freed = 0
        for item in files:
            if self._used <= target:
                break
            try:
                if not remove_if_idle(item.path):
                    continue
            except OSError as error:  # a read-only or failing disk: the write after this will say so
                logger.debug("media.disk_evict_failed path=%s: %s", item.path, error)
                continue
            removed += 1
            freed += item.size
            self._used -= item.size
        self.evicted_files += removed
        self.evicted_bytes += freed
        logger.info(
            "media.disk_evicted files=%d bytes=%d used=%d max=%d (least recently used, at write time)",
            removed,
            freed,
            self._used,
            self.max_bytes,
        )
