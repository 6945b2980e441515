"""The hot tier: whole small objects in memory — Redis when configured, else this process.

Values are the raw bytes of the content (no pickling, no compression: media is already
compressed), keyed by SHA-256, so one GET is the whole lookup. Objects larger than
``MEDIA_REDIS_MAX_OBJECT_BYTES`` never enter this tier (the store checks before calling).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from redis.exceptions import RedisError

from media_store.exceptions import TierUnavailable
from media_store.tiers.guard import OutageGuard

CHUNK_BYTES = 16 * 1024 - 16  # + Redis's sds header and terminator = one 16 KiB jemalloc class

logger = logging.getLogger("media_store.tiers.hot")


def check_memory_policy(client) -> str | None:
    """Warn (once per tier, on first use) unless Redis evicts by itself when full.

    The hot tier is a cache: it needs ``maxmemory`` with an ``allkeys-lru``-style policy (or a
    Redis of its own). With ``noeviction`` a full Redis refuses every new write (OOM) — the
    tier then skips writes and serves from disk/origin, but never fills again. Returns the
    warning, or None when the set-up is right or cannot be read (``CONFIG`` disabled).
    """
    try:
        config = client.config_get("maxmemory*")
    except RedisError as error:
        logger.info("media.redis_policy_unknown: cannot read CONFIG (%s); use maxmemory-policy allkeys-lru", error)
        return None
    maxmemory = int(config.get("maxmemory", 0) or 0)
    policy = config.get("maxmemory-policy", "")
    if maxmemory and policy.startswith("allkeys-"):
        return None
    warning = (
        f"media.redis_policy maxmemory={maxmemory} maxmemory-policy={policy}: the hot tier needs maxmemory "
        "with an allkeys-lru (or allkeys-lfu) policy, or a Redis of its own; when full, writes are refused "
        "(OOM) and skipped"
    )
    logger.warning(warning)
    return warning


def pack(data: bytes) -> dict[str, memoryview]:
    """The hash fields of a stored value: ``{"0": first chunk, "1": second, …}``."""
    view = memoryview(data)
    return {str(n): view[start : start + CHUNK_BYTES] for n, start in enumerate(range(0, len(data), CHUNK_BYTES))}


def unpack(fields: dict[bytes, bytes]) -> bytes:
    """The value back from HGETALL; fields that are not chunk numbers make it corrupt (b"")."""
    try:
        return b"".join(fields[field] for field in sorted(fields, key=int))
    except ValueError:
        return b""


def write_chunks(client, key: str, data: bytes, ttl: int) -> None:
    """Replace ``key`` with ``data`` atomically (MULTI/EXEC: one round trip)."""
    pipe = client.pipeline(transaction=True)
    pipe.delete(key)
    pipe.hset(key, mapping=pack(data) or {"0": b""})
    if ttl:
        pipe.expire(key, ttl)
    pipe.execute()


class HotTier(Protocol):
    name: str
    trusted: bool  # True when nothing outside this process can change a stored value

    def get(self, sha256: str) -> bytes | None: ...

    def set(self, sha256: str, data: bytes) -> None: ...

    def contains(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> None: ...


class MemoryHotTier:
    """A bounded LRU of bytes with a TTL, private to this process.

    Two uses: the hot tier itself when there is no Redis (the embedded default, ``memory``),
    and the small ``process`` cache in front of Redis that lets a worker answer its most
    requested objects without a network round trip (content is immutable, so a copy that was
    verified once can never be stale; the TTL only bounds how long a purge takes to reach it).
    """

    trusted = True

    def __init__(
        self, max_bytes: int, ttl: float, clock: Callable[[], float] = time.monotonic, *, name: str = "memory"
    ) -> None:
        self.name = name
        self.max_bytes = max_bytes
        self.ttl = ttl
        self.clock = clock
        self._items: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, sha256: str) -> bytes | None:
        """Lock-free: a hit is two single C-level dict operations, each atomic under the GIL.

        A lock here would be taken by every thread on every hot hit; a thread preempted while
        holding it stalls all the others (a lock convoy), which halves throughput under load.
        Writers still serialise on the lock; a reader racing a removal just misses.
        """
        item = self._items.get(sha256)
        if item is None:
            return None
        data, expires = item
        if self.ttl and expires <= self.clock():
            self.delete(sha256)
            return None
        try:
            self._items.move_to_end(sha256)  # LRU order
        except KeyError:  # evicted meanwhile by a writer: the bytes we hold are still good
            pass
        return data

    def set(self, sha256: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        with self._lock:
            self._remove(sha256)
            self._items[sha256] = (data, self.clock() + self.ttl)
            self._bytes += len(data)
            while self._bytes > self.max_bytes:
                self._remove(next(iter(self._items)))

    def contains(self, sha256: str) -> bool:
        return self.get(sha256) is not None

    def delete(self, sha256: str) -> None:
        with self._lock:
            self._remove(sha256)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"keys": len(self._items), "bytes": self._bytes, "max_bytes": self.max_bytes}

    def _remove(self, sha256: str) -> None:
        item = self._items.pop(sha256, None)
        if item is not None:
            self._bytes -= len(item[0])


class RedisHotTier:
    """Raw bytes in Redis under ``<prefix>:blob:{<sha256>}``, with a TTL — stored in chunks.

    The digest is a hash tag (``{…}``): on a Redis Cluster only it picks the slot, so an
    object's value and its fill lock (``locks.FillLocks``) always live in one slot.

    The value is a hash of 16 KiB chunks (fields ``0``, ``1``, …) rather than one string: Redis
    allocates through jemalloc, whose size classes are a quarter-power of two apart, so a single
    50 KiB string occupies a 56 KiB block (+12 %) and a 1 MiB one 1.25 MiB (+25 %). A chunk of
    ``CHUNK_BYTES`` plus its string header fills a 16 KiB class exactly, which brings Redis memory
    to ~1.02× the payload (measured by ``make bench``). Writing is one MULTI/EXEC round trip,
    reading one HGETALL: still a single round trip each way.

    Every Redis error becomes ``TierUnavailable`` (the store skips the tier for that call). A
    connection or timeout error also opens the guard's back-off window, in which calls fail fast
    without touching the network; an error Redis answers with (OOM on a full ``noeviction``
    Redis) only skips that write (``guard.is_outage``). The memory policy is checked on first use.
    """

    name = "redis"
    trusted = False  # anyone with access to Redis can change a value: verify what we read

    def __init__(self, client_factory: Callable[[], object], key_prefix: str, ttl: int, guard: OutageGuard) -> None:
        self._client_factory = client_factory
        self.key_prefix = key_prefix
        self.ttl = ttl
        self.guard = guard
        self.policy_checked = False

    def key(self, sha256: str) -> str:
        return f"{self.key_prefix}:blob:{{{sha256}}}"

    def get(self, sha256: str) -> bytes | None:
        chunks = self._call(lambda client: client.hgetall(self.key(sha256)))
        return unpack(chunks) if chunks else None

    def set(self, sha256: str, data: bytes) -> None:
        self._call(lambda client: write_chunks(client, self.key(sha256), data, self.ttl))

    def contains(self, sha256: str) -> bool:
        return bool(self._call(lambda client: client.exists(self.key(sha256))))

    def delete(self, sha256: str) -> None:
        self._call(lambda client: client.delete(self.key(sha256)))

    def _call(self, operation):
        if not self.guard.available():
            raise TierUnavailable("redis is unavailable (backing off)")
        try:
            client = self._client_factory()
            result = operation(client)
        except (RedisError, OSError) as error:
            self.guard.record_failure(error)
            raise TierUnavailable(f"redis: {error}") from error
        self.guard.record_success()
        if not self.policy_checked:
            self.policy_checked = True
            check_memory_policy(client)
        return result
