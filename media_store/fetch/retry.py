"""Bounded retries with exponential backoff and full jitter, honouring ``Retry-After``.

Full jitter (a uniform draw in ``[0, base·2^(n-1)]``) spreads retries of many workers that
failed together; a server's ``Retry-After`` is a floor on the wait (clamped to ``cap`` so a
hostile header cannot park a worker for a day). Sleep, randomness and clock are injectable so
tests never sleep.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from media_store.exceptions import DownloadError
from media_store.fetch.deadline import DeadlineExceeded
from media_store.fetch.deadline import current as current_deadline
from media_store.ops import metrics

logger = logging.getLogger("media_store.fetch")

T = TypeVar("T")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class RetryPolicy:
    max_attempts: int
    base: float
    cap: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    uniform: Callable[[float, float], float] = field(default=random.uniform)
    source: str = "url"  # the metrics label: "url" or "whatsapp"

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Wait before attempt ``attempt + 1``."""
        wait = self.uniform(0.0, min(self.cap, self.base * 2 ** (attempt - 1)))
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap))
        return wait

    def call(self, operation: Callable[[int], T], *, what: str = "") -> T:
        """Run ``operation(attempt)`` until it succeeds, fails permanently, or attempts run out."""
        attempts = max(1, self.max_attempts)
        for attempt in range(1, attempts + 1):
            try:
                return operation(attempt)
            except DownloadError as error:
                if error.permanent or attempt == attempts or isinstance(error, DeadlineExceeded):
                    raise
                wait = self.delay(attempt, error.retry_after)
                deadline = current_deadline()
                if deadline is not None and wait >= deadline.remaining():
                    # the wait alone would pass the fetch's deadline: give up now, with the last error
                    raise deadline.exceeded(f"no time left to retry after: {error}") from error
                logger.warning("media.retry attempt=%d wait=%.1fs %s: %s", attempt, wait, what, error)
                metrics.DOWNLOAD_RETRIES.labels(self.source).inc()
                self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover
