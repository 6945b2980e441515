"""Single-flight: concurrent misses for one content make one origin GET.

Two levels. Threads of one process queue on a per-digest lock, so only one of them even asks
Redis; processes (and machines) then queue on a Redis lock. Whoever gets through first fills
the tiers; the others re-check the tiers after the wait and find the content there.

Waiting is bounded (``MEDIA_FILL_WAIT_SECONDS``): a waiter that times out, or finds Redis
down, goes ahead on its own — a second origin GET is better than a stuck request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from redis.exceptions import LockError, RedisError

from media_store.tiers.guard import OutageGuard

logger = logging.getLogger("media_store.tiers.locks")


class KeyedLocks:
    """One ``threading.Lock`` per key, created on demand and dropped when nobody holds it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str, timeout: float) -> Iterator[bool]:
        """Yields True when the lock was acquired, False when ``timeout`` ran out first."""
        with self._guard:
            lock, users = self._locks.get(key, (None, 0))
            if lock is None:
                lock = threading.Lock()
            self._locks[key] = (lock, users + 1)
        acquired = lock.acquire(timeout=timeout)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


class FillLocks:
    def __init__(
        self,
        *,
        wait_seconds: float,
        redis_factory: Callable[[], object] | None = None,
        key_prefix: str = "mc",
        guard: OutageGuard | None = None,
    ) -> None:
        self.wait_seconds = wait_seconds
        self.redis_factory = redis_factory
        self.key_prefix = key_prefix
        self.guard = guard
        self.local = KeyedLocks()

    @contextmanager
    def hold(self, sha256: str) -> Iterator[None]:
        with self.local.hold(sha256, self.wait_seconds) as acquired:
            if not acquired:
                logger.warning("media.fill_wait_timeout scope=process hash=%s: filling without the lock", sha256)
            with self._distributed(sha256):
                yield

    @contextmanager
    def _distributed(self, sha256: str) -> Iterator[None]:
        lock = self._acquire_redis_lock(sha256)
        try:
            yield
        finally:
            if lock is not None:
                try:
                    lock.release()
                except (LockError, RedisError) as error:  # expired or Redis gone: nothing to undo
                    logger.info("media.fill_lock_release hash=%s: %s", sha256, error)

    def _acquire_redis_lock(self, sha256: str):
        if self.redis_factory is None or (self.guard and not self.guard.available()):
            return None
        try:
            lock = self.redis_factory().lock(
                f"{self.key_prefix}:fill:{{{sha256}}}",  # hash tag: the slot of the object's value
                timeout=max(60.0, self.wait_seconds * 2),  # a crashed holder cannot block forever
                sleep=0.02,
                blocking=True,
                blocking_timeout=self.wait_seconds,
            )
            if lock.acquire():
                return lock
            logger.warning("media.fill_wait_timeout scope=cluster hash=%s: filling without the lock", sha256)
        except RedisError as error:
            if self.guard:
                self.guard.record_failure(error)
        return None
