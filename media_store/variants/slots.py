"""Transcode slots: at most N transcodes at once on this node, across all its processes.

A slot is an exclusive ``flock`` on one of N files under ``<MEDIA_CACHE_DIR>/.transcode``: the
kernel releases it when the holder exits, even by SIGKILL, so a crashed worker never leaks a
slot, and every gunicorn worker and Celery process on the node shares the same N. A request
that finds every slot taken polls for ``MEDIA_TRANSCODE_WAIT_SECONDS`` and then gets
``TranscoderBusy`` (503 + Retry-After) rather than queueing without bound.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from media_store.conf import media_settings
from media_store.exceptions import TranscoderBusy
from media_store.tiers.file_locks import try_flock

POLL_SECONDS = 0.05


def slot_count() -> int:
    return media_settings.MEDIA_TRANSCODE_CONCURRENCY or os.cpu_count() or 1


def slot_dir() -> Path:
    return Path(media_settings.MEDIA_CACHE_DIR) / ".transcode"


@contextmanager
def transcode_slot(wait_seconds: float | None = None) -> Iterator[int]:
    """Hold one slot (yields its number); raises TranscoderBusy after the wait."""
    wait = media_settings.MEDIA_TRANSCODE_WAIT_SECONDS if wait_seconds is None else wait_seconds
    folder = slot_dir()
    deadline = time.monotonic() + wait
    while True:
        for number in range(slot_count()):
            fd = try_flock(folder / f"slot-{number}.lock", mode=0o600)
            if fd is None:
                continue  # busy: try the next slot
            try:
                yield number
            finally:
                os.close(fd)  # releases the slot
            return
        if time.monotonic() >= deadline:
            raise TranscoderBusy(f"all {slot_count()} transcode slots are busy; retry later")
        time.sleep(POLL_SECONDS)
