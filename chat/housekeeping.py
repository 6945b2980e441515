"""Each web worker looks after the chat app's own rows: rescue stuck jobs, prune old ones.

A thread per gunicorn worker (``post_worker_init`` in ``gunicorn.conf.py``), like the disk
sweeper, so it needs no Celery beat and keeps working while the broker is the thing that
failed — which is exactly when an asynchronous job gets stuck (``chat.jobs.rescue_stale``).
The database decides who does what: a job is claimed with one conditional ``UPDATE``, and
pruning is an idempotent ``DELETE``, so any number of workers on any number of nodes may run
this at once.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.db import close_old_connections
from django.utils import timezone

from media_store.conf import media_settings

logger = logging.getLogger("chat.housekeeping")

PRUNE_EVERY_SECONDS = 3600.0
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

    def tick(self, now: float | None = None) -> None:
        from chat.jobs import rescue_stale

        now = time.monotonic() if now is None else now
        close_old_connections()
        try:
            if media_settings.MEDIA_JOB_RESCUE_SECONDS > 0:
                rescue_stale()
            if now - self.last_prune >= PRUNE_EVERY_SECONDS:
                self.last_prune = now
                prune()
        finally:
            close_old_connections()  # the thread's connection goes back (to the pool) between passes

    def loop(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self.tick()
            except Exception:  # a failed pass (the database restarting) must not end the thread
                logger.exception("media.housekeeping_failed")


def start() -> threading.Thread:
    """Start this process's housekeeping thread (once)."""
    global _started
    if _started is None:
        rescue = media_settings.MEDIA_JOB_RESCUE_SECONDS
        interval = max(0.5, min(rescue / 4, 5.0)) if rescue > 0 else 60.0
        _started = threading.Thread(target=Housekeeper(interval).loop, name="chat-housekeeping", daemon=True)
        _started.start()
    return _started
