"""The negative cache: permanent failures remembered for ``FAILED_MEDIA_TTL``.

The Graph API (and some providers behind it) throttle callers that keep requesting dead media
IDs; a URL that answered 404 will answer 404 again. So a permanent failure is stored — in Redis,
shared by every process, or in process memory while Redis is down (``tiers.shared``) — and the
next request for the same key is refused without touching the network until the TTL passes.

Entries carry their own expiry time (checked against an injectable clock), so tests can step
over the TTL without sleeping; the store's own TTL only garbage-collects them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from media_store.ops import metrics
from media_store.tiers.shared import MISSING, SharedState


class NegativeCache:
    def __init__(
        self,
        namespace: str,
        *,
        ttl: float,
        key_prefix: str = "mc",
        state: SharedState | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.namespace = namespace
        self.ttl = ttl
        self.key_prefix = key_prefix
        self.state = state or SharedState(clock=clock)
        self.clock = clock

    def key(self, subject: str) -> str:
        digest = hashlib.sha256(subject.encode()).hexdigest()[:32]  # URLs can be long and carry secrets
        return f"{self.key_prefix}:neg:{self.namespace}:{digest}"

    def get(self, subject: str) -> str | None:
        """The recorded reason while the entry is live, else None (a hit is counted in metrics)."""
        entry = self.state.get(self.key(subject))
        if entry is MISSING or not isinstance(entry, tuple) or entry[0] <= self.clock():
            return None
        metrics.NEGATIVE_CACHE_HITS.labels(self.namespace).inc()
        return entry[1]

    def add(self, subject: str, reason: str) -> None:
        if self.ttl > 0:
            self.state.set(self.key(subject), (self.clock() + self.ttl, reason), ttl=self.ttl + 1)

    def forget(self, subject: str) -> None:
        self.state.delete(self.key(subject))
