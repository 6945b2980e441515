"""A real, tiny filesystem for disk-full tests: a tmpfs of a few hundred KiB.

Mounting needs root (the test machines run as root). Where mounting is impossible the test is
skipped with the reason, never faked with a patched ``write``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tiny_tmpfs(where: Path, size: str = "400k") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` at ``where`` (created); unmounted on exit."""
    where.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"cannot mount a tmpfs for the disk-full test: {error}")
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for the disk-full test (needs root): {result.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=10, check=False)
