"""OutageGuard: back off after a failure, log at most once per interval (injected clock)."""

from __future__ import annotations

import logging

import pytest

from media_store.tiers.guard import OutageGuard


@pytest.fixture
def guard(clock) -> OutageGuard:
    return OutageGuard("redis", retry_seconds=5, log_interval=60, clock=clock)


@pytest.fixture
def warnings(caplog):
    caplog.set_level(logging.WARNING, logger="media_store.degraded")

    def degraded() -> list[str]:
        return [record.getMessage() for record in caplog.records if record.name == "media_store.degraded"]

    return degraded


def test_a_new_guard_is_available(guard):
    assert guard.available() is True
    assert guard.failures == 0


def test_a_failure_opens_a_back_off_window_of_retry_seconds(guard, clock):
    guard.record_failure(ConnectionError("refused"))

    assert guard.available() is False
    clock.advance(4.99)
    assert guard.available() is False
    clock.advance(0.01)
    assert guard.available() is True


def test_a_failure_during_the_window_extends_it(guard, clock):
    guard.record_failure(ConnectionError("refused"))
    clock.advance(4)
    guard.record_failure(ConnectionError("refused"))

    clock.advance(4)
    assert guard.available() is False
    clock.advance(1)
    assert guard.available() is True


def test_a_success_closes_the_window_at_once(guard):
    guard.record_failure(ConnectionError("refused"))

    guard.record_success()

    assert guard.available() is True


def test_a_zero_retry_window_never_blocks(clock):
    guard = OutageGuard("disk", retry_seconds=0, log_interval=60, clock=clock)

    guard.record_failure(OSError("disk full"))

    assert guard.available() is True
    assert guard.failures == 1


def test_the_first_failure_is_logged_with_tier_and_error(guard, warnings):
    guard.record_failure(ConnectionError("Connection refused"))

    assert warnings() == [
        "media.degraded tier=redis error=ConnectionError: Connection refused "
        "(serving without it; 0 similar failures not logged)"
    ]


def test_many_failures_within_one_interval_are_logged_once(guard, clock, warnings):
    for _ in range(50):
        guard.record_failure(ConnectionError("refused"))
        clock.advance(1)

    assert len(warnings()) == 1
    assert guard.failures == 50


def test_the_next_interval_logs_again_with_the_suppressed_count(guard, clock, warnings):
    guard.record_failure(ConnectionError("refused"))
    for _ in range(7):
        clock.advance(1)
        guard.record_failure(ConnectionError("refused"))

    clock.advance(60)
    guard.record_failure(TimeoutError("timed out"))

    logged = warnings()
    assert len(logged) == 2
    assert logged[1] == (
        "media.degraded tier=redis error=TimeoutError: timed out (serving without it; 7 similar failures not logged)"
    )
