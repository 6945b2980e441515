"""Read-through across the tiers: hot → disk → origin, with write-back and single-flight fills.

The store answers one question — "give me this blob's bytes, from the cheapest place that
has a good copy" — and keeps the tiers full on the way. It never decides HTTP status codes:
it returns ``Content`` or raises ``MediaNotFound`` / ``OriginUnavailable``.

Degrading is part of the contract: a failing hot or disk tier is logged (rate-limited by its
guard) and skipped, never turned into an error for the client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from media_store.content.blobs import BlobInfo
from media_store.content.digests import sha256_bytes
from media_store.exceptions import DigestMismatch, MediaNotFound, OriginUnavailable, TierUnavailable
from media_store.tiers.disk import DiskTier
from media_store.tiers.hot import HotTier, MemoryHotTier
from media_store.tiers.locks import FillLocks
from media_store.tiers.origin import ChunkStream, Origin

logger = logging.getLogger("media_store.store")

PROCESS_SHARE = 16  # an object may take at most 1/16 of the process cache (no LRU churn from big ones)


@dataclass
class Content:
    """Where the bytes came from and how to read them: exactly one of the three is set.

    ``data``: the whole object in memory; ``file``: an open, verified disk-tier file (the
    caller closes it); ``open_origin(start, end)``: a stream straight from the origin, used
    when caching is off or the disk cannot take a large object.
    """

    tier: str
    data: bytes | None = None
    file: BinaryIO | None = None
    open_origin: Callable[[int | None, int | None], ChunkStream] | None = None


class MediaStore:
    def __init__(
        self,
        *,
        origin: Origin,
        hot: HotTier | None,
        disk: DiskTier | None,
        locks: FillLocks,
        max_hot_bytes: int,
        process: MemoryHotTier | None = None,
    ) -> None:
        if (hot is None) != (disk is None):
            raise ValueError("hot and disk tiers come together (caching on) or not at all")
        self.origin = origin
        self.hot = hot
        self.disk = disk
        self.locks = locks
        self.max_hot_bytes = max_hot_bytes
        self.process = process

    @property
    def caching(self) -> bool:
        return self.hot is not None or self.disk is not None

    # -- public ----------------------------------------------------------------------------
    def fetch(self, blob: BlobInfo) -> Content:
        """The blob's content from the first tier holding a good copy; fills tiers on a miss."""
        if not self.caching:
            return Content("origin", open_origin=self._origin_opener(blob))
        cached = self._from_cache(blob)
        if cached is not None:
            return cached
        with self.locks.hold(blob.sha256):
            cached = self._from_cache(blob)  # filled while we waited?
            if cached is not None:
                return cached
            logger.info("media.miss hash=%s size=%d", blob.sha256, blob.size)
            return self._fill(blob)

    def locate(self, blob: BlobInfo) -> str:
        """Which tier would serve the blob, without downloading it (for HEAD)."""
        if self._fits_process(blob) and self.process.contains(blob.sha256):
            return self.process.name
        if self._fits_hot(blob) and self._quietly(self.hot.contains, blob.sha256):
            return self.hot.name
        if self.disk is not None and self.disk.contains(blob):
            return "disk"
        if self.origin.head(blob.origin_key) is None:
            raise MediaNotFound(f"{blob.sha256} is gone from the origin")
        return "origin"

    def presence(self, blob: BlobInfo) -> dict[str, str]:
        """Which tiers hold a copy — ``yes``/``no``, ``down`` when a tier cannot be asked,
        ``off`` when it is disabled or the object is too large for it (for operators)."""
        report = {}
        if self.hot is None or blob.size > self.max_hot_bytes:
            report["hot"] = "off"
        else:
            try:
                report["hot"] = "yes" if self.hot.contains(blob.sha256) else "no"
            except TierUnavailable:
                report["hot"] = "down"
        report["disk"] = "off" if self.disk is None else ("yes" if self.disk.contains(blob) else "no")
        try:
            report["origin"] = "no" if self.origin.head(blob.origin_key) is None else "yes"
        except OriginUnavailable:
            report["origin"] = "down"
        return report

    def warm(self, blob: BlobInfo) -> str:
        """Fill the cache tiers (one origin GET at most); returns the tier it was found in."""
        content = self.fetch(blob)
        if content.file is not None:
            content.file.close()
        return content.tier

    def evict(self, blob: BlobInfo) -> None:
        """Drop cached copies (this process, hot and disk); the origin keeps the content."""
        if self.process is not None:
            self.process.delete(blob.sha256)
        if self.hot is not None:
            self._quietly(self.hot.delete, blob.sha256)
        if self.disk is not None:
            self._quietly(self.disk.delete, blob)

    # -- tiers -----------------------------------------------------------------------------
    def _fits_hot(self, blob: BlobInfo) -> bool:
        return self.hot is not None and blob.size <= self.max_hot_bytes

    def _fits_process(self, blob: BlobInfo) -> bool:
        return self.process is not None and blob.size <= self.process.max_bytes // PROCESS_SHARE

    def _remember(self, blob: BlobInfo, data: bytes) -> None:
        """Keep verified bytes in this process, so the next hit needs no Redis round trip."""
        if self._fits_process(blob):
            self.process.set(blob.sha256, data)

    def _from_cache(self, blob: BlobInfo) -> Content | None:
        if self._fits_process(blob):
            data = self.process.get(blob.sha256)
            if data is not None:
                self.disk.note_use(blob)  # so the disk copy of a hot object is not evicted first
                return Content(self.process.name, data=data)
        if self._fits_hot(blob):
            data = self._quietly(self.hot.get, blob.sha256)
            if data is not None and self._hot_copy_is_good(blob, data):
                logger.debug("media.hit tier=%s hash=%s", self.hot.name, blob.sha256)
                self.disk.note_use(blob)
                self._remember(blob, data)
                return Content(self.hot.name, data=data)
        file = self._quietly(self.disk.open, blob)
        if file is None:
            return None
        logger.debug("media.hit tier=disk hash=%s", blob.sha256)
        if self._fits_hot(blob):
            with file:  # small: promote to the hot tier and serve the same bytes
                data = file.read()
            self._quietly(self.hot.set, blob.sha256, data)
            self._remember(blob, data)
            return Content("disk", data=data)
        return Content("disk", file=file)

    def _hot_copy_is_good(self, blob: BlobInfo, data: bytes) -> bool:
        if len(data) == blob.size and (self.hot.trusted or sha256_bytes(data) == blob.sha256):
            return True
        logger.error("media.corrupt tier=%s hash=%s: discarded, will re-fill", self.hot.name, blob.sha256)
        self._quietly(self.hot.delete, blob.sha256)
        return False

    def _fill(self, blob: BlobInfo) -> Content:
        """One origin GET; write the verified bytes back to the cache tiers."""
        if blob.size <= self.max_hot_bytes:
            data = self.origin.get(blob.origin_key)
            if data is None:
                raise MediaNotFound(f"{blob.sha256} is gone from the origin")
            if sha256_bytes(data) != blob.sha256:
                logger.error("media.corrupt tier=origin hash=%s: refusing to serve", blob.sha256)
                raise OriginUnavailable(f"origin copy of {blob.sha256} does not match its digest")
            if self._fits_hot(blob):
                self._quietly(self.hot.set, blob.sha256, data)
            self._quietly(self.disk.write_bytes, blob, data)
            self._remember(blob, data)
            return Content("origin", data=data)
        return self._fill_large(blob)

    def fill_disk(self, blob: BlobInfo) -> None:
        """Stream the origin copy into the disk tier (flat memory), verified on the way.

        Raises MediaNotFound, OriginUnavailable (unreachable, or a corrupt origin copy) or
        TierUnavailable (the disk cannot take it).
        """
        stream = self.origin.open(blob.origin_key)
        if stream is None:
            raise MediaNotFound(f"{blob.sha256} is gone from the origin")
        try:
            self.disk.write_chunks(blob, stream)
        except DigestMismatch as error:
            logger.error("media.corrupt tier=origin hash=%s: %s", blob.sha256, error)
            raise OriginUnavailable(f"origin copy of {blob.sha256} does not match its digest") from error
        finally:
            stream.close()

    def _fill_large(self, blob: BlobInfo) -> Content:
        """Stream a large object to disk, then serve it from there (sendfile)."""
        try:
            self.fill_disk(blob)
        except TierUnavailable as error:
            logger.warning("media.disk_fill_failed hash=%s: %s; streaming from origin", blob.sha256, error)
            return Content("origin", open_origin=self._origin_opener(blob))
        file = self._quietly(self.disk.open, blob)
        if file is None:  # removed between write and open (cleanup racing us): stream instead
            return Content("origin", open_origin=self._origin_opener(blob))
        return Content("origin", file=file)

    def _origin_opener(self, blob: BlobInfo) -> Callable[[int | None, int | None], ChunkStream]:
        def open_origin(start: int | None = None, end: int | None = None) -> ChunkStream:
            stream = self.origin.open(blob.origin_key, start, end)
            if stream is None:
                raise MediaNotFound(f"{blob.sha256} is gone from the origin")
            return stream

        return open_origin

    @staticmethod
    def _quietly(operation, *args):
        """Run a cache-tier operation; a tier outage means "no result", never an error."""
        try:
            return operation(*args)
        except TierUnavailable as error:
            logger.debug("media.tier_skipped %s", error)
            return None
