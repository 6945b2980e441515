"""``fetch.negative.NegativeCache``: permanent failures remembered for a TTL, in Redis or in memory.

Runs on the session's real Redis; the outage case uses a private redis-server that is killed.
The TTL is crossed on a fake clock.
"""

from __future__ import annotations

import pytest
import redis
from django.core.cache import caches

from media_store import runtime
from media_store.fetch.negative import NegativeCache
from media_store.tiers.guard import OutageGuard
from media_store.tiers.shared import SharedState
from tests.support.servers import django_redis_cache

URL = "https://user:secret@cdn.example/a.png?token=abc"


@pytest.fixture
def plain_redis(redis_url):
    """A plain client on the session Redis, to look behind the cache's back."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def on_redis(namespace: str, settings, clock, cache=None, guard=None) -> NegativeCache:
    state = SharedState(cache or caches["default"], guard, clock=clock)
    return NegativeCache(namespace, ttl=60, key_prefix=settings.MEDIA_REDIS_KEY_PREFIX, state=state, clock=clock)


@pytest.fixture
def redis_cache(settings, clock):
    return on_redis("url", settings, clock)


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
def test_other_subjects_and_namespaces_are_unaffected(request, kind, settings, clock):
    cache = request.getfixturevalue(kind)
    cache.add(URL, "gone")

    assert cache.get(URL + "&other=1") is None
    assert on_redis("whatsapp", settings, clock).get(URL) is None


def test_entries_are_shared_through_redis_and_keyed_without_the_url(redis_cache, plain_redis, settings, clock):
    redis_cache.add(URL, "answered 410 Gone")
    another_process = on_redis("url", settings, clock)

    keys = [key.decode() for key in plain_redis.scan_iter(f"{settings.MEDIA_REDIS_KEY_PREFIX}:neg:*")]

    assert another_process.get(URL) == "answered 410 Gone"
    assert keys == [redis_cache.key(URL)]
    assert "secret" not in keys[0]
    assert "cdn.example" not in keys[0]
    assert 0 < plain_redis.ttl(keys[0]) <= 61


def test_a_zero_ttl_remembers_nothing(settings, clock):
    state = SharedState(caches["default"])
    cache = NegativeCache("url", ttl=0, key_prefix=settings.MEDIA_REDIS_KEY_PREFIX, state=state)

    cache.add(URL, "gone")

    assert cache.get(URL) is None


def test_with_redis_down_failures_are_remembered_in_this_process(redis_servers, settings, clock):
    server = redis_servers()
    guard = OutageGuard("redis", retry_seconds=30, log_interval=60)
    cache = on_redis("url", settings, clock, cache=django_redis_cache(server.url), guard=guard)
    server.stop()

    cache.add(URL, "answered 404 Not Found")

    assert cache.get(URL) == "answered 404 Not Found"
    assert guard.available() is False


def test_a_failure_recorded_during_an_outage_outlives_the_outage(redis_servers, settings, clock):
    server = redis_servers()
    guard = OutageGuard("redis", retry_seconds=0, log_interval=60)
    cache = on_redis("url", settings, clock, cache=django_redis_cache(server.url), guard=guard)
    server.stop()
    cache.add(URL, "answered 404 Not Found")

    redis_servers(port=server.port)  # Redis is back, empty

    assert cache.get(URL) == "answered 404 Not Found"


def test_the_runtime_builds_one_url_cache_per_process_from_settings(settings):
    settings.FAILED_MEDIA_TTL = 123

    cache = runtime.negative_cache("url")

    assert cache is runtime.negative_cache("url")
    assert (cache.namespace, cache.ttl, cache.key_prefix) == ("url", 123, settings.MEDIA_REDIS_KEY_PREFIX)
    assert cache.state is runtime.shared_state("negative:url")


def test_without_a_guard_a_failing_redis_still_falls_back_to_memory(settings, closed_port, clock):
    cache = on_redis("url", settings, clock, cache=django_redis_cache(f"redis://127.0.0.1:{closed_port}/0"))

    cache.add(URL, "gone")

    assert cache.get(URL) == "gone"
