"""The last hour of serving, per minute, for the admin's Media cache chart.

The Prometheus counters already count every ``/media/`` answer by tier, summed over all
gunicorn workers (multiprocess mode). A sampler thread in each worker reads those totals at
the start of every minute into a small ring here; a minute's requests are the difference
between two samples. So the serving path pays nothing at all for the chart — no extra
increment, no Redis round trip — and whichever worker answers the admin page shows the whole
server, because every worker samples the same shared totals.

The ring lives in process memory: it starts empty when a worker starts (``make run`` restarts
begin a new hour), which is fine for an at-a-glance chart; Grafana over ``/metrics`` keeps the
long history (``deploy/grafana/mediacache.json``). Counter resets (a server restart under the
same multiprocess folder) are handled like Prometheus's ``increase()``: a drop starts over.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from media_store.ops import metrics

MINUTES = 60
# Tier labels of ``mediacache_media_requests`` → the chart's groups. "none" are answers that
# touched no tier (304, 404, 416, 503): counted as requests, not in the hit ratio.
GROUPS = {"process": "hot", "memory": "hot", "redis": "hot", "disk": "disk", "s3": "origin", "filesystem": "origin"}
SERIES = ("hot", "disk", "origin", "other")


@dataclass(frozen=True)
class Minute:
    start: int  # unix seconds at the start of the minute
    requests: dict[str, int] | None  # by series; None when no sample covers this minute

    @property
    def total(self) -> int:
        return sum(self.requests.values()) if self.requests else 0

    @property
    def hit_ratio(self) -> float | None:
        """Cache hits over hits plus origin reads; None when nothing was read from any tier."""
        if not self.requests:
            return None
        hits = self.requests["hot"] + self.requests["disk"]
        reads = hits + self.requests["origin"]
        return hits / reads if reads else None


def serving_totals() -> dict[str, float]:
    """Cumulative ``/media/`` answers by series, over all workers of this server."""
    totals = dict.fromkeys(SERIES, 0.0)
    for (tier,), value in metrics.totals("mediacache_media_requests", "tier").items():
        totals[GROUPS.get(tier, "other")] += value
    return totals


class Timeline:
    def __init__(
        self,
        read_totals: Callable[[], dict[str, float]] = serving_totals,
        clock: Callable[[], float] = time.time,
        minutes: int = MINUTES,
    ) -> None:
        self.read_totals = read_totals
        self.clock = clock
        self.size = minutes
        self._samples: OrderedDict[int, dict[str, float]] = OrderedDict()  # minute number → totals
        self._lock = threading.Lock()
        self._sampler: threading.Thread | None = None
        self._stop = threading.Event()

    def sample(self) -> None:
        """Record the current totals as this minute's starting point (the first sample of a minute wins)."""
        minute = int(self.clock() // 60)
        totals = self.read_totals()
        with self._lock:
            if minute in self._samples:
                return
            self._samples[minute] = totals
            while len(self._samples) > self.size + 1:
                self._samples.popitem(last=False)

    def last_hour(self) -> list[Minute]:
        """``minutes`` slots, oldest first, the current (partial) minute last."""
        now_minute = int(self.clock() // 60)
        live = self.read_totals()
        with self._lock:
            samples = dict(self._samples)
        slots = []
        for minute in range(now_minute - self.size + 1, now_minute + 1):
            start = samples.get(minute)
            end = live if minute == now_minute else samples.get(minute + 1)
            counts = None if start is None or end is None else _increase(start, end)
            slots.append(Minute(start=minute * 60, requests=counts))
        return slots

    def start_sampler(self) -> None:
        """Sample now and at the start of every minute, in a daemon thread (idempotent)."""
        with self._lock:
            if self._sampler is not None and self._sampler.is_alive():
                return
            self._stop.clear()
            self._sampler = threading.Thread(target=self._run, name="media-timeline", daemon=True)
            self._sampler.start()

    def stop_sampler(self) -> None:
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample()
            except Exception:  # noqa: BLE001 — a failed read must not end the sampling for good
                pass
            self._stop.wait(60.5 - self.clock() % 60)  # just past the next minute boundary


def _increase(start: dict[str, float], end: dict[str, float]) -> dict[str, int]:
    """Per-series growth; a counter that went down was reset, so its new value is the growth."""
    return {name: int(end[name] - start[name] if end[name] >= start[name] else end[name]) for name in SERIES}


timeline = Timeline()
