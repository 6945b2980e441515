"""Remember that a dependency is down, so a request does not pay for finding out again.

When Redis stops, every request would otherwise spend a connect attempt on it and log a
traceback. An ``OutageGuard`` turns that into: skip the dependency for ``retry_seconds`` after
a failure, and log a warning at most once per ``log_interval`` (with the count suppressed).

Not every error is an outage. A Redis that *answers* with an error — ``OOM command not allowed
when used memory > 'maxmemory'``, ``WRONGTYPE``, a script error — is up: backing off would
switch off fill locks, the negative cache and the counters together because one write did not
fit. So errors are classified (``is_outage``): connection and timeout errors (and a replica
that is loading or read-only after a failover) open the back-off window; any other answer
refuses only the command that got it — the caller skips that write — and is logged at most
once per interval as ``media.refused``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("media_store.degraded")

# Redis is unreachable, too slow, or cannot take writes on this connection: back off.
# (BusyLoadingError is a ConnectionError; ReadOnlyError means we reached a demoted master.)
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError)


def is_outage(error: BaseException) -> bool:
    """True when the dependency is down (back off); False when it answered with an error
    (out of memory, wrong type, …): that one command is refused, the server is fine."""
    return isinstance(error, OUTAGE_ERRORS) or not isinstance(error, RedisError)


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
        self._refusal_logged = float("-inf")
        self._refusals_suppressed = 0
        self.refusals = 0

    def available(self) -> bool:
        """False while we are inside the back-off window after a failure."""
        return self.clock() >= self._down_until

    def record_failure(self, error: BaseException) -> None:
        """An error from the dependency: an outage backs off, a refusal does not (see module doc)."""
        if is_outage(error):
            self.record_outage(error)
        else:
            self.record_refusal(error)

    def record_refusal(self, error: BaseException) -> None:
        """The server is up but refused one command (e.g. OOM): count it, log once per interval."""
        now = self.clock()
        with self._lock:
            self.refusals += 1
            if now - self._refusal_logged < self.log_interval:
                self._refusals_suppressed += 1
                return
            suppressed, self._refusals_suppressed = self._refusals_suppressed, 0
            self._refusal_logged = now
        logger.warning(
            "media.refused tier=%s error=%s: %s (that write skipped, %s stays in use; %d similar not logged)",
            self.name,
            type(error).__name__,
            error,
            self.name,
            suppressed,
        )

    def record_outage(self, error: BaseException) -> None:
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
    back to process memory on None. A connection or timeout error opens the guard's back-off
    window; an error Redis answers with (OOM on a write) only skips this call.
    """
    if redis_factory is None or (guard is not None and not guard.available()):
        return None
    try:
        return operation(redis_factory())
    except (RedisError, OSError) as error:
        if guard is not None:
            guard.record_failure(error)
        return None
