"""Each node sweeps its own disk tier: a light periodic pass, no Celery beat needed.

The beat job (``media_store.tasks.cleanup_old_media``) runs on one Celery worker and cleans
*that* machine's ``MEDIA_CACHE_DIR``; web nodes each have their own disk. So every gunicorn
worker starts this thread (``post_worker_init`` in ``gunicorn.conf.py``); once per
``MEDIA_DISK_SWEEP_SECONDS`` one of the workers sharing a cache folder runs ``clean_disk``
(age limit, size limit, stale temp files — never the origin orphans, which touch the shared
bucket and stay with ``cleanup_media --orphans``).

Who sweeps is decided by the folder, not by the process: an exclusive ``flock`` on
``<MEDIA_CACHE_DIR>/.sweep`` (busy → another worker is sweeping) and the file's mtime as the
time of the last sweep (recent → skip). Workers of one node therefore sweep once per period
between them, and two nodes never clean each other's disks.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from media_store.conf import media_settings
from media_store.tiers.file_locks import try_flock

logger = logging.getLogger("media_store.ops.sweeper")

STAMP_NAME = ".sweep"
_started: threading.Thread | None = None


def sweep_if_due(now: float | None = None) -> bool:
    """Run ``clean_disk`` unless this folder was swept within the period; True if it ran."""
    from media_store.ops.cleanup import clean_disk

    period = media_settings.MEDIA_DISK_SWEEP_SECONDS
    now = time.time() if now is None else now
    root = Path(media_settings.MEDIA_CACHE_DIR)
    try:
        fd = try_flock(root / STAMP_NAME)
    except OSError as error:
        logger.warning("media.sweep_skipped dir=%s: %s", root, error)
        return False
    if fd is None:
        return False  # another worker of this node is sweeping right now
    try:
        last = os.fstat(fd).st_mtime
        if 0 <= now - last < period:
            return False
        os.utime(fd, (now, now))  # claim the period before the (possibly long) pass
        report = clean_disk(now=now)
        logger.info("media.sweep dir=%s removed=%d freed=%d", root, report.removed_files, report.freed_bytes)
        return True
    finally:
        os.close(fd)


def _loop(interval: float) -> None:
    while True:
        time.sleep(interval)
        try:
            sweep_if_due()
        except Exception:  # a failed pass must not end the thread; the next period tries again
            logger.exception("media.sweep_failed")


def start() -> threading.Thread | None:
    """Start the sweeping thread in this process (once); None when sweeping is off."""
    global _started
    period = media_settings.MEDIA_DISK_SWEEP_SECONDS
    if period <= 0 or _started is not None:
        return _started
    # Workers wake a few times per period so that one of them picks it up soon after it is due.
    interval = max(0.5, min(period / 4, 300.0))
    _started = threading.Thread(target=_loop, args=(interval,), name="media-disk-sweep", daemon=True)
    _started.start()
    return _started
