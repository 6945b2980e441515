"""The hot tier: a bounded in-process LRU, and raw bytes in a real Redis that may go away."""

from __future__ import annotations

import hashlib
import logging

import pytest
import redis

from media_store.exceptions import TierUnavailable
from media_store.tiers.guard import OutageGuard
from media_store.tiers.hot import MemoryHotTier, RedisHotTier
from tests.support.media import png_bytes


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def degraded_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.getMessage().startswith("media.degraded")]


# -- MemoryHotTier -----------------------------------------------------------------------------


def test_memory_tier_returns_what_was_set_and_none_for_unknown_keys():
    tier = MemoryHotTier(max_bytes=1024, ttl=60)
    tier.set("a", b"alpha")

    assert tier.get("a") == b"alpha"
    assert tier.contains("a") is True
    assert tier.get("b") is None
    assert tier.contains("b") is False


def test_memory_tier_delete_drops_the_value_and_its_bytes():
    tier = MemoryHotTier(max_bytes=1024, ttl=60)
    tier.set("a", b"alpha")

    tier.delete("a")
    tier.delete("never-set")

    assert tier.get("a") is None
    assert tier.stats() == {"keys": 0, "bytes": 0, "max_bytes": 1024}


def test_memory_tier_counts_a_replaced_value_once():
    tier = MemoryHotTier(max_bytes=1024, ttl=60)
    tier.set("a", b"x" * 10)
    tier.set("a", b"y" * 20)

    assert tier.get("a") == b"y" * 20
    assert tier.stats() == {"keys": 1, "bytes": 20, "max_bytes": 1024}


def test_memory_tier_evicts_the_oldest_value_when_full():
    tier = MemoryHotTier(max_bytes=30, ttl=60)
    for key in "abc":
        tier.set(key, key.encode() * 10)

    tier.set("d", b"d" * 10)

    assert tier.stats() == {"keys": 3, "bytes": 30, "max_bytes": 30}
    assert tier.get("a") is None
    assert [tier.get(key) for key in "bcd"] == [b"b" * 10, b"c" * 10, b"d" * 10]


def test_memory_tier_keeps_a_recently_read_value_when_evicting():
    tier = MemoryHotTier(max_bytes=30, ttl=60)
    for key in "abc":
        tier.set(key, key.encode() * 10)
    assert tier.get("a") == b"a" * 10  # "a" is now the most recently used

    tier.set("d", b"d" * 10)

    assert tier.get("b") is None
    assert [tier.get(key) for key in "acd"] == [b"a" * 10, b"c" * 10, b"d" * 10]


def test_memory_tier_evicts_as_many_values_as_a_big_one_needs():
    tier = MemoryHotTier(max_bytes=30, ttl=60)
    for key in "abc":
        tier.set(key, key.encode() * 10)

    tier.set("big", b"z" * 25)

    assert tier.stats() == {"keys": 1, "bytes": 25, "max_bytes": 30}
    assert tier.get("big") == b"z" * 25


def test_memory_tier_does_not_store_a_value_larger_than_its_capacity():
    tier = MemoryHotTier(max_bytes=30, ttl=60)
    tier.set("a", b"a" * 10)

    tier.set("huge", b"h" * 31)

    assert tier.get("huge") is None
    assert tier.get("a") == b"a" * 10
    assert tier.stats() == {"keys": 1, "bytes": 10, "max_bytes": 30}


def test_memory_tier_value_expires_after_its_ttl_even_when_read(clock):
    tier = MemoryHotTier(max_bytes=1024, ttl=60, clock=clock)
    tier.set("a", b"alpha")

    clock.advance(30)
    assert tier.get("a") == b"alpha"  # reading does not extend the TTL
    clock.advance(29.9)
    assert tier.get("a") == b"alpha"
    clock.advance(0.1)

    assert tier.get("a") is None
    assert tier.contains("a") is False
    assert tier.stats() == {"keys": 0, "bytes": 0, "max_bytes": 1024}


def test_memory_tier_with_zero_ttl_keeps_values_until_evicted(clock):
    tier = MemoryHotTier(max_bytes=1024, ttl=0, clock=clock)
    tier.set("a", b"alpha")

    clock.advance(10**9)

    assert tier.get("a") == b"alpha"


# -- RedisHotTier on the session Redis ---------------------------------------------------------


@pytest.fixture
def redis_tier(redis_url, settings):
    client = redis.Redis.from_url(redis_url)
    guard = OutageGuard("redis", retry_seconds=5, log_interval=60)
    yield RedisHotTier(lambda: client, settings.MEDIA_REDIS_KEY_PREFIX, 3600, guard)
    client.close()


def test_redis_tier_stores_the_raw_bytes_under_the_blob_key(redis_tier, raw_redis, settings):
    data = png_bytes()
    digest = sha(data)

    redis_tier.set(digest, data)

    key = f"{settings.MEDIA_REDIS_KEY_PREFIX}:blob:{{{digest}}}"
    assert redis_tier.key(digest) == key
    assert raw_redis.get(key) == data  # not pickled, not compressed
    assert redis_tier.get(digest) == data
    assert redis_tier.contains(digest) is True


def test_redis_tier_sets_its_ttl_on_every_value(redis_tier, raw_redis):
    data = b"voice note"
    redis_tier.set(sha(data), data)

    ttl = raw_redis.ttl(redis_tier.key(sha(data)))

    assert 3590 <= ttl <= 3600


def test_redis_tier_with_zero_ttl_stores_without_expiry(redis_url, raw_redis, settings):
    client = redis.Redis.from_url(redis_url)
    guard = OutageGuard("redis", retry_seconds=5, log_interval=60)
    tier = RedisHotTier(lambda: client, settings.MEDIA_REDIS_KEY_PREFIX, 0, guard)
    data = b"kept until evicted"

    tier.set(sha(data), data)

    assert raw_redis.ttl(tier.key(sha(data))) == -1
    client.close()


def test_redis_tier_delete_removes_the_key(redis_tier, raw_redis):
    data = b"to be deleted"
    redis_tier.set(sha(data), data)

    redis_tier.delete(sha(data))

    assert raw_redis.exists(redis_tier.key(sha(data))) == 0
    assert redis_tier.get(sha(data)) is None
    assert redis_tier.contains(sha(data)) is False


def test_redis_tier_returns_none_for_an_unknown_digest(redis_tier):
    assert redis_tier.get(sha(b"never stored")) is None


# -- RedisHotTier on a private Redis that goes away --------------------------------------------


class CountingFactory:
    """Hands out one client and counts the calls: each call is one attempt to talk to Redis."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1.0)
        self.calls = 0

    def __call__(self) -> redis.Redis:
        self.calls += 1
        return self.client


def test_redis_tier_raises_tier_unavailable_when_redis_is_stopped(redis_servers, clock):
    server = redis_servers()
    guard = OutageGuard("redis", retry_seconds=5, log_interval=60, clock=clock)
    tier = RedisHotTier(CountingFactory(server.url), "mctest-private", 60, guard)
    tier.set("k", b"value")
    server.stop()

    with pytest.raises(TierUnavailable):
        tier.get("k")
    clock.advance(5)
    with pytest.raises(TierUnavailable):
        tier.set("k", b"value")
    clock.advance(5)
    with pytest.raises(TierUnavailable):
        tier.contains("k")

    assert guard.failures == 3


def test_redis_tier_fails_fast_and_logs_once_while_redis_is_down(redis_servers, clock, caplog):
    caplog.set_level(logging.WARNING, logger="media_store.degraded")
    server = redis_servers()
    factory = CountingFactory(server.url)
    guard = OutageGuard("redis", retry_seconds=5, log_interval=60, clock=clock)
    tier = RedisHotTier(factory, "mctest-private", 60, guard)
    tier.set("k", b"value")
    server.stop()

    with pytest.raises(TierUnavailable):
        tier.get("k")
    attempts = factory.calls
    for _ in range(20):  # inside the back-off window: no attempt reaches the network
        with pytest.raises(TierUnavailable, match="backing off"):
            tier.get("k")
        with pytest.raises(TierUnavailable, match="backing off"):
            tier.set("k", b"value")
    assert factory.calls == attempts

    for _ in range(5):  # each window's end allows exactly one new attempt
        clock.advance(5)
        with pytest.raises(TierUnavailable):
            tier.get("k")
    assert factory.calls == attempts + 5

    assert guard.failures == 6
    assert len(degraded_records(caplog)) == 1


def test_redis_tier_works_again_once_redis_is_back(redis_servers, clock):
    server = redis_servers()
    guard = OutageGuard("redis", retry_seconds=5, log_interval=60, clock=clock)
    tier = RedisHotTier(CountingFactory(server.url), "mctest-private", 60, guard)
    tier.set("k", b"before")
    server.stop()
    with pytest.raises(TierUnavailable):
        tier.get("k")

    redis_servers(port=server.port)  # a fresh, empty redis-server on the same address
    with pytest.raises(TierUnavailable, match="backing off"):
        tier.get("k")  # still inside the window: not asked yet
    clock.advance(5)

    tier.set("k", b"after")
    assert tier.get("k") == b"after"
    assert guard.available() is True
