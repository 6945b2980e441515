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

The storage (Redis with the process-memory fallback, counters, clear/flush) is ``memo.storage``,
on ``media_store.tiers.shared``.
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
import uuid
from collections.abc import Callable
from typing import Any

from media_store.conf import media_settings
from memo.storage import MISSING, GenericCache


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


_cache = GenericCache()


def get_cache() -> GenericCache:
    return _cache


def cache_key(prefix: str, func: Callable, args: tuple, kwargs: dict, signature: inspect.Signature) -> str:
    """``<namespace><prefix>:<module.function>:<digest of the canonical arguments>``."""
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
    return f"{GenericCache.namespace(prefix)}{func.__module__}.{func.__qualname__}:{digest}"


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
                return None, MISSING
            key = cache_key(key_prefix, func, args, kwargs, signature)
            return key, _cache.get(key)

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args, **kwargs):
                key, value = await asyncio.to_thread(lookup, args, kwargs)
                if value is not MISSING:
                    return value
                value = await func(*args, **kwargs)
                if key is not None:
                    await asyncio.to_thread(_cache.set, key, value, effective_ttl(key_prefix, ttl))
                return value

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            key, value = lookup(args, kwargs)
            if value is not MISSING:
                return value
            value = func(*args, **kwargs)
            if key is not None:
                _cache.set(key, value, effective_ttl(key_prefix, ttl))
            return value

        return wrapper

    return decorate
