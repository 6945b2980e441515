"""The storage behind ``@cached`` (see ``decorator.py``): Django's cache on Redis, or this process.

Values live under ``<MEDIA_REDIS_KEY_PREFIX>:cache:<prefix>:…`` in the project's default cache
(django-redis; values are signed pickles, so a value planted in Redis is a miss, never code run —
``media_store.tiers.signed``). Hit and miss counts live in one Redis hash shared by every process
(``…:stats:cache``). While Redis is down, values and counts are kept in this process
(``media_store.tiers.shared``), behind the same back-off guard as every other use of Redis.
"""

from __future__ import annotations

import logging
import pickle
from typing import Any

from media_store import runtime
from media_store.conf import media_settings
from media_store.ops.counters import hit_rate
from media_store.tiers.shared import MISSING, SharedState

logger = logging.getLogger("memo.storage")

__all__ = ["MISSING", "GenericCache"]


class GenericCache:
    @staticmethod
    def namespace(prefix: str = "") -> str:
        base = f"{media_settings.MEDIA_REDIS_KEY_PREFIX}:cache:"
        return f"{base}{prefix}:" if prefix else base

    @property
    def state(self) -> SharedState:
        return runtime.shared_state("memo")

    # -- get / set -------------------------------------------------------------------------
    def get(self, key: str) -> Any:
        """The cached value, or ``MISSING``; every lookup and every miss is counted."""
        value = self.state.get(key)
        self.state.incr(self._stats_key, "lookups")
        if value is MISSING:
            self.state.incr(self._stats_key, "misses")
        return value

    def set(self, key: str, value: Any, ttl: float) -> None:
        try:
            self.state.set(key, value, ttl)
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            logger.warning("cache.unpicklable key=%s: %s (result returned uncached)", key, error)

    # -- operator side ---------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Hits, misses, hit ratio, keys and memory (Redis, plus this process's fallback)."""
        counts = self.state.counts(self._stats_key)
        lookups, misses = counts.get("lookups", 0), counts.get("misses", 0)
        local_keys = self.state.local_size(self.namespace())
        usage = self.state.usage(self.namespace())
        report = {"backend": "memory", "keys": local_keys, "memory_bytes": None}
        if usage is not None:
            keys, memory = usage
            report = {"backend": "redis", "keys": keys + local_keys, "memory_bytes": memory}
        hits = max(0, lookups - misses)
        return {
            **report,
            "enabled": media_settings.ENABLE_CACHING,
            "hits": hits,
            "misses": misses,
            "hit_ratio": hit_rate(hits, lookups),
        }

    def clear(self, prefix: str) -> int:
        """Delete every key of one prefix; returns how many were removed."""
        if not prefix or ":" in prefix or "*" in prefix:
            raise ValueError(f"invalid cache prefix {prefix!r}")
        return self.state.delete_matching(self.namespace(prefix))

    def flush(self) -> int:
        """Delete every key of this cache (and its counters) — nothing else in Redis."""
        return self.state.delete_matching(self.namespace(), also=(self._stats_key,))

    @property
    def _stats_key(self) -> str:
        return f"{media_settings.MEDIA_REDIS_KEY_PREFIX}:stats:cache"
