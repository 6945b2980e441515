"""Small state every process shares through Redis, kept in this process while Redis is absent or down.

The one implementation of "Redis, else process memory" for the engine's low-volume state: named
counters (operator statistics), the negative cache and the generic ``@cached`` results. Redis is
reached through Django's cache framework (django-redis, ``caches["default"]``), so pooling, timeouts,
Sentinel/Cluster and the signed serializer are configured once, in ``mediacache_project.services``;
the hash commands that counters need go to the same connection pool.

A Redis call that fails opens the process-wide back-off guard (``tiers.guard``) and the operation
falls back to a bounded map in this process; once Redis answers again its values are used, and what
was kept locally meanwhile is still consulted until it expires by its own TTL (so a failure recorded
during an outage is not forgotten when Redis comes back).

The hot tier is not built on this on purpose: a hot-tier miss must fall through to the disk tier,
never to a second copy of media bytes in memory (see ``tiers.hot``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from cachetools import TLRUCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError

from media_store.exceptions import TierUnavailable
from media_store.tiers.guard import OutageGuard, redis_call
from media_store.tiers.keyspace import key_usage
from media_store.tiers.signed import ForgedValue

MISSING: Any = object()  # "no value" (None is a value a cached function may return)
LOCAL_MAX_ENTRIES = 10_000


class SharedState:
    """Key/value entries with a TTL and named counters; Redis when configured, else this process.

    ``cache`` is a django-redis cache (or None: no Redis configured, everything stays local);
    ``guard`` is the process's Redis outage guard, shared with every other use of Redis.
    """

    def __init__(
        self,
        cache=None,
        guard: OutageGuard | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_local: int = LOCAL_MAX_ENTRIES,
    ) -> None:
        self.cache = cache
        self.guard = guard
        self.clock = clock
        self._local: TLRUCache[str, tuple[float, Any]] = TLRUCache(
            maxsize=max_local, ttu=lambda _key, value, _now: value[0], timer=clock
        )
        self._counts: dict[str, Counter[str]] = {}
        self._lock = threading.Lock()

    @property
    def shared(self) -> bool:
        """True when Redis is configured and not inside its back-off window."""
        return self.cache is not None and (self.guard is None or self.guard.available())

    # -- entries ---------------------------------------------------------------------------
    def get(self, key: str) -> Any:
        """The value, or ``MISSING``; a value that fails its signature check is a miss."""
        answer = self._redis(lambda cache: (_read(cache, key),))  # a 1-tuple: None is a cacheable value
        if answer is not None and answer[0] is not MISSING:
            return answer[0]
        with self._lock:
            entry = self._local.get(key)
        return MISSING if entry is None else entry[1]

    def set(self, key: str, value: Any, ttl: float) -> None:
        if self._redis(lambda cache: cache.set(key, value, timeout=max(1, round(ttl))) or True) is None:
            with self._lock:
                self._local[key] = (self.clock() + ttl, value)

    def delete(self, key: str) -> None:
        self._redis(lambda cache: cache.delete(key))
        with self._lock:
            self._local.pop(key, None)

    def delete_matching(self, prefix: str, *, also: tuple[str, ...] = ()) -> int:
        """Delete every entry whose key starts with ``prefix`` (and the keys in ``also``).

        Raises ``TierUnavailable`` when Redis is configured but cannot be reached: an operator
        who asked for a deletion must not be told it happened.
        """
        with self._lock:
            local = [key for key in list(self._local.keys()) if key.startswith(prefix)]
            for key in local:
                self._local.pop(key, None)
            for key in also:
                self._counts.pop(key, None)
        if self.cache is None:
            return len(local)

        def delete(cache) -> int:
            removed = cache.delete_pattern(f"{_glob_escape(prefix)}*", itersize=1000)
            for key in also:
                cache.delete(key)
            return removed

        removed = self._redis(delete)
        if removed is None:
            raise TierUnavailable("redis is unavailable: the cached entries were not deleted")
        return removed + len(local)

    def local_size(self, prefix: str = "") -> int:
        with self._lock:
            return sum(1 for key in list(self._local.keys()) if key.startswith(prefix))

    def usage(self, prefix: str) -> tuple[int, int] | None:
        """``(keys, bytes)`` of the entries under ``prefix`` in Redis; None when Redis is not answering."""
        return self._redis(lambda cache: key_usage(cache.client.get_client(write=False), f"{_glob_escape(prefix)}*"))

    # -- counters --------------------------------------------------------------------------
    def incr(self, key: str, field: str, amount: int = 1) -> None:
        """Add to one field of a named counter (a Redis hash: HINCRBY is atomic across processes)."""
        if self._redis(lambda cache: cache.client.get_client(write=True).hincrby(key, field, amount)) is None:
            with self._lock:
                self._counts.setdefault(key, Counter())[field] += amount

    def counts(self, key: str) -> dict[str, int]:
        """Every field of a counter: Redis's totals plus what this process counted while it was down."""
        shared = self._redis(lambda cache: cache.client.get_client(write=False).hgetall(key)) or {}
        totals = Counter({field.decode(): int(value) for field, value in shared.items()})
        with self._lock:
            totals.update(self._counts.get(key, {}))
        return dict(totals)

    def reset_counts(self, key: str) -> None:
        self._redis(lambda cache: cache.delete(key))
        with self._lock:
            self._counts.pop(key, None)

    # -- internals -------------------------------------------------------------------------
    def _redis(self, operation: Callable[[Any], Any]) -> Any:
        """``operation(cache)``, or None when Redis is absent, backing off or failing."""
        if self.cache is None:
            return None
        return redis_call(lambda: self.cache, self.guard, _unwrapped(operation))


def _read(cache, key: str) -> Any:
    try:
        return cache.get(key, MISSING)
    except ForgedValue:
        return MISSING


def _unwrapped(operation: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """django-redis wraps Redis errors in ``ConnectionInterrupted``: hand the guard the real one
    (a refused connection and an out-of-memory reply are different failures)."""

    def run(cache):
        try:
            return operation(cache)
        except ConnectionInterrupted as error:
            raise (error.__cause__ or RedisConnectionError(str(error))) from error

    return run


def _glob_escape(text: str) -> str:
    """Match ``text`` literally in a SCAN pattern."""
    return "".join(f"[{char}]" if char in "*?[]" else char for char in text)
