"""Looking at running processes through /proc: a gunicorn master's workers, a process's memory.

Shared by the e2e tests, the benchmark and ``make chaos`` (flat-memory probes, killing a worker).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def children_of(parent: int) -> list[int]:
    """PIDs whose parent is ``parent`` (a gunicorn master's workers)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited while we looked
            continue
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


@contextmanager
def peak_rss_growth(pids: list[int], interval: float = 0.01) -> Iterator[dict[int, int]]:
    """Sample the RSS of ``pids`` while the block runs; the yielded dict then holds each one's
    peak growth over its RSS when the block began, in bytes (filled in when the block ends)."""
    baseline = {pid: rss_bytes(pid) for pid in pids}
    peak = dict(baseline)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in pids:
                peak[pid] = max(peak[pid], rss_bytes(pid))
            time.sleep(interval)

    growth: dict[int, int] = {}
    sampler = threading.Thread(target=sample, name="rss-sampler", daemon=True)
    sampler.start()
    try:
        yield growth
    finally:
        done.set()
        sampler.join()
        growth.update({pid: peak[pid] - baseline[pid] for pid in pids})
