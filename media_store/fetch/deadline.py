"""One deadline for a whole fetch: DNS, connects, redirects, reads, retries and their waits.

A download used to be bounded only per step — connect and read timeouts per hop (up to six
hops), DNS without any timeout, three attempts with back-off waits between — so one request
thread could be held for minutes, longer than the Redis fill lock. Now an operation runs under
``within(seconds)`` (``DOWNLOAD_TIMEOUT``) and every step asks the current deadline for the time
left: the SSRF-safe adapter per request and hop, the DNS lookup, the body loop per read, the
retry policy before each wait. Running out raises ``DeadlineExceeded`` (a transient upstream
failure: 502, never remembered by the negative cache).

The deadline travels in a context variable, so the layers in between need no new parameters;
a nested ``within`` can only shorten it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from media_store.exceptions import DownloadError


class DeadlineExceeded(DownloadError):
    code = "deadline_exceeded"

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


class Deadline:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.ends = clock() + seconds

    def remaining(self) -> float:
        return self.ends - self.clock()

    def timeout(self, cap: float | None = None) -> float:
        """Seconds a step may take: what is left, at most ``cap``. Raises when nothing is left."""
        left = self.remaining()
        if left <= 0:
            raise self.exceeded()
        return left if cap is None else min(cap, left)

    def exceeded(self, what: str = "") -> DeadlineExceeded:
        suffix = f" ({what})" if what else ""
        return DeadlineExceeded(f"gave up after {self.seconds:g}s, the deadline for the whole fetch{suffix}")


_current: ContextVar[Deadline | None] = ContextVar("media_fetch_deadline", default=None)


def current() -> Deadline | None:
    return _current.get()


@contextmanager
def within(seconds: float, clock: Callable[[], float] = time.monotonic) -> Iterator[Deadline]:
    """Run the block under a deadline ``seconds`` from now (or the enclosing one, if sooner)."""
    outer = _current.get()
    mine = Deadline(seconds, clock)
    if outer is not None and outer.ends <= mine.ends:
        mine = outer
    token = _current.set(mine)
    try:
        yield mine
    finally:
        _current.reset(token)


def step_timeout(cap: float) -> float:
    """``cap`` limited by the current deadline (``cap`` itself when none is set)."""
    deadline = _current.get()
    return cap if deadline is None else deadline.timeout(cap)
