"""``tiers.shared.SharedState``: the one "Redis, else process memory" store, on a real Redis.

Two ``SharedState`` objects on the same Redis stand for two processes; the outage cases use a
private redis-server that the test kills.
"""

from __future__ import annotations

import pytest
import redis
from django.core.cache import caches

from media_store import runtime
from media_store.exceptions import TierUnavailable
from media_store.ops.counters import Counters
from media_store.tiers.guard import OutageGuard
from media_store.tiers.shared import MISSING, SharedState
from tests.support.servers import django_redis_cache


@pytest.fixture
def prefix(settings) -> str:
    return f"{settings.MEDIA_REDIS_KEY_PREFIX}:shared-test:"


def two_processes() -> tuple[SharedState, SharedState]:
    return SharedState(caches["default"]), SharedState(caches["default"])


def test_an_entry_written_by_one_process_is_read_by_another(prefix):
    first, second = two_processes()

    first.set(f"{prefix}a", {"answer": 42}, ttl=60)

    assert second.get(f"{prefix}a") == {"answer": 42}
    assert second.get(f"{prefix}missing") is MISSING


def test_none_is_a_value_not_a_miss(prefix):
    state = SharedState(caches["default"])

    state.set(f"{prefix}none", None, ttl=60)

    assert state.get(f"{prefix}none") is None


def test_counters_add_up_across_processes(settings):
    first, second = two_processes()
    a = Counters("shared-test", key_prefix=settings.MEDIA_REDIS_KEY_PREFIX, state=first)
    b = Counters("shared-test", key_prefix=settings.MEDIA_REDIS_KEY_PREFIX, state=second)

    a.incr("api_calls")
    b.incr("api_calls", 2)
    b.incr("failed_calls")

    assert a.values() == {"api_calls": 3, "failed_calls": 1}
    a.reset()
    assert b.values() == {}


def test_without_redis_everything_stays_in_this_process(prefix):
    state = SharedState(None)

    state.set(f"{prefix}a", "x", ttl=60)
    state.incr(f"{prefix}stats", "hits")

    assert (state.get(f"{prefix}a"), state.counts(f"{prefix}stats")) == ("x", {"hits": 1})
    assert state.usage(prefix) is None
    assert state.delete_matching(prefix) == 1
    assert state.get(f"{prefix}a") is MISSING


def test_local_entries_expire_by_their_own_ttl(prefix, clock):
    state = SharedState(None, clock=clock)
    state.set(f"{prefix}a", "x", ttl=10)

    clock.advance(10.1)

    assert state.get(f"{prefix}a") is MISSING


def test_while_redis_is_down_it_counts_and_stores_locally_behind_one_guard(redis_servers, prefix):
    server = redis_servers()
    guard = OutageGuard("redis", retry_seconds=30, log_interval=60)
    state = SharedState(django_redis_cache(server.url), guard)
    state.incr(f"{prefix}stats", "hits")
    server.stop()

    state.incr(f"{prefix}stats", "hits")
    state.set(f"{prefix}a", "kept", ttl=60)

    assert guard.available() is False
    assert state.shared is False
    assert state.get(f"{prefix}a") == "kept"
    assert state.counts(f"{prefix}stats") == {"hits": 1}  # Redis's count is unreachable, ours is kept


def test_deleting_while_redis_is_down_is_reported_not_pretended(redis_servers, prefix):
    server = redis_servers()
    state = SharedState(django_redis_cache(server.url), OutageGuard("redis", retry_seconds=30, log_interval=60))
    server.stop()

    with pytest.raises(TierUnavailable, match="not deleted"):
        state.delete_matching(prefix)


def test_delete_matching_takes_the_prefix_literally(prefix, redis_url):
    state = SharedState(caches["default"])
    state.set(f"{prefix}a*b", 1, ttl=60)
    state.set(f"{prefix}axb", 2, ttl=60)

    assert state.delete_matching(f"{prefix}a*") == 1
    assert state.get(f"{prefix}axb") == 2
    assert redis.Redis.from_url(redis_url).exists(f"{prefix}axb") == 1


def test_usage_counts_keys_and_memory_in_redis(prefix):
    state = SharedState(caches["default"])
    state.set(f"{prefix}a", b"x" * 1000, ttl=60)
    state.set(f"{prefix}b", b"y" * 1000, ttl=60)

    keys, memory = state.usage(prefix)

    assert keys == 2
    assert memory >= 2000


def test_the_runtime_gives_each_use_its_own_store_on_the_process_guard():
    assert runtime.shared_state("memo") is runtime.shared_state("memo")
    assert runtime.shared_state("memo") is not runtime.shared_state("counters")
    assert runtime.shared_state("memo").guard is runtime.redis_guard()


def test_django_redis_lists_keys_under_their_documented_names(prefix):
    caches["default"].set(f"{prefix}listed", 1, timeout=60)

    assert list(caches["default"].iter_keys(f"{prefix}*")) == [f"{prefix}listed"]
