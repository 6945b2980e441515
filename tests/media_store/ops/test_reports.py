"""``/media/stats`` measures Redis memory by sampling, and caches the walk: a stats page in a
refresh loop must not run MEMORY USAGE over every key each time."""

from __future__ import annotations

import pytest
import redis

from media_store.ops import reports
from media_store.ops.reports import sampled_key_usage


def memory_usage_calls(client: redis.Redis) -> int:
    return client.info("commandstats").get("cmdstat_memory|usage", {}).get("calls", 0)


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(reports, "_usage_cache", {})


@pytest.fixture
def client(redis_servers):
    server = redis_servers()
    connection = redis.Redis.from_url(server.url)
    for n in range(40):
        connection.set(f"mcx:blob:{n}", b"x" * 1000)
    connection.set("other:key", b"y")
    return connection


def test_memory_usage_is_asked_of_a_sample_and_extrapolated(client, monkeypatch):
    monkeypatch.setattr(reports, "USAGE_SAMPLE_KEYS", 10)
    exact = sum(client.memory_usage(f"mcx:blob:{n}", samples=0) for n in range(40))
    before = memory_usage_calls(client)

    keys, estimate, sampled = sampled_key_usage(client, "mcx:blob:*", now=0.0)

    assert (keys, sampled) == (40, 10)
    assert memory_usage_calls(client) - before == 10
    assert abs(estimate - exact) <= exact * 0.05  # equal-sized values: the sample is representative


def test_a_second_report_within_the_interval_walks_nothing(client):
    first = sampled_key_usage(client, "mcx:blob:*", now=100.0)
    before = memory_usage_calls(client)

    again = sampled_key_usage(client, "mcx:blob:*", now=100.0 + reports.USAGE_CACHE_SECONDS - 1)
    later = sampled_key_usage(client, "mcx:blob:*", now=100.0 + reports.USAGE_CACHE_SECONDS + 1)

    assert again == first
    assert later[0] == 40
    assert memory_usage_calls(client) - before == 40  # only the later call measured (40 < the sample size)


def test_with_fewer_keys_than_the_sample_the_figure_is_exact(client):
    exact = sum(client.memory_usage(f"mcx:blob:{n}", samples=0) for n in range(40))

    assert sampled_key_usage(client, "mcx:blob:*", now=500.0) == (40, exact, 40)
