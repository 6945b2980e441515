"""The negative cache: permanent failures remembered for ``FAILED_MEDIA_TTL``.

The Graph API (and some providers behind it) throttle callers that keep requesting dead media
IDs; a URL that answered 404 will answer 404 again. So a permanent failure is stored — in
Redis, shared by every process, or in process memory while Redis is down — and the next
request for the same key is refused without touching the network until the TTL passes.

Entries carry their own expiry time (checked against an injectable clock), so tests can step
over the TTL without sleeping; Redis's own TTL only garbage-collects them.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from cachetools import TTLCache

from media_store.ops import metrics
from media_store.tiers.guard import OutageGuard, redis_call


class NegativeCache:
    def __init__(
        self,
        namespace: str,
        *,
        ttl: float,
        key_prefix: str = "mc",
        redis_factory: Callable[[], object] | None = None,
        guard: OutageGuard | None = None,
        clock: Callable[[], float] = time.time,
        max_local: int = 100_000,
    ) -> None:
        self.namespace = namespace
        self.ttl = ttl
        self.key_prefix = key_prefix
        self.redis_factory = redis_factory
        self.guard = guard
        self.clock = clock
        self._local: TTLCache[str, tuple[float, str]] = TTLCache(maxsize=max_local, ttl=max(ttl, 1), timer=clock)
        self._lock = threading.Lock()

    def key(self, subject: str) -> str:
        digest = hashlib.sha256(subject.encode()).hexdigest()[:32]  # URLs can be long and carry secrets
        return f"{self.key_prefix}:neg:{self.namespace}:{digest}"

    def get(self, subject: str) -> str | None:
        """The recorded reason while the entry is live, else None (a hit is counted in metrics)."""
        reason = self._lookup(subject)
        if reason is not None:
            metrics.NEGATIVE_CACHE_HITS.labels(self.namespace).inc()
        return reason

    def _lookup(self, subject: str) -> str | None:
        key = self.key(subject)
        raw = self._redis_call(lambda client: client.get(key))
        if raw is not None:
            expires, _, reason = raw.decode().partition(" ")
            return reason if float(expires) > self.clock() else None
        with self._lock:
            entry = self._local.get(key)
        if entry is not None and entry[0] > self.clock():
            return entry[1]
        return None

    def add(self, subject: str, reason: str) -> None:
        if self.ttl <= 0:
            return
        key = self.key(subject)
        expires = self.clock() + self.ttl
        stored = self._redis_call(lambda client: client.set(key, f"{expires} {reason}", ex=int(self.ttl) + 1))
        if stored is None:  # Redis absent or down: remember it in this process
            with self._lock:
                self._local[key] = (expires, reason)

    def forget(self, subject: str) -> None:
        key = self.key(subject)
        self._redis_call(lambda client: client.delete(key))
        with self._lock:
            self._local.pop(key, None)

    def _redis_call(self, operation):
        return redis_call(self.redis_factory, self.guard, operation)
