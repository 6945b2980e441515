"""Run one transcode command as a bounded child process.

The child gets an argument list (never a shell), no stdin, its own process group (so a
timeout kills ffmpeg and anything it started), a lowered CPU priority (``nice``: serving hot
hits must not wait behind a transcode) and a wall-time limit. Every run is counted by
program in ``RUNS`` — the tests read it to prove "50 concurrent requests, one ffmpeg run".
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("media_store.variants.runner")

NICENESS = 10
STDERR_KEEP = 2000  # characters of the child's stderr kept for the error message

RUNS: Counter[str] = Counter()
_runs_lock = threading.Lock()


class TranscodeTimeout(Exception):
    """The child ran past its wall-time limit and was killed."""


class TranscoderMissing(Exception):
    """The program is not installed (a deployment problem, not a property of the content)."""


@dataclass(frozen=True)
class RunResult:
    returncode: int
    stderr: str
    seconds: float

    @property
    def last_line(self) -> str:
        lines = [line for line in self.stderr.strip().splitlines() if line.strip()]
        return lines[-1] if lines else f"exit status {self.returncode}"


def program_name(args: list[str]) -> str:
    """``ffmpeg`` for ``/usr/bin/ffmpeg ...``, ``imaging`` for ``python -m ...imaging``."""
    if "-m" in args:
        return args[args.index("-m") + 1].rsplit(".", 1)[-1]
    return Path(args[0]).name


def run(args: list[str], *, timeout: float) -> RunResult:
    """Run ``args``; raises TranscodeTimeout or TranscoderMissing, else returns the result."""
    name = program_name(args)
    nice = shutil.which("nice")
    command = [nice, "-n", str(NICENESS), *args] if nice else list(args)
    with _runs_lock:
        RUNS[name] += 1
    started = time.monotonic()
    try:
        child = subprocess.Popen(  # noqa: S603 — an argument list we built, no shell
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
    except FileNotFoundError:
        raise TranscoderMissing(f"{args[0]} is not installed (apt-get install ffmpeg)") from None
    try:
        _, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(child)
        raise TranscodeTimeout(f"{name} ran past {timeout:.0f} s and was stopped") from None
    result = RunResult(child.returncode, stderr.decode(errors="replace")[-STDERR_KEEP:], time.monotonic() - started)
    if nice and result.returncode == 127 and "No such file" in result.stderr:
        raise TranscoderMissing(f"{args[0]} is not installed (apt-get install ffmpeg)")
    logger.info("media.transcode_run program=%s status=%d seconds=%.2f", name, result.returncode, result.seconds)
    return result


def _kill_group(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.communicate()
