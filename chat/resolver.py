"""Public token → content, remembered per process so a hot hit needs no SQL query.

Tokens are permanent and content is immutable, so the only thing a stale entry can get
wrong is a deleted attachment or an expired blob; the short TTL (``MEDIA_TOKEN_CACHE_SECONDS``)
bounds that, and this process forgets a token at once when it deletes the attachment or
finds the content gone. Bounded in size: a scan over random tokens cannot grow it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from chat.models import MessageAttachment
from media_store import runtime
from media_store.conf import media_settings
from media_store.content.blobs import BlobInfo

MAX_ENTRIES = 50_000

_FIELDS = (
    "blob__sha256",
    "blob__size",
    "blob__mime_type",
    "blob__media_type",
    "blob__extension",
    "blob__origin_key",
    "blob__expired_at",
)


class TokenResolver:
    """A plain dict read without a lock (every hot hit reads it, from 8 threads per worker: a
    lock there convoys under load); writers serialise, evict expired entries, then the oldest."""

    def __init__(self, ttl: float, maxsize: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self.clock = clock
        self._entries: dict[str, tuple[BlobInfo, float]] = {}
        self._lock = threading.Lock()

    def resolve(self, token: str, *, fresh: bool = False) -> BlobInfo | None:
        """The content behind ``token``; None when unknown or when its content has expired.

        ``fresh`` skips this process's memory (the edge revalidating after MEDIA_EDGE_TTL: its
        question must see a deletion at once, whichever worker answers it).
        """
        entry = None if fresh else self._entries.get(token)
        if entry is not None and entry[1] > self.clock():
            return entry[0]
        row = MessageAttachment.objects.filter(media_hash=token).values_list(*_FIELDS).first()
        if row is None or row[-1] is not None:
            self.forget(token)
            return None
        blob = BlobInfo(*row[:-1])
        if self.ttl > 0:
            self._remember(token, blob)
        return blob

    def forget(self, token: str) -> None:
        with self._lock:
            self._entries.pop(token, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _remember(self, token: str, blob: BlobInfo) -> None:
        now = self.clock()
        with self._lock:
            if len(self._entries) >= self.maxsize:
                for stale in [key for key, (_, expires) in self._entries.items() if expires <= now]:
                    del self._entries[stale]
            while len(self._entries) >= self.maxsize:
                del self._entries[next(iter(self._entries))]  # the oldest insertion
            self._entries[token] = (blob, now + self.ttl)


def get_resolver() -> TokenResolver:
    """This process's resolver, kept by the engine's ``runtime`` with everything else built from
    settings, so that ``runtime.reset()`` (a changed setting, a test) forgets it too."""
    return runtime.per_process(
        ("chat.token_resolver",), lambda: TokenResolver(ttl=media_settings.MEDIA_TOKEN_CACHE_SECONDS)
    )
