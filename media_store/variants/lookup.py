"""(source digest, variant name) → the variant's BlobInfo, remembered per process.

A hot variant hit must cost what a hot original hit costs: one dict read, no SQL. Variants
never change once made, so the only stale case is a variant whose content the origin lost;
the view forgets the entry when serving answers 404, and the TTL bounds the rest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from media_store import runtime
from media_store.conf import media_settings
from media_store.content.blobs import BlobInfo
from media_store.models import Variant

MAX_ENTRIES = 50_000
_FIELDS = ("blob__sha256", "blob__size", "blob__mime_type", "blob__media_type", "blob__extension", "blob__origin_key")


class VariantLookup:
    def __init__(self, ttl: float, maxsize: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self.clock = clock
        self._entries: dict[tuple[str, str], tuple[BlobInfo, float]] = {}
        self._lock = threading.Lock()

    def cached(self, source: str, name: str) -> BlobInfo | None:
        entry = self._entries.get((source, name))  # lock-free read, like the token resolver
        if entry is not None and entry[1] > self.clock():
            return entry[0]
        return None

    def get(self, source: str, name: str) -> BlobInfo | None:
        """The variant's content if it has been made and is still stored, else None."""
        found = self.cached(source, name)
        if found is not None:
            return found
        row = (
            Variant.objects.filter(source_id=source, name=name, blob__expired_at__isnull=True)
            .values_list(*_FIELDS)
            .first()
        )
        if row is None:
            return None
        info = BlobInfo(*row)
        self.remember(source, name, info)
        return info

    def remember(self, source: str, name: str, info: BlobInfo) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            while len(self._entries) >= self.maxsize:
                del self._entries[next(iter(self._entries))]
            self._entries[(source, name)] = (info, self.clock() + self.ttl)

    def forget(self, source: str, name: str) -> None:
        with self._lock:
            self._entries.pop((source, name), None)


def get_lookup() -> VariantLookup:
    """This process's lookup (``runtime.reset()`` forgets it with everything else built from settings)."""
    return runtime.per_process(("variant_lookup",), lambda: VariantLookup(ttl=media_settings.MEDIA_TOKEN_CACHE_SECONDS))
