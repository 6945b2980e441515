"""A tqdm progress bar for long management commands, quiet when nobody is watching.

Shown on the command's stderr only when it is a terminal: logs and ``--json`` output on
stdout stay clean, and CI logs are not flooded with carriage returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from tqdm import tqdm


class Progress(Protocol):
    """What long-running services report to: a total once known, then advances."""

    def set_total(self, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


class NoProgress:
    def set_total(self, total: int) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


NO_PROGRESS = NoProgress()


class ProgressBar:
    def __init__(self, bar: tqdm) -> None:
        self._bar = bar

    def advance(self, amount: int = 1) -> None:
        self._bar.update(amount)

    def set_total(self, total: int) -> None:
        self._bar.total = total
        self._bar.refresh()


@contextmanager
def progress_bar(*, desc: str, unit: str, stream, total: int | None = None) -> Iterator[ProgressBar]:
    target = getattr(stream, "_out", stream)  # Django's OutputWrapper keeps the real stream in _out
    enabled = bool(getattr(target, "isatty", lambda: False)())
    with tqdm(total=total, desc=desc, unit=unit, file=target, disable=not enabled, dynamic_ncols=True) as bar:
        yield ProgressBar(bar)
