"""Each web node looks after the chat app's own rows: rescue stuck jobs, prune old ones.

A thread in every gunicorn worker (``post_worker_init`` in ``gunicorn.conf.py``), like the disk
sweeper, so it needs no Celery beat and keeps working while the broker is the thing that
failed — which is exactly when an asynchronous job gets stuck (``chat.jobs.rescue_stale``).
Of a node's workers one does the work: the holder of an ``flock`` on
``<MEDIA_CACHE_DIR>/.housekeeping`` (released when its process dies, then taken by another),
so a node asks the database once per interval, not once per worker. Correctness does not
depend on that election — a job is claimed with one conditional ``UPDATE`` and pruning is an
idempotent ``DELETE`` — so any number of nodes may run this at once, and a worker that cannot
open the lock file works anyway.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from media_store.conf import media_settings
from media_store.tiers.file_locks import try_flock

logger = logging.getLogger("chat.housekeeping")

PRUNE_EVERY_SECONDS = 3600.0
ELECTION_RETRY_SECONDS = 10.0  # how soon another worker takes over from one that died
LOCK_NAME = ".housekeeping"
_started: threading.Thread | None = None


def prune(now=None) -> dict[str, int]:
    """Delete finished jobs past ``MEDIA_JOB_RETENTION_DAYS`` and keys past ``MEDIA_IDEMPOTENCY_HOURS``."""
    from chat.idempotency import IdempotencyKey
    from chat.jobs import FetchJob

    now = now or timezone.now()
    jobs_before = now - timedelta(days=media_settings.MEDIA_JOB_RETENTION_DAYS)
    keys_before = now - timedelta(hours=media_settings.MEDIA_IDEMPOTENCY_HOURS)
    jobs, _ = FetchJob.objects.exclude(state=FetchJob.PENDING).filter(finished_at__lt=jobs_before).delete()
    keys, _ = IdempotencyKey.objects.filter(created_at__lt=keys_before).delete()
    if jobs or keys:
        logger.info("media.pruned jobs=%d idempotency_keys=%d", jobs, keys)
    return {"jobs": jobs, "idempotency_keys": keys}


class Housekeeper:
    """One pass every ``interval`` seconds: rescue stale jobs; prune once per ``PRUNE_EVERY_SECONDS``."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last_prune = float("-inf")
        self.last_outage_warning = float("-inf")
        self._lock_fd: int | None = None

    def tick(self, now: float | None = None) -> None:
        from chat.jobs import rescue_stale

        now = time.monotonic() if now is None else now
        if media_settings.MEDIA_JOB_RESCUE_SECONDS > 0:
            rescue_stale()
        if now - self.last_prune >= PRUNE_EVERY_SECONDS:
            self.last_prune = now
            prune()

    def elected(self) -> bool:
        """True once this process holds the node's housekeeping lock (or cannot take part in electing)."""
        if self._lock_fd is not None:
            return True
        root = Path(media_settings.MEDIA_CACHE_DIR)
        try:
            fd = try_flock(root / LOCK_NAME)
        except OSError as error:
            logger.warning("media.housekeeping_unelected dir=%s: %s; this worker does it anyway", root, error)
            self._lock_fd = -1
            return True
        if fd is None:
            return False  # another worker of this node does it
        self._lock_fd = fd  # held for the life of the process
        return True

    def loop(self) -> None:
        while not self.elected():
            time.sleep(ELECTION_RETRY_SECONDS)
        while True:
            time.sleep(self.interval)
            try:
                close_old_connections()
                self.tick()
            except DatabaseError as error:  # the database restarting: the next pass tries again
                self._warn_outage(error)
            except Exception:  # a bug: say it loudly, but a failed pass must not end the thread
                logger.exception("media.housekeeping_failed")
            finally:
                close_old_connections()  # the thread's connection goes back (to the pool) between passes

    def _warn_outage(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self.last_outage_warning >= media_settings.MEDIA_LOG_INTERVAL_SECONDS:
            self.last_outage_warning = now
            logger.warning("media.housekeeping_skipped: the database is unavailable (%s)", first_line(error))


def first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def start() -> threading.Thread:
    """Start this process's housekeeping thread (once)."""
    global _started
    if _started is None:
        rescue = media_settings.MEDIA_JOB_RESCUE_SECONDS
        interval = max(0.5, min(rescue / 4, 5.0)) if rescue > 0 else 60.0
        _started = threading.Thread(target=Housekeeper(interval).loop, name="chat-housekeeping", daemon=True)
        _started.start()
    return _started
