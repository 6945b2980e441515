"""Degrade, never break: stop the real Redis / S3 server under a running gunicorn."""

from __future__ import annotations

import redis
import requests

from media_store.tiers.hot import unpack, write_chunks
from tests.support.media import random_bytes


def test_it_keeps_serving_from_disk_and_origin_when_redis_stops(start_media_server, private_redis):
    server = start_media_server(redis=private_redis.url)
    cached = server.ingest(random_bytes(30_000), "a.bin")
    uncached = server.ingest(random_bytes(30_000), "b.bin")
    assert requests.get(server.url + cached.path, timeout=10).status_code == 200  # hot + disk filled

    private_redis.stop()
    after = [requests.get(server.url + cached.path, timeout=10) for _ in range(20)]
    from_origin = requests.get(server.url + uncached.path, timeout=10)
    health = requests.get(f"{server.url}/healthz", timeout=10)

    assert [r.status_code for r in after] == [200] * 20
    assert all(r.content == cached.payload for r in after)
    assert {r.headers["X-Cache-Tier"] for r in after} == {"disk"}
    assert from_origin.status_code == 200
    assert from_origin.content == uncached.payload
    assert from_origin.headers["X-Cache"] == "MISS"
    assert health.status_code == 200
    assert health.json() == {"database": "ok", "cache": "down", "storage": "ok"}
    # a warning at most once per interval per worker process (2 workers), not once per request
    assert 1 <= server.log().count("media.degraded tier=redis") <= 2
    assert "Traceback" not in server.log()


def test_cached_content_survives_an_origin_outage_and_uncached_gets_503(start_media_server, private_s3):
    server = start_media_server(s3=private_s3)
    cached = server.ingest(random_bytes(10_000), "a.bin")
    uncached = server.ingest(random_bytes(10_000), "b.bin")
    assert requests.get(server.url + cached.path, timeout=10).status_code == 200

    private_s3.stop()
    still_cached = requests.get(server.url + cached.path, timeout=10)
    missing = requests.get(server.url + uncached.path, timeout=20)
    head_missing = requests.head(server.url + uncached.path, timeout=20)
    health = requests.get(f"{server.url}/healthz", timeout=20)

    assert still_cached.status_code == 200
    assert still_cached.content == cached.payload
    assert missing.status_code == 503
    assert missing.headers["Retry-After"] == "30"
    assert missing.headers["Cache-Control"] == "no-store"
    assert len(missing.content) < 64
    assert head_missing.status_code == 503
    assert health.status_code == 503
    assert health.json()["storage"] == "down"


def test_corrupt_cached_copies_are_discarded_and_refilled(start_media_server, private_redis):
    server = start_media_server(redis=private_redis.url, MEDIA_REDIS_KEY_PREFIX="corrupt")
    item = server.ingest(random_bytes(20_000), "c.bin")
    assert requests.get(server.url + item.path, timeout=10).headers["X-Cache"] == "MISS"
    client = redis.Redis.from_url(private_redis.url)
    key = f"corrupt:blob:{{{item.sha256}}}"
    assert unpack(client.hgetall(key)) == item.payload

    write_chunks(client, key, b"\x00" * len(item.payload), ttl=0)  # same length, wrong bytes
    after_redis_corruption = requests.get(server.url + item.path, timeout=10)
    refilled_hot_copy = unpack(client.hgetall(key))

    disk_copy = next((server.work / "cache").rglob(f"{item.sha256}*"))
    disk_copy.write_bytes(b"\xff" * len(item.payload))
    client.delete(key)
    after_disk_corruption = requests.get(server.url + item.path, timeout=10)

    assert after_redis_corruption.content == item.payload
    assert after_redis_corruption.headers["X-Cache-Tier"] == "disk"
    assert refilled_hot_copy == item.payload  # promoted again from the good disk copy
    assert after_disk_corruption.content == item.payload
    assert after_disk_corruption.headers["X-Cache-Tier"] == "origin"
    assert disk_copy.read_bytes() == item.payload  # re-filled from the origin
    assert server.log().count("media.corrupt") == 2
