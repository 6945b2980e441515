"""Killing the Redis primary under load, through gunicorn: clients see nothing.

The app runs as ``make run`` serves it, on a real Sentinel set (1 primary, 1 replica, 3
sentinels, AUTH on). While a steady load of hot (Redis), disk and cold (origin) requests runs,
the primary's process is SIGKILLed: every answer must still be a 200 with exactly the right
bytes; during the election media come from the lower tiers; Redis hits come back by
themselves once the sentinels have promoted the replica — no restart.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests

from tests.support.media import random_bytes
from tests.support.redis_ha import SentinelSet, missing_binaries
from tests.support.steady_load import SteadyLoad, failover_window, timeline

pytestmark = [
    pytest.mark.skipif(missing_binaries() is not None, reason=missing_binaries() or ""),
    pytest.mark.timeout(180),
]

PASSWORD = "e2e-primary-secret"
DISK_ONLY_BYTES = 200_000  # over MEDIA_REDIS_MAX_OBJECT_BYTES below: served from disk, never Redis


def ingest_groups(server, **groups: tuple[int, int]) -> list[list]:
    """``name=(count, size)`` → for each group, ``count`` distinct objects of about ``size``
    bytes, all stored by one ``ingest_media`` run."""
    files = [(random_bytes(size + n), f"{name}{n}.bin") for name, (count, size) in groups.items() for n in range(count)]
    stored = iter(server.ingest_many(files))
    return [[next(stored) for _ in range(count)] for count, _ in groups.values()]


@pytest.fixture
def sentinels():
    started = SentinelSet(password=PASSWORD, master="mc-e2e").start()
    yield started
    started.stop()


@pytest.fixture
def sentinel_server(start_media_server, sentinels):
    return start_media_server(
        redis="",
        REDIS_SENTINELS=sentinels.env,
        REDIS_SENTINEL_MASTER=sentinels.master,
        REDIS_PASSWORD=PASSWORD,
        MEDIA_REDIS_MAX_OBJECT_BYTES="100000",
        MEDIA_REDIS_RETRY_SECONDS="1",
        MEDIA_FILL_WAIT_SECONDS="10",
    )


def test_killing_the_primary_under_load_is_invisible_to_clients(sentinel_server, sentinels):
    server = sentinel_server
    hot, disk, cold = ingest_groups(server, hot=(4, 20_000), disk=(2, DISK_ONLY_BYTES), cold=(12, 30_000))
    for item in hot + disk:  # fill Redis (small ones) and the disk tier
        assert requests.get(server.url + item.path, timeout=10).status_code == 200
    assert {requests.get(server.url + i.path, timeout=10).headers["X-Cache-Tier"] for i in hot} == {"redis"}

    load = SteadyLoad(server.url, hot, disk, cold, threads=4).start()
    time.sleep(1.5)
    old = sentinels.kill_primary().port
    killed_at = time.monotonic()
    new = sentinels.wait_for_new_primary(old)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and failover_window(load.results, killed_at) is None:
        time.sleep(0.2)
    time.sleep(1.0)  # and a little steady state on the new primary
    results = load.stop()

    window = failover_window(results, killed_at)
    statuses = Counter(answer.status for answer in results)
    lower = Counter(a.tier for a in results if a.kind == "hot" and a.at > killed_at and a.tier != "redis")
    print(
        f"failover: {len(results)} requests, statuses {dict(statuses)}, window {window}s, "
        f"lower tiers {dict(lower)}, :{old} -> :{new}"
    )
    assert new != old
    assert f"mediacache: redis sentinel master=mc-e2e db=0 sentinels={sentinels.env}" in server.log()
    assert PASSWORD not in server.log()
    assert statuses == {200: len(results)}  # zero 5xx, zero connection errors
    assert sum(1 for answer in results if not answer.correct) == 0  # zero wrong bytes
    assert {a.kind for a in results} == {"hot", "disk", "cold"}
    assert window is not None, timeline(results, killed_at)  # Redis hits resumed by themselves, no restart
    assert set(lower) <= {"disk", "origin"}  # hot media kept coming, from the lower tiers
    assert sum(lower.values()) >= 1
    assert requests.get(server.url + hot[0].path, timeout=10).headers["X-Cache-Tier"] == "redis"


def test_fifty_concurrent_misses_across_a_failover_make_at_most_two_origin_gets(sentinel_server, sentinels, s3_server):
    server = sentinel_server
    item = server.ingest(random_bytes(60_000), "miss.bin")
    barrier = threading.Barrier(51)
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def get() -> None:
        barrier.wait()
        response = requests.get(server.url + item.path, timeout=30)
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=get) for _ in range(50)]
    for thread in threads:
        thread.start()
    s3_server.start_recording()
    try:
        sentinels.kill_primary()
        barrier.wait()  # the misses start while the sentinels are still electing
        for thread in threads:
            thread.join(timeout=60)
    finally:
        recording = s3_server.stop_recording()

    gets = sum(1 for entry in recording if entry["method"] == "GET" and item.sha256 in entry["url"])
    assert len(answers) == 50
    assert {response.status_code for response in answers} == {200}
    assert all(response.content == item.payload for response in answers)
    assert 1 <= gets <= 2  # one per gunicorn worker at worst (WEB_CONCURRENCY=2): the lock lost with Redis


def test_killing_a_cluster_primary_under_load_is_invisible_to_clients(start_media_server):
    from tests.support.redis_ha import ClusterSet

    cluster = ClusterSet().start()
    try:
        server = start_media_server(
            redis="",
            REDIS_CLUSTER_NODES=cluster.env,
            MEDIA_REDIS_RETRY_SECONDS="1",
            MEDIA_REDIS_MAX_OBJECT_BYTES="100000",
        )
        hot, disk, cold = ingest_groups(server, hot=(6, 20_000), disk=(2, DISK_ONLY_BYTES), cold=(8, 30_000))
        for item in hot + disk:
            assert requests.get(server.url + item.path, timeout=10).status_code == 200
        assert {requests.get(server.url + i.path, timeout=10).headers["X-Cache-Tier"] for i in hot} == {"redis"}
        victim_key = f"{server.gunicorn.env['MEDIA_REDIS_KEY_PREFIX']}:blob:{{{hot[0].sha256}}}"

        load = SteadyLoad(server.url, hot, disk, cold, threads=4).start()
        time.sleep(1.5)
        old = cluster.kill_primary_of(victim_key).port
        killed_at = time.monotonic()
        new = cluster.wait_for_new_primary_of(victim_key, old)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and failover_window(load.results, killed_at) is None:
            time.sleep(0.2)
        time.sleep(1.0)
        results = load.stop()

        window = failover_window(results, killed_at)
        statuses = Counter(answer.status for answer in results)
        print(f"cluster failover: {len(results)} requests, statuses {dict(statuses)}, window {window}s")
        assert new != old
        assert server.log().count("tasks run inline in the web process") == 1  # one start-up line
        assert statuses == {200: len(results)}
        assert sum(1 for answer in results if not answer.correct) == 0
        assert window is not None, timeline(results, killed_at)
        assert requests.get(server.url + hot[0].path, timeout=10).headers["X-Cache-Tier"] == "redis"
    finally:
        cluster.stop()
