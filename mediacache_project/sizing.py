"""How many CPUs this process may really use — the basis of gunicorn's worker count.

``os.cpu_count()`` is the host's count: in a container limited to 2 CPUs on a 64-core host it
says 64, and 64 workers × 8 threads would thrash two cores, hold 64 × the per-worker memory
tiers and open 64 × the PostgreSQL pool. What limits us is the smaller of the CPUs we may be
scheduled on (``sched_getaffinity``: cpusets, ``taskset``, Kubernetes static CPU manager) and
the CPU quota of our cgroup (``cpu.max`` in cgroup v2, ``cpu.cfs_quota_us`` /
``cpu.cfs_period_us`` in v1: Docker's ``--cpus``, Kubernetes CPU limits), rounded up.

Kept free of Django so ``gunicorn.conf.py`` can import it before the settings load.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def affinity_cpus() -> int:
    """CPUs the scheduler may run this process on (the host's count where affinity is unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def cgroup_cpu_quota(root: Path = CGROUP_ROOT) -> float | None:
    """The cgroup's CPU limit in CPUs (``1.5`` for ``--cpus=1.5``), or None when unlimited/unknown."""
    v2 = _read(root / "cpu.max")
    if v2 is not None:
        parts = v2.split()
        if len(parts) == 2 and parts[0] != "max":
            return _ratio(parts[0], parts[1])
        return None
    quota = _read(root / "cpu" / "cpu.cfs_quota_us") or _read(root / "cpu,cpuacct" / "cpu.cfs_quota_us")
    period = _read(root / "cpu" / "cpu.cfs_period_us") or _read(root / "cpu,cpuacct" / "cpu.cfs_period_us")
    if quota is None or period is None or quota.strip() == "-1":
        return None
    return _ratio(quota, period)


def available_cpus(root: Path = CGROUP_ROOT, affinity: int | None = None) -> int:
    """min(affinity, ceil(cgroup quota)), at least 1."""
    cpus = affinity_cpus() if affinity is None else affinity
    quota = cgroup_cpu_quota(root)
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _ratio(quota: str, period: str) -> float | None:
    try:
        value = int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None
