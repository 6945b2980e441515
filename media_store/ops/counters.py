"""Named counters shared by every process: a Redis hash (atomic HINCRBY), or process memory.

Used for the low-volume operator statistics of CONTRACT §4 (WhatsApp fetches, downloads),
which must add up across gunicorn workers, Celery workers and management commands. With
Redis absent or down, increments land in this process's memory and ``values()`` reports Redis
plus what this process counted locally — the numbers stay useful while the cache is degraded.
(Per-request serving metrics are Prometheus counters instead: see ``metrics.py``.)
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from media_store.tiers.guard import OutageGuard, redis_call


class Counters:
    def __init__(
        self,
        name: str,
        *,
        key_prefix: str = "mc",
        redis_factory: Callable[[], object] | None = None,
        guard: OutageGuard | None = None,
    ) -> None:
        self.key = f"{key_prefix}:stats:{name}"
        self.redis_factory = redis_factory
        self.guard = guard
        self._local: Counter[str] = Counter()
        self._lock = threading.Lock()

    def incr(self, field: str, amount: int = 1) -> None:
        if self._redis_call(lambda client: client.hincrby(self.key, field, amount)) is None:
            with self._lock:
                self._local[field] += amount

    def values(self) -> dict[str, int]:
        shared = self._redis_call(lambda client: client.hgetall(self.key)) or {}
        totals = Counter({key.decode(): int(value) for key, value in shared.items()})
        with self._lock:
            totals.update(self._local)
        return dict(totals)

    def reset(self) -> None:
        self._redis_call(lambda client: client.delete(self.key))
        with self._lock:
            self._local.clear()

    def _redis_call(self, operation):
        return redis_call(self.redis_factory, self.guard, operation)


def hit_rate(hits: int, total: int) -> str:
    """``"30.0%"`` — the CONTRACT's string form of a ratio (``"0.0%"`` when nothing happened)."""
    return f"{(100.0 * hits / total) if total else 0.0:.1f}%"
