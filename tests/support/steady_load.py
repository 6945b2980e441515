"""A steady stream of GETs against a running server, every answer checked and time-stamped.

Used by the failover test and the benchmark: while the load runs, something is broken on
purpose (a Redis primary killed); afterwards ``results`` says, per request, when it finished,
its status, whether the bytes were exactly right and which tier served it.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class Answer:
    at: float  # time.monotonic() when the answer was complete
    kind: str  # "hot", "disk" or "cold" — what the request was meant to exercise
    status: int  # 0: no HTTP answer at all (connection error, timeout)
    correct: bool  # body identical to the ingested bytes
    tier: str  # X-Cache-Tier


class SteadyLoad:
    """``threads`` clients cycling over hot and disk items, each also taking cold items in turn."""

    def __init__(self, base_url: str, hot: list, disk: list, cold: list, *, threads: int = 4) -> None:
        self.base_url = base_url
        self.plan = [("hot", item) for item in hot] + [("disk", item) for item in disk]
        self.cold = list(cold)
        self.threads = threads
        self.results: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> SteadyLoad:
        for n in range(self.threads):
            worker = threading.Thread(target=self._run, args=(n,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> list[Answer]:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)
        return self.results

    def _next_cold(self):
        with self._lock:
            return self.cold.pop() if self.cold else None

    def _run(self, offset: int) -> None:
        session = requests.Session()
        for step in itertools.count(offset):
            if self._stop.is_set():
                return
            kind, item = self.plan[step % len(self.plan)]
            if step % 5 == 0:
                cold = self._next_cold()
                if cold is not None:
                    kind, item = "cold", cold
            self._record(session, kind, item)

    def _record(self, session: requests.Session, kind: str, item) -> None:
        try:
            response = session.get(self.base_url + item.path, timeout=15)
            answer = Answer(
                time.monotonic(),
                kind,
                response.status_code,
                response.content == item.payload,
                response.headers.get("X-Cache-Tier", ""),
            )
        except requests.RequestException:
            answer = Answer(time.monotonic(), kind, 0, False, "")
        with self._lock:
            self.results.append(answer)


def failover_window(results: list[Answer], killed_at: float, *, settled: float = 1.0) -> float | None:
    """Seconds from ``killed_at`` until Redis served for good, or None if it never stopped or resumed.

    "For good" is the start of the first stretch of ``settled`` seconds, after the first hot
    request Redis did not serve, in which Redis served *every* hot request. One answer is not
    enough either way: with two gunicorn workers each following the failover on its own, the
    first Redis hit of the worker that recovered first says nothing about the other, and one
    answer read from Redis just before the kill that completes (a large body) just after it
    must not make the outage look shorter than it was.
    """
    hot = sorted((a for a in results if a.kind == "hot" and a.at > killed_at), key=lambda answer: answer.at)
    first_degraded = next((n for n, a in enumerate(hot) if a.tier != "redis"), None)
    if first_degraded is None:
        return None
    stretch_start: float | None = None
    for answer in hot[first_degraded:]:
        if answer.tier != "redis":
            stretch_start = None
        elif stretch_start is None:
            stretch_start = answer.at
        elif answer.at - stretch_start >= settled:
            return stretch_start - killed_at
    return None


def timeline(results: list[Answer], killed_at: float) -> str:
    """Per second after ``killed_at``: which tiers served the hot requests — the failure message
    that tells "Redis never came back" from "Redis never went away"."""
    seconds: dict[int, dict[str, int]] = {}
    for answer in results:
        if answer.kind == "hot" and answer.at > killed_at:
            tiers = seconds.setdefault(int(answer.at - killed_at), {})
            tiers[answer.tier] = tiers.get(answer.tier, 0) + 1
    return "; ".join(f"+{second}s {tiers}" for second, tiers in sorted(seconds.items()))
