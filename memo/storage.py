"""The storage behind ``@cached`` (see ``caching.py``): Redis, or this process while Redis is down.

Values are pickled under ``<MEDIA_REDIS_KEY_PREFIX>:cache:<prefix>:…``; hit and miss counts live
in one Redis hash shared by every process (``…:stats:cache``). Redis is used through
``guard.redis_call``, so an outage means "use process memory" and one back-off window for all.
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
from typing import Any

from cachetools import TLRUCache

from media_store import runtime
from media_store.conf import media_settings
from media_store.exceptions import TierUnavailable
from media_store.ops.counters import hit_rate
from media_store.tiers.guard import redis_call
from media_store.tiers.keyspace import key_usage, unlink_matching

logger = logging.getLogger("memo.decorator")

MISSING = object()
LOCAL_MAX_ENTRIES = 10_000


class GenericCache:
    def __init__(self) -> None:
        self._local: TLRUCache[str, tuple[float, Any]] = TLRUCache(
            maxsize=LOCAL_MAX_ENTRIES, ttu=lambda _key, value, now: value[0], timer=time.monotonic
        )
        self._lock = threading.Lock()
        self._local_lookups = 0
        self._local_misses = 0

    @staticmethod
    def namespace(prefix: str = "") -> str:
        base = f"{media_settings.MEDIA_REDIS_KEY_PREFIX}:cache:"
        return f"{base}{prefix}:" if prefix else base

    # -- get / set -------------------------------------------------------------------------
    def get(self, key: str) -> Any:
        """The cached value, or ``MISSING``; every lookup and every miss is counted."""
        answer = self._redis(
            lambda client: client.pipeline(transaction=False).get(key).hincrby(self._stats_key, "lookups", 1).execute()
        )
        if answer is not None:
            raw = answer[0]
            value = MISSING if raw is None else self._loads(key, raw)
            if value is MISSING:
                self._redis(lambda client: client.hincrby(self._stats_key, "misses", 1))
            return value
        with self._lock:
            self._local_lookups += 1
            entry = self._local.get(key)
            if entry is None:
                self._local_misses += 1
        return MISSING if entry is None else entry[1]

    def set(self, key: str, value: Any, ttl: float) -> None:
        try:
            raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            logger.warning("cache.unpicklable key=%s: %s (result returned uncached)", key, error)
            return
        if self._redis(lambda client: client.set(key, raw, ex=max(1, int(ttl)))) is None:
            with self._lock:
                self._local[key] = (time.monotonic() + ttl, value)

    # -- operator side ---------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Hits, misses, hit ratio, keys and memory (Redis, plus this process's fallback)."""
        with self._lock:
            local_keys, lookups, misses = len(self._local), self._local_lookups, self._local_misses
        shared = self._redis(
            lambda client: (client.hgetall(self._stats_key), key_usage(client, f"{self.namespace()}*"))
        )
        report = {"backend": "memory", "keys": local_keys, "memory_bytes": None}
        if shared is not None:
            counts, (keys, memory) = shared
            lookups += int(counts.get(b"lookups", 0))
            misses += int(counts.get(b"misses", 0))
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
        return self._delete_matching(self.namespace(prefix))

    def flush(self) -> int:
        """Delete every key of this cache (and its counters) — nothing else in Redis."""
        removed = self._delete_matching(self.namespace(), also=[self._stats_key])
        with self._lock:
            self._local_lookups = self._local_misses = 0
        return removed

    # -- internals -------------------------------------------------------------------------
    @property
    def _stats_key(self) -> str:
        return f"{media_settings.MEDIA_REDIS_KEY_PREFIX}:stats:cache"

    @staticmethod
    def _redis(operation):
        client = runtime.redis_client
        return redis_call(client if media_settings.REDIS_URL else None, runtime.redis_guard(), operation)

    def _delete_matching(self, namespace: str, also: list[str] = ()) -> int:
        with self._lock:
            local_keys = [key for key in list(self._local.keys()) if key.startswith(namespace)]
            for key in local_keys:
                self._local.pop(key, None)
        if not media_settings.REDIS_URL:
            return len(local_keys)

        def delete(client) -> int:
            removed = unlink_matching(client, f"{namespace}*")
            if also:
                client.delete(*also)
            return removed

        removed = self._redis(delete)
        if removed is None:  # an operator asked to delete: say it did not happen
            raise TierUnavailable("redis is unavailable: the cached results were not deleted")
        return removed + len(local_keys)

    @staticmethod
    def _loads(key: str, raw: bytes) -> Any:
        try:
            return pickle.loads(raw)
        except Exception as error:  # a value pickled by another code version: treat as a miss
            logger.warning("cache.unreadable key=%s: %s", key, error)
            return MISSING
