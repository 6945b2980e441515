"""mediacache on a real Redis Sentinel set (1 primary, 1 replica, 3 sentinels, AUTH on both levels).

Everything that uses Redis gets its client from ``caches["default"]``; over Sentinel that is a
``SentinelConnectionPool`` asking the sentinels where the primary is. The failover tests kill
the primary process itself and check that the hot tier comes back on the new primary by itself.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time

import pytest
from django.core.cache import caches
from redis.sentinel import SentinelConnectionPool

from media_store import runtime
from media_store.exceptions import TierUnavailable
from media_store.tiers.connections import RedisTopology
from tests.support.redis_ha import SentinelSet, forget_connections, missing_binaries, point_django_at

pytestmark = pytest.mark.skipif(missing_binaries() is not None, reason=missing_binaries() or "")

PASSWORD = "primary-secret"
SENTINEL_PASSWORD = "sentinel-secret"


@pytest.fixture(scope="module")
def sentinels():
    started = SentinelSet(password=PASSWORD, sentinel_password=SENTINEL_PASSWORD, master="mc-tiers").start()
    yield started
    forget_connections()
    started.stop()


@pytest.fixture
def on_sentinel(settings, sentinels):
    settings.MEDIA_REDIS_RETRY_SECONDS = 0.2
    point_django_at(settings, sentinels.topology())
    return sentinels


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def wait_until(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not true after {timeout}s")


def test_the_client_follows_the_primary_the_sentinels_name(on_sentinel):
    client = runtime.redis_client()

    assert isinstance(client.connection_pool, SentinelConnectionPool)
    assert client.info("server")["tcp_port"] == on_sentinel.primary_port()


def test_hot_tier_writes_reach_the_primary_and_its_replica(on_sentinel):
    hot = runtime.get_store().hot
    sha = digest("replicated")
    hot.set(sha, b"v" * 50_000)

    assert hot.get(sha) == b"v" * 50_000
    replica = on_sentinel.node_on(
        next(
            node.port for node in (on_sentinel.primary, on_sentinel.replica) if node.port != on_sentinel.primary_port()
        )
    )
    import redis

    copy = redis.Redis(port=replica.port, password=PASSWORD)
    assert wait_until(lambda: copy.exists(hot.key(sha))) == 1


def test_django_cache_operations_work_over_sentinel(on_sentinel, settings):
    cache = caches["default"]
    prefix = settings.MEDIA_REDIS_KEY_PREFIX
    names = [f"{prefix}:op:{n}" for n in range(5)]

    cache.set(names[0], "zero", timeout=60)
    assert cache.add(names[0], "again") is False
    assert cache.add(names[1], 1) is True
    assert cache.incr(names[1], 4) == 5
    assert cache.get_many(names) == {names[0]: "zero", names[1]: 5}
    assert len(list(cache.iter_keys(f"{prefix}:op:*"))) == 2
    assert cache.delete(names[0]) is True
    assert cache.delete_pattern(f"{prefix}:op:*") == 1
    assert cache.get(names[1]) is None


def test_counters_are_shared_through_the_primary(on_sentinel, settings):
    state = runtime.shared_state("counters")
    key = f"{settings.MEDIA_REDIS_KEY_PREFIX}:stats:sentinel"
    state.incr(key, "calls", 7)

    assert state.counts(key) == {"calls": 7}
    assert runtime.redis_client().hget(key, "calls") == b"7"


def test_a_wrong_sentinel_password_makes_redis_unavailable_not_an_error(settings, sentinels):
    settings.MEDIA_REDIS_RETRY_SECONDS = 5
    wrong = RedisTopology.build(
        sentinels=sentinels.addresses, master=sentinels.master, password=PASSWORD, sentinel_password="wrong"
    )
    point_django_at(settings, wrong)
    hot = runtime.get_store().hot

    with pytest.raises(TierUnavailable):
        hot.get(digest("any"))
    assert runtime.redis_guard().available() is False
    assert runtime.shared_state("counters").counts("x") == {}  # falls back to process memory
    forget_connections()


class HangingUpSentinel:
    """A port that accepts every connection and closes it at once, counting them: a sentinel
    whose process is gone behind a proxy, or that is restarting."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self.listener.close()


def test_a_dead_sentinel_listed_first_is_asked_once_then_the_next_one(settings, sentinels):
    dead = HangingUpSentinel()
    try:
        topology = RedisTopology.build(
            sentinels=[dead.address, *sentinels.addresses],
            master=sentinels.master,
            password=PASSWORD,
            sentinel_password=SENTINEL_PASSWORD,
        )
        point_django_at(settings, topology)
        hot = runtime.get_store().hot

        assert hot.get(digest("missing")) is None  # answered by the primary the second sentinel named
        # one attempt, not redis-py 8's default of 11 with back-off (3–4 s per new connection)
        assert dead.accepted == 1
    finally:
        dead.close()
        forget_connections()


def test_an_unknown_service_name_makes_redis_unavailable(settings, sentinels):
    point_django_at(settings, sentinels.topology(master="no-such-master"))

    with pytest.raises(TierUnavailable, match="No master found"):
        runtime.get_store().hot.get(digest("any"))
    forget_connections()


def test_after_the_primary_is_killed_the_hot_tier_resumes_on_the_new_one(settings):
    own = SentinelSet(password=PASSWORD, master="mc-failover").start()
    try:
        settings.MEDIA_REDIS_RETRY_SECONDS = 0.2
        point_django_at(settings, own.topology())
        hot = runtime.get_store().hot
        sha = digest("before")
        hot.set(sha, b"b" * 1000)
        old = own.kill_primary().port

        failures = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                hot.set(digest("after"), b"a" * 1000)
                break
            except TierUnavailable:
                failures += 1
                time.sleep(0.1)
        new = own.wait_for_new_primary(old)

        assert new != old
        assert failures >= 1  # the election really happened under us
        assert hot.get(digest("after")) == b"a" * 1000  # same tier object: no rebuild, no restart
        assert runtime.redis_client().info("server")["tcp_port"] == new
    finally:
        forget_connections()
        own.stop()


def test_celery_broker_and_result_backend_work_over_sentinel(sentinels):
    from celery import Celery
    from kombu import Connection

    url, options = sentinels.topology().celery_broker()
    with Connection(url, transport_options=options) as connection:
        queue = connection.SimpleQueue("mctest-sentinel")
        queue.put({"task": "ping"})
        message = queue.get(timeout=5)
        message.ack()
        queue.close()
    app = Celery("mctest", broker=url, backend=url)
    app.conf.broker_transport_options = options
    app.conf.result_backend_transport_options = options
    app.backend.store_result("mctest-task-id", {"ok": True}, "SUCCESS")

    assert message.payload == {"task": "ping"}
    assert app.AsyncResult("mctest-task-id").get(timeout=5) == {"ok": True}
