"""Looking at running processes through /proc: a gunicorn master's workers, a process's memory.

Shared by the e2e tests, the benchmark and ``make chaos`` (flat-memory probes, killing a worker).
"""

from __future__ import annotations

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
