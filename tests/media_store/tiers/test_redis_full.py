"""A full Redis is not a down Redis: a real ``redis-server --maxmemory 2mb --maxmemory-policy noeviction``.

Writes it refuses (OOM) are skipped one by one and logged once per interval; reads, fill locks
and everything else that uses Redis stay on. Only connection/timeout errors back off.
"""

from __future__ import annotations

import logging

import pytest
import redis

from media_store import runtime
from media_store.tiers.hot import check_memory_policy
from mediacache_project.services import caches_for
from tests.support.media import random_bytes
from tests.support.servers import RedisServer

pytestmark = pytest.mark.django_db

KIB = 1024


def fill_until_oom(url: str) -> redis.Redis:
    """Write junk until Redis refuses even small writes; returns the (open) client that did it.

    Big values first, then smaller ones: a refused 64 KiB SET may leave room for 8 KiB (its
    own query buffer counted towards used memory while it was being refused). The client must
    stay open: closing its connection frees its buffers, and with them room for a write.
    """
    client = redis.Redis.from_url(url)
    stored = 0
    for size in (64 * KIB, 4 * KIB, 256):
        for _ in range(10_000):
            try:
                client.set(f"junk:{stored}", b"x" * size)
                stored += 1
            except redis.exceptions.OutOfMemoryError:  # the server's "-OOM command not allowed …"
                break
    assert stored > 0
    return client


@pytest.fixture
def full_redis(settings):
    server = RedisServer().start("--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
    settings.REDIS_URL = server.url
    settings.CACHES = caches_for(server.url)
    yield server
    server.stop()


def test_a_refused_write_does_not_switch_redis_off(full_redis, ingest):
    cached = ingest(random_bytes(8 * KIB))
    store = runtime.get_store()
    store.evict(cached.info())
    assert store.fetch(cached.info()).tier == "origin"  # now in Redis (there is room yet)
    filler = fill_until_oom(full_redis.url)
    new = ingest(random_bytes(8 * KIB))
    store.evict(new.info())

    served_new = store.fetch(new.info())
    served_cached = store.fetch(cached.info())

    assert filler.ping() is True  # full, and up
    assert served_new.tier == "origin"
    assert served_new.data is not None
    assert served_cached.tier == "redis"  # reads still go to Redis: it is full, not down
    assert store.hot.guard.available() is True
    assert store.hot.guard.refusals >= 1
    assert store.hot.guard.failures == 0


def test_fill_locks_stay_on_while_redis_is_full(full_redis):
    locks = runtime.fill_locks()
    filler = fill_until_oom(full_redis.url)

    with locks.hold("a" * 64):  # SET NX refused: this fill goes ahead on the process lock
        pass

    assert filler.ping() is True
    assert runtime.redis_guard().available() is True
    assert runtime.redis_guard().failures == 0


def test_refused_writes_are_logged_once_per_interval(full_redis, ingest, caplog):
    blobs = [ingest(random_bytes(8 * KIB)) for _ in range(3)]
    store = runtime.get_store()
    for blob in blobs:
        store.evict(blob.info())
    filler = fill_until_oom(full_redis.url)

    with caplog.at_level(logging.WARNING, logger="media_store.degraded"):
        for blob in blobs:
            store.fetch(blob.info())

    assert filler.ping() is True
    messages = [record.getMessage() for record in caplog.records if record.name == "media_store.degraded"]
    assert len([m for m in messages if m.startswith("media.refused tier=redis")]) == 1
    assert "error=OutOfMemoryError" in messages[0]
    assert not [m for m in messages if m.startswith("media.degraded")]


def test_a_noeviction_redis_is_warned_about_once(full_redis, ingest, caplog):
    blob = ingest(random_bytes(4 * KIB))
    store = runtime.get_store()

    with caplog.at_level(logging.WARNING, logger="media_store.tiers.hot"):
        store.fetch(blob.info())
        store.fetch(blob.info())

    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("media.redis_policy")]
    assert len(warnings) == 1
    assert "maxmemory=2097152 maxmemory-policy=noeviction" in warnings[0]


def test_an_allkeys_lru_redis_with_maxmemory_passes_the_check():
    server = RedisServer().start("--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru")
    try:
        assert check_memory_policy(redis.Redis.from_url(server.url, decode_responses=False)) is None
        assert check_memory_policy(redis.Redis.from_url(server.url, decode_responses=True)) is None
    finally:
        server.stop()


def test_a_dead_redis_still_backs_off(settings, ingest):
    server = RedisServer().start()
    settings.REDIS_URL = server.url
    settings.CACHES = caches_for(server.url)
    blob = ingest(random_bytes(4 * KIB))
    store = runtime.get_store()
    server.stop()

    assert store.fetch(blob.info()).data is not None

    assert store.hot.guard.available() is False
    assert store.hot.guard.failures >= 1
