"""The generic @cached decorator on real Redis, with the process-memory fallback."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import os
import pickle

import pytest
import redis

from media_store.tiers.signed import MAC_BYTES, SignedPickleSerializer
from mediacache_project.services import caches_for
from memo.decorator import UncacheableArgument, cached, get_cache
from tests.support.servers import RedisServer


@pytest.fixture
def calls():
    return []


@pytest.fixture
def fresh_cache():
    get_cache().flush()
    yield get_cache()
    get_cache().flush()


def test_a_second_call_with_equal_arguments_is_served_from_redis(calls, fresh_cache, settings, redis_url):
    @cached(ttl=60, key_prefix="profiles")
    def profile(wa_id: str, *, full: bool = False) -> dict:
        calls.append(wa_id)
        return {"wa_id": wa_id, "full": full}

    first = profile("5511999", full=True)
    second = profile(wa_id="5511999", full=True)
    other = profile("5511999")

    assert first == second == {"wa_id": "5511999", "full": True}
    assert other == {"wa_id": "5511999", "full": False}
    assert calls == ["5511999", "5511999"]
    keys = redis.Redis.from_url(redis_url).keys(f"{settings.MEDIA_REDIS_KEY_PREFIX}:cache:profiles:*")
    assert len(keys) == 2
    stats = fresh_cache.stats()
    assert (stats["backend"], stats["hits"], stats["misses"], stats["hit_ratio"]) == ("redis", 1, 2, "33.3%")
    assert stats["keys"] == 2
    assert stats["memory_bytes"] > 0


def test_values_are_stored_with_the_ttl_as_signed_pickles(fresh_cache, settings, redis_url):
    @cached(ttl=120, key_prefix="ttl")
    def value() -> dict:
        return {"n": 7}

    value()

    client = redis.Redis.from_url(redis_url)
    (key,) = client.keys(f"{settings.MEDIA_REDIS_KEY_PREFIX}:cache:ttl:*")
    stored = client.get(key)
    assert 110 <= client.ttl(key) <= 120
    assert stored[MAC_BYTES:] == pickle.dumps({"n": 7}, protocol=pickle.HIGHEST_PROTOCOL)
    assert SignedPickleSerializer({}).loads(stored) == {"n": 7}


class Planted:
    """What an attacker with write access to Redis would store: a pickle that runs code on load."""

    def __init__(self, path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_a_value_planted_in_redis_is_a_miss_and_never_unpickled(calls, fresh_cache, settings, redis_url, tmp_path):
    @cached(ttl=60, key_prefix="planted")
    def value() -> str:
        calls.append(1)
        return "computed"

    value()
    client = redis.Redis.from_url(redis_url)
    (key,) = client.keys(f"{settings.MEDIA_REDIS_KEY_PREFIX}:cache:planted:*")
    marker = tmp_path / "code-ran"
    forged = pickle.dumps(Planted(marker))
    for planted in (forged, b"\x00" * MAC_BYTES + forged, stored_mac_of_other_key(client, key) + forged):
        client.set(key, planted)

        assert value() == "computed"

    assert marker.exists() is False
    assert calls == [1, 1, 1, 1]


def stored_mac_of_other_key(client, key) -> bytes:
    """A real MAC, but for other bytes: signatures do not transfer between values."""
    return SignedPickleSerializer({}).dumps("something else")[:MAC_BYTES]


def test_cache_ttls_setting_overrides_the_decorator(fresh_cache, settings, redis_url):
    settings.CACHE_TTLS = {"contacts": 30}

    @cached(ttl=600, key_prefix="contacts")
    def contacts() -> list:
        return []

    contacts()

    client = redis.Redis.from_url(redis_url)
    (key,) = client.keys(f"{settings.MEDIA_REDIS_KEY_PREFIX}:cache:contacts:*")
    assert client.ttl(key) <= 30


def test_async_functions_are_cached(calls, fresh_cache):
    @cached(ttl=60, key_prefix="async")
    async def lookup(number: int) -> int:
        calls.append(number)
        await asyncio.sleep(0)
        return number * 2

    async def twice():
        return await lookup(21), await lookup(21)

    assert asyncio.run(twice()) == (42, 42)
    assert calls == [21]


def test_methods_are_keyed_by_class_and_cache_key_not_by_identity(calls, fresh_cache):
    class Account:
        def __init__(self, number: int) -> None:
            self.number = number

        def cache_key(self) -> str:
            return f"account-{self.number}"

        @cached(ttl=60, key_prefix="accounts")
        def balance(self, currency: str) -> str:
            calls.append((self.number, currency))
            return f"{self.number} {currency}"

    assert Account(1).balance("BRL") == "1 BRL"
    assert Account(1).balance("BRL") == "1 BRL"  # another instance, same identity
    assert Account(2).balance("BRL") == "2 BRL"
    assert calls == [(1, "BRL"), (2, "BRL")]


@dataclasses.dataclass
class Query:
    text: str
    limit: int


def test_rich_arguments_get_stable_keys(calls, fresh_cache):
    @cached(ttl=60, key_prefix="rich")
    def search(query: Query, since: datetime.date, tags: set) -> int:
        calls.append(query.text)
        return len(calls)

    search(Query("hi", 10), datetime.date(2026, 1, 1), {"b", "a"})
    search(Query("hi", 10), datetime.date(2026, 1, 1), {"a", "b"})

    assert calls == ["hi"]


def test_an_argument_without_identity_is_a_clear_error(fresh_cache):
    @cached(ttl=60, key_prefix="bad")
    def use(thing: object) -> None:
        return None

    with pytest.raises(UncacheableArgument, match="cache_key"):
        use(object())


@pytest.mark.parametrize(("ttl", "prefix"), [(0, "x"), (-1, "x"), (10, ""), (10, "a:b"), (10, "a*")])
def test_bad_decorator_arguments_are_refused(ttl, prefix):
    with pytest.raises(ValueError, match="ttl|key_prefix"):
        cached(ttl=ttl, key_prefix=prefix)


def test_enable_caching_false_calls_through(calls, fresh_cache, settings):
    settings.ENABLE_CACHING = False

    @cached(ttl=60, key_prefix="off")
    def value() -> int:
        calls.append(1)
        return 1

    value()
    value()

    assert calls == [1, 1]


def test_it_falls_back_to_memory_while_redis_is_down_and_returns_to_redis(calls, settings):
    server = RedisServer().start()
    settings.REDIS_URL = server.url
    settings.CACHES = caches_for(server.url)
    settings.MEDIA_REDIS_RETRY_SECONDS = 0.0  # ask Redis again on every call

    @cached(ttl=60, key_prefix="fallback")
    def value(n: int) -> int:
        calls.append(n)
        return n

    value(1)
    server.stop()
    value(2)
    value(2)  # from process memory
    down_stats = get_cache().stats()
    restarted = RedisServer()
    restarted.port = server.port
    restarted.start()
    try:
        value(3)
        value(3)
        client = redis.Redis.from_url(restarted.url)
        keys_after_restart = client.keys(f"{settings.MEDIA_REDIS_KEY_PREFIX}:cache:fallback:*")
    finally:
        restarted.stop()

    assert calls == [1, 2, 3]
    assert down_stats["backend"] == "memory"
    assert len(keys_after_restart) == 1


def test_clear_removes_one_prefix_and_flush_only_this_caches_keys(fresh_cache, settings, redis_url):
    client = redis.Redis.from_url(redis_url)
    unrelated = f"{settings.MEDIA_REDIS_KEY_PREFIX}:blob:not-a-cache-key"
    client.set(unrelated, b"keep me")

    @cached(ttl=60, key_prefix="a")
    def a(n: int) -> int:
        return n

    @cached(ttl=60, key_prefix="b")
    def b(n: int) -> int:
        return n

    a(1), a(2), b(1)

    assert fresh_cache.clear("a") == 2
    assert len(client.keys(f"{settings.MEDIA_REDIS_KEY_PREFIX}:cache:b:*")) == 1
    assert fresh_cache.flush() == 1
    assert client.keys(f"{settings.MEDIA_REDIS_KEY_PREFIX}:cache:*") == []
    assert client.get(unrelated) == b"keep me"
    with pytest.raises(ValueError, match="prefix"):
        fresh_cache.clear("a*")


@pytest.mark.django_db
def test_cache_endpoints_need_an_operator_and_work_for_one(client, admin_client, fresh_cache):
    @cached(ttl=60, key_prefix="endpoint")
    def value() -> int:
        return 1

    value()
    value()

    assert client.get("/admin/cache/stats").status_code == 401
    assert client.post("/admin/cache/flush").status_code == 401
    stats = admin_client.get("/admin/cache/stats").json()
    cleared = admin_client.post("/admin/cache/clear/endpoint").json()
    flushed = admin_client.post("/admin/cache/flush").json()

    assert (stats["hits"], stats["misses"], stats["keys"]) == (1, 1, 1)
    assert cleared == {"status": "success", "prefix": "endpoint", "removed": 1}
    assert flushed == {"status": "success", "removed": 0}


def test_cache_admin_command(fresh_cache, capsys):
    from django.core.management import CommandError, call_command

    @cached(ttl=60, key_prefix="cmd")
    def value() -> int:
        return 1

    value()
    call_command("cache_admin", "stats")
    call_command("cache_admin", "clear", "cmd")
    call_command("cache_admin", "flush")
    output = capsys.readouterr().out

    assert '"misses":1' in output
    assert "removed 1 key(s) under prefix 'cmd'" in output
    assert "removed 0 key(s)" in output
    with pytest.raises(CommandError, match="prefix"):
        call_command("cache_admin", "clear", "bad:prefix")


def test_a_call_that_raises_counts_as_a_miss_not_a_hit(fresh_cache):
    @cached(ttl=60, key_prefix="raising")
    def broken() -> int:
        raise RuntimeError("upstream down")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            broken()

    stats = fresh_cache.stats()
    assert (stats["hits"], stats["misses"]) == (0, 2)


@pytest.mark.django_db
def test_clearing_while_redis_is_down_is_reported_not_pretended(admin_client, settings):
    from media_store.exceptions import TierUnavailable

    server = RedisServer().start()
    settings.REDIS_URL = server.url
    settings.CACHES = caches_for(server.url)
    server.stop()

    with pytest.raises(TierUnavailable, match="not deleted"):
        get_cache().flush()
    response = admin_client.post("/admin/cache/flush")

    assert response.status_code == 503
