"""mediacache on a real Redis Cluster (3 primaries, 3 replicas): every operation stays in one slot.

A Cluster refuses a command whose keys lie in different slots (CROSSSLOT), so an operation that
succeeds here is one that never issued such a command. Keys are spread over all three primaries
on purpose (200 of them hash to every primary), so a walk that missed a primary would miss keys.
"""

from __future__ import annotations

import hashlib

import pytest
from django.core.cache import caches
from redis.cluster import RedisCluster

from media_store import runtime
from media_store.ops.reports import hot_tier_report
from media_store.tiers.guard import OutageGuard
from media_store.tiers.keyspace import key_usage, primaries, scan_all, server_info, unlink_matching
from media_store.tiers.locks import FillLocks
from tests.support.redis_ha import ClusterSet, forget_connections, missing_binaries, point_django_at

pytestmark = pytest.mark.skipif(missing_binaries() is not None, reason=missing_binaries() or "")


@pytest.fixture(scope="module")
def cluster():
    started = ClusterSet().start()
    yield started
    forget_connections()
    started.stop()


@pytest.fixture
def on_cluster(settings, cluster):
    point_django_at(settings, cluster.topology())
    return cluster


def digest(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def test_runtime_hands_out_a_cluster_client_for_every_topology_user(on_cluster):
    client = runtime.redis_client()

    assert isinstance(client, RedisCluster)
    assert len(client.get_primaries()) == 3
    assert runtime.get_store().hot.name == "redis"


def test_an_objects_value_and_its_fill_lock_share_one_slot(on_cluster, settings):
    client = runtime.redis_client()
    hot = runtime.get_store().hot
    sha = digest(1)

    value_slot = client.keyslot(hot.key(sha))
    lock_slot = client.keyslot(f"{settings.MEDIA_REDIS_KEY_PREFIX}:fill:{{{sha}}}")

    assert value_slot == lock_slot == client.keyslot(sha)


def test_hot_tier_round_trips_chunked_values_on_every_primary(on_cluster):
    hot = runtime.get_store().hot
    payloads = {digest(n): bytes([n % 256]) * (40_000 + n) for n in range(30)}  # 3 chunks each
    for sha, data in payloads.items():
        hot.set(sha, data)

    assert {sha: hot.get(sha) for sha in payloads} == payloads
    assert hot.contains(digest(0)) is True
    hot.delete(digest(0))
    assert hot.get(digest(0)) is None
    client = runtime.redis_client()
    assert len({client.get_node_from_key(hot.key(sha)).name for sha in payloads}) == 3


def test_fill_lock_is_taken_and_released_on_the_cluster(on_cluster, settings):
    locks = runtime.fill_locks()
    sha = digest(2)
    key = f"{settings.MEDIA_REDIS_KEY_PREFIX}:fill:{{{sha}}}"
    client = runtime.redis_client()

    with locks.hold(sha):
        assert client.exists(key) == 1
    assert client.exists(key) == 0


def test_a_second_lock_holder_waits_for_the_first(on_cluster):
    client = runtime.redis_client()
    guard = OutageGuard("redis", retry_seconds=5, log_interval=60)
    first = FillLocks(wait_seconds=0.3, redis_factory=lambda: client, key_prefix="mctest-lock", guard=guard)
    second = FillLocks(wait_seconds=0.3, redis_factory=lambda: client, key_prefix="mctest-lock", guard=guard)

    with first.hold(digest(3)):
        lock = second._acquire_redis_lock(digest(3))  # another process: times out, fills alone

    assert lock is None
    assert guard.failures == 0


def test_key_usage_and_unlink_walk_every_primary(on_cluster, settings):
    client = runtime.redis_client()
    prefix = f"{settings.MEDIA_REDIS_KEY_PREFIX}:walk"
    for n in range(200):
        client.set(f"{prefix}:{n}", b"x" * 100)
    client.set(f"{settings.MEDIA_REDIS_KEY_PREFIX}:other", b"y")
    per_primary = [sum(1 for _ in node.scan_iter(match=f"{prefix}:*")) for node in primaries(client)]

    keys, size = key_usage(client, f"{prefix}:*")

    assert len(per_primary) == 3
    assert min(per_primary) > 0
    assert keys == 200
    assert size >= 200 * 100
    assert sorted(scan_all(client, f"{prefix}:*")) == sorted(f"{prefix}:{n}".encode() for n in range(200))
    assert unlink_matching(client, f"{prefix}:*") == 200
    assert key_usage(client, f"{prefix}:*") == (0, 0)
    assert client.get(f"{settings.MEDIA_REDIS_KEY_PREFIX}:other") == b"y"


def test_server_info_sums_the_primaries(on_cluster):
    client = runtime.redis_client()
    per_node = [node.info("memory")["used_memory"] for node in primaries(client)]

    total = server_info(client, "memory")["used_memory"]

    assert len(per_node) == 3
    assert total >= sum(per_node) * 0.9  # memory moves a little between the two reads
    assert total <= sum(per_node) * 1.1


def test_hot_tier_report_counts_blobs_on_all_primaries(on_cluster):
    hot = runtime.get_store().hot
    for n in range(12):
        hot.set(digest(100 + n), b"z" * 1000)

    report = hot_tier_report()

    assert report["backend"] == "redis"
    assert report["status"] == "ok"
    assert report["keys"] == 12
    assert report["bytes"] >= 12 * 1000


def test_django_cache_operations_work_without_cross_slot_commands(on_cluster, settings):
    cache = caches["default"]
    prefix = settings.MEDIA_REDIS_KEY_PREFIX
    names = [f"{prefix}:op:{n}" for n in range(50)]

    cache.set(names[0], {"a": 1}, timeout=60)
    assert cache.get(names[0]) == {"a": 1}
    assert cache.add(names[0], "other") is False
    assert cache.add(names[1], 5) is True
    assert cache.incr(names[1], 3) == 8
    cache.set_many({name: n for n, name in enumerate(names[2:], start=2)}, timeout=60)
    assert cache.get_many(names) == {
        names[0]: {"a": 1},
        names[1]: 8,
        **{name: n for n, name in enumerate(names[2:], start=2)},
    }
    listed = sorted(cache.client.reverse_key(cache.make_key(name)) for name in names)  # as DefaultClient lists them
    assert sorted(cache.iter_keys(f"{prefix}:op:*")) == listed
    assert sorted(cache.keys(f"{prefix}:op:*")) == listed
    assert cache.delete(names[0]) is True
    cache.delete_many(names[1:3])
    assert cache.get_many(names[:3]) == {}
    assert cache.delete_pattern(f"{prefix}:op:*") == 47
    assert list(cache.iter_keys(f"{prefix}:op:*")) == []


def test_shared_state_counters_and_entries_live_on_the_cluster(on_cluster, settings):
    state = runtime.shared_state("counters")
    key = f"{settings.MEDIA_REDIS_KEY_PREFIX}:stats:cluster"

    state.incr(key, "hits", 2)
    state.incr(key, "hits", 3)
    state.set(f"{settings.MEDIA_REDIS_KEY_PREFIX}:entry", "value", ttl=60)

    assert state.counts(key) == {"hits": 5}
    assert runtime.redis_client().hget(key, "hits") == b"5"
    assert state.get(f"{settings.MEDIA_REDIS_KEY_PREFIX}:entry") == "value"
    assert state.delete_matching(f"{settings.MEDIA_REDIS_KEY_PREFIX}:entr") == 1


def test_cached_results_stats_clear_and_flush_work_on_the_cluster(on_cluster):
    from memo.decorator import cached, get_cache

    calls = []

    @cached(ttl=60, key_prefix="profiles")
    def profile(wa_id: str) -> dict:
        calls.append(wa_id)
        return {"id": wa_id}

    for n in range(30):  # 30 keys: spread over the three primaries
        assert profile(str(n)) == {"id": str(n)}
        assert profile(str(n)) == {"id": str(n)}
    stats = get_cache().stats()

    assert len(calls) == 30
    assert (stats["backend"], stats["keys"], stats["hits"], stats["misses"]) == ("redis", 30, 30, 30)
    assert get_cache().clear("profiles") == 30
    assert get_cache().stats()["keys"] == 0
    profile("again")
    assert get_cache().flush() == 1
