"""The process's store, built from settings on first use and rebuilt when they change.

Tier objects hold connection pools, guards and per-process verification memory, so they are
built once per process (lazily: gunicorn forks workers before any request, and each worker
gets its own pools). Everything else kept once per process — locks, counters, negative caches,
the variant lookup, chat's token resolver — lives in ``per_process``. ``reset()`` forgets all of
it; it runs on Django's ``setting_changed`` signal so that ``override_settings`` in tests sees
objects built from the overridden values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from media_store.conf import media_settings
from media_store.store import MediaStore
from media_store.tiers.connections import redis_configured
from media_store.tiers.disk import DiskTier
from media_store.tiers.folder import FilesystemOrigin
from media_store.tiers.guard import OutageGuard
from media_store.tiers.hot import MemoryHotTier, RedisHotTier
from media_store.tiers.locks import FillLocks
from media_store.tiers.origin import Origin
from media_store.tiers.s3 import S3Origin

_lock = threading.RLock()  # get_store() builds shared pieces under it
_store: MediaStore | None = None
_redis = None
_redis_guard: OutageGuard | None = None
_shared: dict[tuple, object] = {}

T = TypeVar("T")


def get_store() -> MediaStore:
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                _store = build_store()
    return _store


def get_origin() -> Origin:
    return get_store().origin


def redis_client():
    """The shared redis-py client of ``caches["default"]``, or None without Redis.

    Whatever the topology (``tiers.connections``): a ``Redis`` on one server's pool, a ``Redis``
    on a Sentinel-managed pool (it finds the new primary after a failover by itself), or a
    ``RedisCluster`` (it follows slot moves and promoted replicas).
    """
    global _redis
    if not redis_configured():
        return None
    if _redis is None:
        from django_redis import get_redis_connection

        _redis = get_redis_connection("default")
    return _redis


def redis_guard() -> OutageGuard:
    """One guard per process for everything that talks to Redis: one outage, one back-off."""
    global _redis_guard
    if _redis_guard is None:
        _redis_guard = OutageGuard(
            "redis",
            retry_seconds=media_settings.MEDIA_REDIS_RETRY_SECONDS,
            log_interval=media_settings.MEDIA_LOG_INTERVAL_SECONDS,
        )
    return _redis_guard


def build_origin() -> Origin:
    s = media_settings
    if s.MEDIA_STORAGE == "s3":
        return S3Origin(
            bucket=s.AWS_STORAGE_BUCKET_NAME,
            endpoint_url=s.AWS_S3_ENDPOINT_URL,
            region=s.AWS_S3_REGION_NAME,
            access_key=s.AWS_ACCESS_KEY_ID,
            secret_key=s.AWS_SECRET_ACCESS_KEY,
            timeout=s.MEDIA_ORIGIN_TIMEOUT,
        )
    return FilesystemOrigin(s.MEDIA_ORIGIN_DIR)


def build_store() -> MediaStore:
    s = media_settings
    redis_factory = redis_client if redis_configured() else None
    hot = disk = process = None
    if s.ENABLE_CACHING:
        if redis_factory:
            hot = RedisHotTier(redis_factory, s.MEDIA_REDIS_KEY_PREFIX, s.MEDIA_REDIS_TTL, redis_guard())
            if s.MEDIA_PROCESS_CACHE_BYTES:
                process = MemoryHotTier(s.MEDIA_PROCESS_CACHE_BYTES, s.MEDIA_PROCESS_CACHE_SECONDS, name="process")
        else:
            hot = MemoryHotTier(s.MEDIA_MEMORY_TIER_MAX_BYTES, s.MEDIA_REDIS_TTL)
        disk_guard = OutageGuard("disk", retry_seconds=0, log_interval=s.MEDIA_LOG_INTERVAL_SECONDS)
        disk = DiskTier(s.MEDIA_CACHE_DIR, guard=disk_guard, max_bytes=s.MEDIA_DISK_MAX_BYTES)
    return MediaStore(
        origin=build_origin(),
        hot=hot,
        disk=disk,
        locks=fill_locks(),
        max_hot_bytes=s.MEDIA_REDIS_MAX_OBJECT_BYTES,
        process=process,
    )


def reset() -> None:
    """Forget everything built from settings, ``per_process`` objects included (tests; a changed setting)."""
    global _store, _redis, _redis_guard
    with _lock:
        _store = None
        _redis = None
        _redis_guard = None
        _shared.clear()


def per_process(key: tuple, build: Callable[[], T]) -> T:
    """The one object for ``key`` in this process, made by ``build()`` on first use, until ``reset()``.

    This is the home of every "one per process, built from settings" object, the engine's and
    its callers' (chat's token resolver), so that one ``reset()`` — a changed setting, a test —
    forgets them all. Start ``key`` with a name that says whose object it is. A hit reads the
    dict without the lock (the token resolver asks on every request, from 8 threads per worker);
    only a miss builds, under the lock, so each key is built once.
    """
    found = _shared.get(key)
    if found is not None:
        return found
    with _lock:
        found = _shared.get(key)
        if found is None:
            found = _shared[key] = build()
    return found


def fill_locks() -> FillLocks:
    """Single-flight locks (per process, then Redis), shared by the store and the WhatsApp fetcher."""
    s = media_settings
    return per_process(
        ("fill_locks",),
        lambda: FillLocks(
            wait_seconds=s.MEDIA_FILL_WAIT_SECONDS,
            redis_factory=redis_client if redis_configured() else None,
            key_prefix=s.MEDIA_REDIS_KEY_PREFIX,
            guard=redis_guard(),
        ),
    )


def shared_state(name: str):
    """The process's "Redis, else memory" store for one use (``tiers.shared``): ``counters``,
    ``negative:<namespace>``, ``memo``. Each use gets its own bounded local fallback map."""
    from django.core.cache import caches

    from media_store.tiers.shared import SharedState

    return per_process(
        ("shared", name),
        lambda: SharedState(caches["default"] if redis_configured() else None, redis_guard()),
    )


def variant_locks() -> FillLocks:
    """The fill locks, for variants: the same key space and mechanism, but a waiter waits as long
    as a transcode may take (its slot wait plus its time limit), and the Redis lock outlives
    it, so 50 concurrent first requests still make one transcode across all nodes."""
    s = media_settings
    return per_process(
        ("variant_locks",),
        lambda: FillLocks(
            wait_seconds=s.MEDIA_TRANSCODE_TIMEOUT + s.MEDIA_TRANSCODE_WAIT_SECONDS + 5,
            redis_factory=redis_client if redis_configured() else None,
            key_prefix=s.MEDIA_REDIS_KEY_PREFIX,
            guard=redis_guard(),
        ),
    )


def counters(name: str):
    """Process-wide named counters (a Redis hash when configured); see ``ops.counters``."""
    from media_store.ops.counters import Counters

    return per_process(
        ("counters", name),
        lambda: Counters(name, key_prefix=media_settings.MEDIA_REDIS_KEY_PREFIX, state=shared_state("counters")),
    )


def negative_cache(namespace: str):
    """The negative cache for ``namespace`` (``"url"``, ``"whatsapp"``); see ``fetch.negative``."""
    from media_store.fetch.negative import NegativeCache

    s = media_settings
    return per_process(
        ("negative", namespace),
        lambda: NegativeCache(
            namespace,
            ttl=s.FAILED_MEDIA_TTL,
            key_prefix=s.MEDIA_REDIS_KEY_PREFIX,
            state=shared_state(f"negative:{namespace}"),
        ),
    )
