"""Named counters shared by every process (a Redis hash, atomic HINCRBY), or process memory.

Used for the low-volume operator statistics of CONTRACT §4 (WhatsApp fetches, downloads), which
must add up across gunicorn workers, Celery workers and management commands. With Redis absent or
down, increments land in this process's memory and ``values()`` reports Redis plus what this
process counted locally — the numbers stay useful while the cache is degraded (``tiers.shared``).
(Per-request serving metrics are Prometheus counters instead: see ``metrics.py``.)
"""

from __future__ import annotations

from media_store.tiers.shared import SharedState


class Counters:
    def __init__(self, name: str, *, key_prefix: str = "mc", state: SharedState | None = None) -> None:
        self.key = f"{key_prefix}:stats:{name}"
        self.state = state or SharedState()

    def incr(self, field: str, amount: int = 1) -> None:
        self.state.incr(self.key, field, amount)

    def values(self) -> dict[str, int]:
        return self.state.counts(self.key)

    def reset(self) -> None:
        self.state.reset_counts(self.key)


def hit_rate(hits: int, total: int) -> str:
    """``"30.0%"`` — the CONTRACT's string form of a ratio (``"0.0%"`` when nothing happened)."""
    return f"{(100.0 * hits / total) if total else 0.0:.1f}%"
