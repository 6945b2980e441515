"""``@cached``: memoise expensive calls of the rest of the backend in Redis.

    @cached(ttl=300, key_prefix="profiles")
    def fetch_profile(wa_id: str) -> dict: ...

    @cached(ttl=60, key_prefix="contacts")
    async def fetch_contacts(account_id: int) -> list: ...

- The key is ``<MEDIA_REDIS_KEY_PREFIX>:cache:<key_prefix>:<function>:<digest of the arguments>``;
  arguments are serialised canonically (JSON, sorted keys), so equal calls share a key across
  processes and restarts. Model instances count by ``<app.model>:<pk>``; any object can take
  part by defining ``cache_key()``. For methods, ``self``/``cls`` counts by its class (plus its
  ``cache_key()`` when it has one), never by its memory address.
- Redis first; while Redis is down (the shared guard is open) values live in this process's
  memory, and the cache goes back to Redis as soon as it answers again.
- ``ENABLE_CACHING=false`` turns it off (every call runs). ``CACHE_TTLS`` (``prefix=seconds,…``)
  overrides the decorator's ``ttl`` per prefix without a deploy.
- Only this cache's keys are ever deleted (``clear(prefix)``, ``flush()``): never FLUSHDB.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import decimal
import functools
import hashlib
import inspect
import json
import logging
import pickle
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from cachetools import TLRUCache
from redis.exceptions import RedisError

from . import runtime
from .conf import media_settings
from .stats import hit_rate

logger = logging.getLogger("media_store.caching")

_MISSING = object()
LOCAL_MAX_ENTRIES = 10_000
SCAN_BATCH = 1000


class UncacheableArgument(TypeError):
    """An argument has no stable identity to build a cache key from."""


def _canonical(value: Any) -> Any:
    """JSON-able, stable form of an argument (same value → same form, in every process)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, set | frozenset):
        return sorted((_canonical(item) for item in value), key=json.dumps)
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, datetime.date | datetime.time):
        return {"iso": value.isoformat()}
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return {type(value).__name__: str(value)}
    if hasattr(value, "cache_key"):
        return {"key": value.cache_key()}
    meta = getattr(value, "_meta", None)
    if meta is not None and getattr(value, "pk", None) is not None:
        return {"model": f"{meta.label_lower}:{value.pk}"}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {type(value).__qualname__: _canonical(dataclasses.asdict(value))}
    raise UncacheableArgument(
        f"cannot build a cache key from a {type(value).__qualname__}; give it a cache_key() method"
    )


class GenericCache:
    """The storage behind ``@cached``: Redis, or process memory while Redis is down."""

    def __init__(self) -> None:
        self._local: TLRUCache[str, tuple[float, Any]] = TLRUCache(
            maxsize=LOCAL_MAX_ENTRIES, ttu=lambda _key, value, now: value[0], timer=time.monotonic
        )
        self._lock = threading.Lock()
        self._local_lookups = 0
        self._local_misses = 0

    # -- keys ------------------------------------------------------------------------------
    @staticmethod
    def namespace(prefix: str = "") -> str:
        base = f"{media_settings.MEDIA_REDIS_KEY_PREFIX}:cache:"
        return f"{base}{prefix}:" if prefix else base

    def key(self, prefix: str, func: Callable, args: tuple, kwargs: dict, signature: inspect.Signature) -> str:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        first = next(iter(signature.parameters), None)
        if first in ("self", "cls") and first in arguments:
            owner = arguments.pop(first)
            cls = owner if first == "cls" else type(owner)
            own_key = owner.cache_key() if first == "self" and hasattr(owner, "cache_key") else None
            arguments[f"<{first}>"] = [f"{cls.__module__}.{cls.__qualname__}", own_key]
        payload = json.dumps(_canonical(arguments), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(payload.encode()).hexdigest()[:32]
        return f"{self.namespace(prefix)}{func.__module__}.{func.__qualname__}:{digest}"

    # -- get / set -------------------------------------------------------------------------
    def get(self, key: str) -> Any:
        client = self._redis()
        if client is not None:
            try:
                raw, _ = client.pipeline(transaction=False).get(key).hincrby(self._stats_key, "lookups", 1).execute()
            except (RedisError, OSError) as error:
                runtime.redis_guard().record_failure(error)
            else:
                return _MISSING if raw is None else self._loads(key, raw)
        with self._lock:
            self._local_lookups += 1
            entry = self._local.get(key)
        return _MISSING if entry is None else entry[1]

    def set(self, key: str, value: Any, ttl: float) -> None:
        try:
            raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            logger.warning("cache.unpicklable key=%s: %s (result returned uncached)", key, error)
            return
        client = self._redis()
        if client is not None:
            try:
                pipe = client.pipeline(transaction=False)
                pipe.set(key, raw, ex=max(1, int(ttl))).hincrby(self._stats_key, "misses", 1).execute()
                return
            except (RedisError, OSError) as error:
                runtime.redis_guard().record_failure(error)
        with self._lock:
            self._local_misses += 1
            self._local[key] = (time.monotonic() + ttl, value)

    # -- operator side ---------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Hits, misses, hit ratio, keys and memory (Redis and this process's fallback)."""
        with self._lock:
            local = {"keys": len(self._local), "lookups": self._local_lookups, "misses": self._local_misses}
        report = {"backend": "memory", "keys": local["keys"], "memory_bytes": None}
        lookups, misses = local["lookups"], local["misses"]
        client = self._redis()
        if client is not None:
            try:
                counts = {k.decode(): int(v) for k, v in client.hgetall(self._stats_key).items()}
                keys, memory = self._scan_usage(client)
                lookups += counts.get("lookups", 0)
                misses += counts.get("misses", 0)
                report = {"backend": "redis", "keys": keys + local["keys"], "memory_bytes": memory}
            except (RedisError, OSError) as error:
                runtime.redis_guard().record_failure(error)
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
        removed = self._delete_matching(self.namespace())
        client = self._redis()
        if client is not None:
            client.delete(self._stats_key)
        with self._lock:
            self._local_lookups = self._local_misses = 0
        return removed

    # -- internals -------------------------------------------------------------------------
    @staticmethod
    def _loads(key: str, raw: bytes) -> Any:
        try:
            return pickle.loads(raw)
        except Exception as error:  # a value from another code version: treat as a miss
            logger.warning("cache.unreadable key=%s: %s", key, error)
            return _MISSING

    @property
    def _stats_key(self) -> str:
        return f"{media_settings.MEDIA_REDIS_KEY_PREFIX}:stats:cache"

    @staticmethod
    def _redis():
        client = runtime.redis_client()
        return client if client is not None and runtime.redis_guard().available() else None

    def _delete_matching(self, namespace: str) -> int:
        removed = 0
        client = self._redis()
        if client is not None:
            batch = []
            for key in client.scan_iter(match=f"{namespace}*", count=SCAN_BATCH):
                batch.append(key)
                if len(batch) >= SCAN_BATCH:
                    removed += client.unlink(*batch)
                    batch = []
            if batch:
                removed += client.unlink(*batch)
        with self._lock:
            local_keys = [key for key in list(self._local.keys()) if key.startswith(namespace)]
            for key in local_keys:
                self._local.pop(key, None)
        return removed + len(local_keys)

    def _scan_usage(self, client) -> tuple[int, int]:
        """Key count and bytes (``MEMORY USAGE``, pipelined per batch) of this cache's keys."""
        keys = memory = 0
        batch: list[bytes] = []

        def measure() -> int:
            pipe = client.pipeline(transaction=False)
            for key in batch:
                pipe.memory_usage(key)
            return sum(size or 0 for size in pipe.execute())

        for key in client.scan_iter(match=f"{self.namespace()}*", count=SCAN_BATCH):
            keys += 1
            batch.append(key)
            if len(batch) >= SCAN_BATCH:
                memory += measure()
                batch = []
        if batch:
            memory += measure()
        return keys, memory


_cache = GenericCache()


def get_cache() -> GenericCache:
    return _cache


def effective_ttl(prefix: str, ttl: float) -> float:
    """``CACHE_TTLS`` (per-service overrides from the environment) wins over the decorator."""
    return float(media_settings.CACHE_TTLS.get(prefix, ttl))


def cached(ttl: float, key_prefix: str) -> Callable[[Callable], Callable]:
    """Cache a function's result for ``ttl`` seconds under ``key_prefix`` (see module doc)."""
    if not key_prefix or ":" in key_prefix or "*" in key_prefix:
        raise ValueError(f"key_prefix must be a non-empty name without ':' or '*', not {key_prefix!r}")
    if ttl <= 0:
        raise ValueError(f"ttl must be positive, not {ttl!r}")

    def decorate(func: Callable) -> Callable:
        signature = inspect.signature(func)

        def lookup(args: tuple, kwargs: dict) -> tuple[str | None, Any]:
            if not media_settings.ENABLE_CACHING:
                return None, _MISSING
            key = _cache.key(key_prefix, func, args, kwargs, signature)
            return key, _cache.get(key)

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args, **kwargs):
                key, value = await asyncio.to_thread(lookup, args, kwargs)
                if value is not _MISSING:
                    return value
                value = await func(*args, **kwargs)
                if key is not None:
                    await asyncio.to_thread(_cache.set, key, value, effective_ttl(key_prefix, ttl))
                return value

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            key, value = lookup(args, kwargs)
            if value is not _MISSING:
                return value
            value = func(*args, **kwargs)
            if key is not None:
                _cache.set(key, value, effective_ttl(key_prefix, ttl))
            return value

        return wrapper

    return decorate
