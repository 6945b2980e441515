"""Single-flight locks: per-key thread locks, and a Redis lock shared by processes."""

from __future__ import annotations

import logging
import threading
import time

import pytest
import redis

from media_store.tiers.guard import OutageGuard
from media_store.tiers.locks import FillLocks, KeyedLocks

WAIT = 5.0  # bound for waiting on another thread; tests finish far sooner when they pass


class Occupancy:
    """Counts how many threads are inside a critical section at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.inside = 0
        self.most = 0
        self.entries = 0

    def enter(self) -> None:
        with self._lock:
            self.inside += 1
            self.entries += 1
            self.most = max(self.most, self.inside)

    def leave(self) -> None:
        with self._lock:
            self.inside -= 1


def run_threads(count: int, target) -> None:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(WAIT)
            target()
        except BaseException as error:  # surfaced in the test's thread below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 4)
    assert [thread.is_alive() for thread in threads] == [False] * count
    assert errors == []


# -- KeyedLocks ----------------------------------------------------------------------------------


def test_keyed_locks_let_one_thread_at_a_time_hold_a_key():
    locks = KeyedLocks()
    occupancy = Occupancy()

    def work() -> None:
        for _ in range(50):
            with locks.hold("same", timeout=WAIT) as acquired:
                assert acquired is True
                occupancy.enter()
                time.sleep(0)  # let the others run while we hold it
                occupancy.leave()

    run_threads(8, work)

    assert occupancy.entries == 400
    assert occupancy.most == 1


def test_keyed_locks_forget_a_key_once_nobody_holds_it():
    locks = KeyedLocks()

    for key in ("a", "b"):
        with locks.hold(key, timeout=WAIT):
            pass
    run_threads(8, lambda: _hold_each(locks, ["x", "y", "x"]))

    assert locks._locks == {}


def _hold_each(locks: KeyedLocks, keys: list[str]) -> None:
    for key in keys:
        with locks.hold(key, timeout=WAIT) as acquired:
            assert acquired is True


def test_keyed_locks_time_out_with_false_while_another_thread_holds_the_key():
    locks = KeyedLocks()
    results: list[bool] = []
    with locks.hold("busy", timeout=WAIT) as held:
        assert held is True

        def contender() -> None:
            with locks.hold("busy", timeout=0.05) as acquired:
                results.append(acquired)

        thread = threading.Thread(target=contender)
        thread.start()
        thread.join(WAIT)

    assert results == [False]
    assert locks._locks == {}


def test_keyed_locks_do_not_block_other_keys():
    locks = KeyedLocks()
    results: list[bool] = []
    with locks.hold("busy", timeout=WAIT):
        thread = threading.Thread(target=lambda: results.append(_acquire_once(locks, "free", timeout=0.05)))
        thread.start()
        thread.join(WAIT)

    assert results == [True]


def _acquire_once(locks: KeyedLocks, key: str, timeout: float) -> bool:
    with locks.hold(key, timeout=timeout) as acquired:
        return acquired


def test_keyed_locks_release_the_key_when_the_holder_raises():
    locks = KeyedLocks()

    with pytest.raises(RuntimeError), locks.hold("k", timeout=WAIT):
        raise RuntimeError("fill failed")

    assert locks._locks == {}
    assert _acquire_once(locks, "k", timeout=0.05) is True


# -- FillLocks on the session Redis: two "processes" -------------------------------------------


@pytest.fixture
def redis_factory(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield lambda: client
    client.close()


def fill_locks(factory, prefix: str, wait_seconds: float = WAIT, guard: OutageGuard | None = None) -> FillLocks:
    return FillLocks(wait_seconds=wait_seconds, redis_factory=factory, key_prefix=prefix, guard=guard)


def test_fill_lock_is_a_redis_key_while_held(redis_factory, raw_redis, settings):
    prefix = settings.MEDIA_REDIS_KEY_PREFIX
    locks = fill_locks(redis_factory, prefix)

    with locks.hold("ab" * 32):
        assert raw_redis.exists(f"{prefix}:fill:{{{'ab' * 32}}}") == 1

    assert raw_redis.exists(f"{prefix}:fill:{{{'ab' * 32}}}") == 0


def test_two_processes_exclude_each_other_on_one_digest(redis_factory, settings):
    prefix = settings.MEDIA_REDIS_KEY_PREFIX
    first, second = fill_locks(redis_factory, prefix), fill_locks(redis_factory, prefix)
    occupancy = Occupancy()

    def work(locks: FillLocks) -> None:
        for _ in range(15):
            with locks.hold("cd" * 32):
                occupancy.enter()
                time.sleep(0)
                occupancy.leave()

    threads = [threading.Thread(target=work, args=(locks,)) for locks in (first, second, first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 4)

    assert occupancy.entries == 60
    assert occupancy.most == 1


def test_a_second_process_waits_for_the_first_to_finish(redis_factory, settings):
    prefix = settings.MEDIA_REDIS_KEY_PREFIX
    first, second = fill_locks(redis_factory, prefix), fill_locks(redis_factory, prefix)
    entered = threading.Event()

    def other_process() -> None:
        with second.hold("ef" * 32):
            entered.set()

    with first.hold("ef" * 32):
        thread = threading.Thread(target=other_process)
        thread.start()
        assert entered.wait(0.3) is False  # bounded: it must still be waiting
    assert entered.wait(WAIT) is True
    thread.join(WAIT)


def test_a_waiter_gives_up_after_wait_seconds_and_fills_anyway(redis_factory, settings, caplog):
    caplog.set_level(logging.WARNING, logger="media_store.tiers.locks")
    prefix = settings.MEDIA_REDIS_KEY_PREFIX
    first = fill_locks(redis_factory, prefix)
    impatient = fill_locks(redis_factory, prefix, wait_seconds=0.2)
    outcome: list[float] = []

    def other_process() -> None:
        started = time.monotonic()
        with impatient.hold("01" * 32):
            outcome.append(time.monotonic() - started)

    with first.hold("01" * 32):
        thread = threading.Thread(target=other_process)
        thread.start()
        thread.join(WAIT)

    assert len(outcome) == 1
    assert 0.1 <= outcome[0] < 1.0  # it waited (about wait_seconds), then went ahead
    messages = [record.getMessage() for record in caplog.records if record.name == "media_store.tiers.locks"]
    assert messages == [f"media.fill_wait_timeout scope=cluster hash={'01' * 32}: filling without the lock"]


def test_different_digests_do_not_wait_for_each_other(redis_factory, settings):
    prefix = settings.MEDIA_REDIS_KEY_PREFIX
    first, second = fill_locks(redis_factory, prefix), fill_locks(redis_factory, prefix, wait_seconds=0.2)

    with first.hold("aa" * 32):
        started = time.monotonic()
        with second.hold("bb" * 32):
            waited = time.monotonic() - started

    assert waited < 0.2


# -- FillLocks without Redis -------------------------------------------------------------------


def test_fill_locks_with_redis_unreachable_still_exclude_threads(closed_port, clock):
    client = redis.Redis.from_url(f"redis://127.0.0.1:{closed_port}/0", socket_connect_timeout=0.5)
    guard = OutageGuard("redis", retry_seconds=5, log_interval=60, clock=clock)
    locks = fill_locks(lambda: client, "mctest-closed", guard=guard)
    occupancy = Occupancy()

    def work() -> None:
        for _ in range(20):
            with locks.hold("12" * 32):
                occupancy.enter()
                time.sleep(0)
                occupancy.leave()

    run_threads(6, work)

    assert occupancy.entries == 120
    assert occupancy.most == 1
    assert guard.failures == 1  # the first failure opened the back-off window; no more attempts


def test_fill_locks_without_redis_use_the_process_lock_only():
    locks = FillLocks(wait_seconds=WAIT)
    occupancy = Occupancy()

    def work() -> None:
        for _ in range(20):
            with locks.hold("34" * 32):
                occupancy.enter()
                time.sleep(0)
                occupancy.leave()

    run_threads(6, work)

    assert occupancy.most == 1
    assert locks.local._locks == {}


def test_a_fill_lock_survives_redis_dying_while_it_is_held(redis_servers, clock):
    server = redis_servers()
    client = redis.Redis.from_url(server.url, socket_connect_timeout=0.5, socket_timeout=1.0)
    guard = OutageGuard("redis", retry_seconds=5, log_interval=60, clock=clock)
    locks = fill_locks(lambda: client, "mctest-private", guard=guard)
    ran: list[bool] = []

    with locks.hold("56" * 32):
        server.stop()
        ran.append(True)

    assert ran == [True]
    assert locks.local._locks == {}
    with locks.hold("56" * 32):  # Redis still gone: the next fill goes ahead on the local lock
        ran.append(True)
    assert ran == [True, True]
