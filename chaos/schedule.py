"""Which fault when: one window per fault, never overlapping, a recovery gap after each.

The plan is a pure function of ``CHAOS_SECONDS`` (so the load generator gets the same plan and
can aim, e.g., at the objects the S3 corruption targets while it lasts). Instant faults (a
SIGKILL, a reload, a restart) still get a window: the seconds after the act, when its effects
would show. The Redis freeze lasts 10 s whenever the run is long enough for it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# In the order they happen; True: the fault lasts the window (undone at its end), False: instant.
FAULTS: list[tuple[str, bool, str]] = [
    ("s3-slow", True, "every S3 request held 800 ms by the proxy"),
    ("worker-sigkill", False, "one gunicorn worker of node a SIGKILLed (the master starts a new one)"),
    ("redis-primary-killed", True, "the Redis primary SIGKILLed (Sentinel fails over); restarted at the end"),
    ("nginx-reload", False, "nginx SIGHUP: new workers, old ones drain"),
    ("s3-refusing", True, "every S3 request answered 503 SlowDown by the proxy"),
    ("postgres-restart", False, "pg_ctl restart -m fast (every connection dropped)"),
    ("node-stopped", True, "app node b stopped (SIGTERM: gunicorn drains), started again at the end"),
    ("redis-frozen", True, "the Redis primary SIGSTOPped for 10 s, then SIGCONT"),
    ("disk-full", True, "node a's disk tier (a tmpfs) filled to the last byte"),
    ("s3-corrupt", True, "S3 GETs of the reserved objects answered with flipped bytes"),
]
FREEZE_SECONDS = 10.0
MINIMUM_SECONDS = 60


@dataclass(frozen=True)
class Window:
    name: str
    start: float  # seconds after the load started
    end: float
    lasting: bool
    description: str

    def to_dict(self) -> dict:
        return asdict(self)


def plan(total: float) -> list[Window]:
    """Windows for a run of ``total`` seconds of load."""
    if total < MINIMUM_SECONDS:
        raise ValueError(f"CHAOS_SECONDS={total:g}: at least {MINIMUM_SECONDS} seconds (10 faults, each with a window)")
    warmup = min(12.0, max(4.0, 0.06 * total))
    gap = min(10.0, max(3.0, 0.05 * total))
    tail = max(gap, 12.0) - gap  # the last recovery gets at least 12 s of load
    room = total - warmup - tail - gap * len(FAULTS)
    freeze = min(FREEZE_SECONDS, room / len(FAULTS) * 1.5)
    window = (room - freeze) / (len(FAULTS) - 1)
    windows, at = [], warmup
    for name, lasting, description in FAULTS:
        length = freeze if name == "redis-frozen" else window
        windows.append(Window(name, round(at, 2), round(at + length, 2), lasting, description))
        at += length + gap
    return windows


def window_at(windows: list[Window], t: float) -> str | None:
    """The fault whose window (fault plus the recovery gap before the next) holds ``t``."""
    current = None
    for window in windows:
        if t >= window.start:
            current = window.name
    return current
