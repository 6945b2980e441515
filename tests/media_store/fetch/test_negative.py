"""``fetch.negative.NegativeCache``: permanent failures remembered for a TTL, in Redis or in memory.

Runs on the session's real Redis; the outage case uses a private redis-server that is killed.
The TTL is crossed on a fake clock.
"""

from __future__ import annotations

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from media_store import runtime
from media_store.fetch.negative import NegativeCache
from media_store.tiers.guard import OutageGuard

URL = "https://user:secret@cdn.example/a.png?token=abc"


@pytest.fixture
def plain_redis(redis_url):
    """A plain client on the session Redis (the negative cache stores strings, not hot-tier values)."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def redis_cache(plain_redis, settings, clock):
    return NegativeCache(
        "url", ttl=60, key_prefix=settings.MEDIA_REDIS_KEY_PREFIX, redis_factory=lambda: plain_redis, clock=clock
    )


@pytest.fixture
def memory_cache(clock):
    return NegativeCache("url", ttl=60, clock=clock)


@pytest.mark.parametrize("kind", ["redis_cache", "memory_cache"])
def test_a_failure_is_remembered_until_the_ttl_passes(request, clock, kind):
    cache = request.getfixturevalue(kind)
    cache.add(URL, "answered 404 Not Found")

    assert cache.get(URL) == "answered 404 Not Found"
    clock.advance(59.9)
    assert cache.get(URL) == "answered 404 Not Found"
    clock.advance(0.2)
    assert cache.get(URL) is None


@pytest.mark.parametrize("kind", ["redis_cache", "memory_cache"])
def test_forget_removes_an_entry(request, kind):
    cache = request.getfixturevalue(kind)
    cache.add(URL, "gone")

    cache.forget(URL)

    assert cache.get(URL) is None


@pytest.mark.parametrize("kind", ["redis_cache", "memory_cache"])
def test_other_subjects_and_namespaces_are_unaffected(request, kind, settings, plain_redis, clock):
    cache = request.getfixturevalue(kind)
    cache.add(URL, "gone")

    assert cache.get(URL + "&other=1") is None
    other_namespace = NegativeCache(
        "whatsapp", ttl=60, key_prefix=settings.MEDIA_REDIS_KEY_PREFIX, redis_factory=lambda: plain_redis, clock=clock
    )
    assert other_namespace.get(URL) is None


def test_entries_are_shared_through_redis_and_keyed_without_the_url(redis_cache, plain_redis, settings, clock):
    redis_cache.add(URL, "answered 410 Gone")
    another_process = NegativeCache(
        "url", ttl=60, key_prefix=settings.MEDIA_REDIS_KEY_PREFIX, redis_factory=lambda: plain_redis, clock=clock
    )

    keys = [key.decode() for key in plain_redis.scan_iter(f"{settings.MEDIA_REDIS_KEY_PREFIX}:neg:*")]

    assert another_process.get(URL) == "answered 410 Gone"
    assert keys == [redis_cache.key(URL)]
    assert "secret" not in keys[0]
    assert "cdn.example" not in keys[0]
    assert 0 < plain_redis.ttl(keys[0]) <= 61


def test_a_zero_ttl_remembers_nothing(plain_redis, settings):
    cache = NegativeCache("url", ttl=0, key_prefix=settings.MEDIA_REDIS_KEY_PREFIX, redis_factory=lambda: plain_redis)

    cache.add(URL, "gone")

    assert cache.get(URL) is None


def test_with_redis_down_failures_are_remembered_in_this_process(redis_servers, settings, clock):

    server = redis_servers()
    client = redis.Redis.from_url(server.url, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    guard = OutageGuard("redis", retry_seconds=30, log_interval=60)
    cache = NegativeCache(
        "url",
        ttl=60,
        key_prefix=settings.MEDIA_REDIS_KEY_PREFIX,
        redis_factory=lambda: client,
        guard=guard,
        clock=clock,
    )
    server.stop()

    cache.add(URL, "answered 404 Not Found")

    assert cache.get(URL) == "answered 404 Not Found"
    assert guard.available() is False


def test_the_runtime_builds_one_url_cache_per_process_from_settings(settings):
    settings.FAILED_MEDIA_TTL = 123

    cache = runtime.negative_cache("url")

    assert cache is runtime.negative_cache("url")
    assert (cache.namespace, cache.ttl, cache.key_prefix) == ("url", 123, settings.MEDIA_REDIS_KEY_PREFIX)


def test_without_a_guard_a_failing_redis_still_falls_back_to_memory(settings, closed_port, clock):

    client = redis.Redis(port=closed_port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    cache = NegativeCache(
        "url", ttl=60, key_prefix=settings.MEDIA_REDIS_KEY_PREFIX, redis_factory=lambda: client, clock=clock
    )

    cache.add(URL, "gone")

    assert cache.get(URL) == "gone"
