"""Public token → content, remembered per process so a hot hit needs no SQL query.

Tokens are permanent and content is immutable, so the only thing a stale entry can get
wrong is a deleted attachment or an expired blob; the short TTL (``MEDIA_TOKEN_CACHE_SECONDS``)
bounds that, and this process forgets a token at once when it deletes the attachment or
finds the content gone. Bounded in size: a scan over random tokens cannot grow it.
"""

from __future__ import annotations

import threading

from cachetools import TTLCache

from media_store.blobs import BlobInfo
from media_store.conf import media_settings

from .models import MessageAttachment

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
    def __init__(self, ttl: float, maxsize: int = MAX_ENTRIES) -> None:
        self._cache: TTLCache[str, BlobInfo] = TTLCache(maxsize=maxsize, ttl=ttl)
        self._lock = threading.Lock()

    def resolve(self, token: str) -> BlobInfo | None:
        """The content behind ``token``; None when unknown or when its content has expired."""
        with self._lock:
            blob = self._cache.get(token)
        if blob is not None:
            return blob
        row = MessageAttachment.objects.filter(media_hash=token).values_list(*_FIELDS).first()
        if row is None or row[-1] is not None:
            return None
        blob = BlobInfo(*row[:-1])
        with self._lock:
            self._cache[token] = blob
        return blob

    def forget(self, token: str) -> None:
        with self._lock:
            self._cache.pop(token, None)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


_resolver: TokenResolver | None = None


def get_resolver() -> TokenResolver:
    global _resolver
    if _resolver is None:
        _resolver = TokenResolver(ttl=media_settings.MEDIA_TOKEN_CACHE_SECONDS)
    return _resolver


def reset() -> None:
    global _resolver
    _resolver = None
