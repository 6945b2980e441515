"""Which of this node's processes does something: an exclusive ``flock`` on a file, never waited for.

The disk sweep, the transcode slots and chat's housekeeping each elect one holder among the
processes of a node this way. The kernel releases the lock when its holder closes the descriptor
or dies, so a crashed holder never leaves a stale lock behind (as a PID file would).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


def try_flock(path: Path, mode: int = 0o644) -> int | None:
    """Open (creating it and its folder) ``path`` and take its exclusive lock: the descriptor that
    holds it — close it to let go — or None if another open descriptor holds it. OSError if it
    cannot be opened."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
