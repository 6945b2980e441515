"""``fetch.retry``: Retry-After parsing and the bounded, fully jittered retry loop (no real sleeping)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from media_store.exceptions import BlockedURL, DownloadError, PayloadTooLarge
from media_store.fetch.retry import RetryPolicy, parse_retry_after

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Wed, 01 Jan 2025 12:00:30 GMT", 30.0),
        ("Wed, 01 Jan 2025 11:59:00 GMT", 0.0),  # in the past: no wait
        ("Wednesday, 01-Jan-25 12:01:00 GMT", 60.0),  # RFC 850 form
        ("Wed, 01 Jan 2025 12:00:10 -0000", 10.0),  # no zone information: read as UTC
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_parse_retry_after(header, seconds):
    assert parse_retry_after(header, now=NOW) == seconds


def policy(**overrides) -> tuple[RetryPolicy, list[float]]:
    """A policy whose jitter draws the maximum and whose sleeps are recorded."""
    sleeps: list[float] = []
    options = {"max_attempts": 3, "base": 2.0, "sleep": sleeps.append, "uniform": lambda low, high: high}
    return RetryPolicy(**{**options, **overrides}), sleeps


def failing(*errors: Exception, result: str = "done"):
    """An operation that raises the given errors in turn, then returns ``result``; records attempts."""
    attempts: list[int] = []

    def operation(attempt: int) -> str:
        attempts.append(attempt)
        if len(attempts) <= len(errors):
            raise errors[len(attempts) - 1]
        return result

    operation.attempts = attempts
    return operation


def test_full_jitter_draws_between_zero_and_the_exponential_bound():
    draws: list[tuple[float, float]] = []
    retry = RetryPolicy(max_attempts=5, base=2.0, uniform=lambda low, high: draws.append((low, high)) or high / 2)

    assert [retry.delay(attempt) for attempt in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert draws == [(0.0, 2.0), (0.0, 4.0), (0.0, 8.0), (0.0, 16.0)]


def test_the_exponential_bound_is_capped():
    retry, _sleeps = policy(base=2.0, cap=10.0)

    assert retry.delay(10) == 10.0


def test_retry_after_is_a_floor_and_is_clamped_to_the_cap():
    retry, _sleeps = policy(uniform=lambda low, high: 0.0, cap=60.0)

    assert retry.delay(1, retry_after=5.0) == 5.0
    assert retry.delay(1, retry_after=86400.0) == 60.0


def test_transient_failures_are_retried_until_success():
    retry, sleeps = policy()
    operation = failing(DownloadError("503"), DownloadError("timeout"))

    assert retry.call(operation) == "done"
    assert operation.attempts == [1, 2, 3]
    assert sleeps == [2.0, 4.0]


def test_the_last_transient_failure_is_raised_after_max_attempts(caplog):
    retry, sleeps = policy(max_attempts=3)
    last = DownloadError("still 503")
    operation = failing(DownloadError("503"), DownloadError("503"), last)

    with pytest.raises(DownloadError) as raised, caplog.at_level(logging.WARNING, "media_store.fetch"):
        retry.call(operation, what="https://cdn.example/x")

    assert raised.value is last
    assert operation.attempts == [1, 2, 3]
    assert sleeps == [2.0, 4.0]
    assert [record.getMessage() for record in caplog.records] == [
        "media.retry attempt=1 wait=2.0s https://cdn.example/x: 503",
        "media.retry attempt=2 wait=4.0s https://cdn.example/x: 503",
    ]


@pytest.mark.parametrize(
    "error", [DownloadError("404", permanent=True), BlockedURL("private"), PayloadTooLarge("too big")]
)
def test_permanent_failures_are_not_retried(error):
    retry, sleeps = policy()
    operation = failing(error)

    with pytest.raises(type(error)):
        retry.call(operation)

    assert operation.attempts == [1]
    assert sleeps == []


def test_a_server_retry_after_sets_the_wait():
    retry, sleeps = policy(uniform=lambda low, high: 0.0)

    retry.call(failing(DownloadError("429", retry_after=3.0)))

    assert sleeps == [3.0]


@pytest.mark.parametrize("max_attempts", [0, 1])
def test_at_least_one_attempt_is_made(max_attempts):
    retry, sleeps = policy(max_attempts=max_attempts)
    operation = failing(DownloadError("503"))

    with pytest.raises(DownloadError):
        retry.call(operation)

    assert operation.attempts == [1]
    assert sleeps == []
