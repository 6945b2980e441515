"""Remember that a dependency is down, so a request does not pay for finding out again.

When Redis stops, every request would otherwise spend a connect attempt on it and log a
traceback. An ``OutageGuard`` turns that into: skip the dependency for ``retry_seconds`` after
a failure, and log a warning at most once per ``log_interval`` (with the count suppressed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from redis.exceptions import RedisError

logger = logging.getLogger("media_store.degraded")


class OutageGuard:
    def __init__(
        self,
        name: str,
        *,
        retry_seconds: float,
        log_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.retry_seconds = retry_seconds
        self.log_interval = log_interval
        self.clock = clock
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._last_logged = float("-inf")
        self._suppressed = 0
        self.failures = 0

    def available(self) -> bool:
        """False while we are inside the back-off window after a failure."""
        return self.clock() >= self._down_until

    def record_failure(self, error: BaseException) -> None:
        now = self.clock()
        with self._lock:
            self.failures += 1
            self._down_until = now + self.retry_seconds
            if now - self._last_logged < self.log_interval:
                self._suppressed += 1
                return
            suppressed, self._suppressed = self._suppressed, 0
            self._last_logged = now
        logger.warning(
            "media.degraded tier=%s error=%s: %s (serving without it; %d similar failures not logged)",
            self.name,
            type(error).__name__,
            error,
            suppressed,
        )

    def record_success(self) -> None:
        if self._down_until:
            with self._lock:
                self._down_until = 0.0


def redis_call(redis_factory: Callable[[], object] | None, guard: OutageGuard | None, operation):
    """``operation(client)``, or None when Redis is not configured, backing off, or failing.

    For the optional uses of Redis (shared counters, the negative cache): their callers fall
    back to process memory on None, and a failure opens the guard's back-off window.
    """
    if redis_factory is None or (guard is not None and not guard.available()):
        return None
    try:
        return operation(redis_factory())
    except (RedisError, OSError) as error:
        if guard is not None:
            guard.record_failure(error)
        return None
