"""Transcode slots are node-wide (flock) and survive a holder that is killed."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from media_store.exceptions import TranscoderBusy
from media_store.variants.slots import slot_count, slot_dir, transcode_slot

HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(60)
"""


def test_slots_default_to_one_per_core_and_hold_independently(settings):
    settings.MEDIA_TRANSCODE_CONCURRENCY = 2

    with transcode_slot() as first, transcode_slot() as second:
        assert (first, second) == (0, 1)
        with pytest.raises(TranscoderBusy), transcode_slot(wait_seconds=0.1):
            pass
    settings.MEDIA_TRANSCODE_CONCURRENCY = 0
    assert slot_count() == os.cpu_count()


def test_a_slot_held_by_another_process_is_released_when_it_is_killed(settings):
    settings.MEDIA_TRANSCODE_CONCURRENCY = 1
    slot_dir().mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(slot_dir() / "slot-0.lock")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(TranscoderBusy), transcode_slot(wait_seconds=0.1):
            pass
        holder.kill()
        holder.wait(10)
        started = time.monotonic()
        with transcode_slot(wait_seconds=5) as number:
            assert number == 0
        assert time.monotonic() - started < 1
    finally:
        holder.kill()
        holder.wait(10)
