"""The per-worker process cache in front of Redis: hot hits without a network round trip."""

from __future__ import annotations

import pytest
import redis

from chat.services import attach_file
from media_store import runtime
from tests.support.media import random_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def process_cache_on(settings):
    settings.MEDIA_PROCESS_CACHE_BYTES = 16 * 1024 * 1024
    settings.MEDIA_PROCESS_CACHE_SECONDS = 60.0


@pytest.fixture
def ingest(tmp_path):
    def make(size: int):
        path = tmp_path / f"f-{size}.bin"
        path.write_bytes(random_bytes(size))
        return attach_file(path)

    return make


def tier_of(client, attachment, **headers) -> str:
    return client.get(f"/media/{attachment.media_hash}", **headers).headers["X-Cache-Tier"]


def test_after_the_first_hit_the_worker_serves_from_its_own_memory(client, ingest, settings, redis_url):
    attachment = ingest(5000)

    tiers = [tier_of(client, attachment) for _ in range(3)]
    redis.Redis.from_url(redis_url).delete(f"{settings.MEDIA_REDIS_KEY_PREFIX}:blob:{{{attachment.sha256}}}")
    after_redis_lost_it = tier_of(client, attachment)

    assert tiers == ["disk", "process", "process"]
    assert after_redis_lost_it == "process"


def test_a_redis_hit_is_remembered_in_the_process(client, ingest):
    attachment = ingest(5000)
    client.get(f"/media/{attachment.media_hash}")  # disk → Redis and process
    runtime.get_store().process.delete(attachment.sha256)

    assert [tier_of(client, attachment) for _ in range(2)] == ["redis", "process"]


def test_objects_over_a_sixteenth_of_the_process_cache_are_not_kept(client, ingest, settings):
    settings.MEDIA_PROCESS_CACHE_BYTES = 64 * 1024
    big, small = ingest(5000), ingest(3000)

    assert [tier_of(client, big) for _ in range(2)] == ["disk", "redis"]
    assert [tier_of(client, small) for _ in range(2)] == ["disk", "process"]


def test_range_and_head_are_answered_from_the_process_copy(client, ingest):
    attachment = ingest(5000)
    payload = client.get(f"/media/{attachment.media_hash}").content

    ranged = client.get(f"/media/{attachment.media_hash}", HTTP_RANGE="bytes=10-19")
    head = client.head(f"/media/{attachment.media_hash}")

    assert (ranged.status_code, ranged.content, ranged.headers["X-Cache-Tier"]) == (206, payload[10:20], "process")
    assert head.headers["X-Cache-Tier"] == "process"


def test_evicting_drops_the_process_copy_too(client, ingest):
    attachment = ingest(5000)
    client.get(f"/media/{attachment.media_hash}")

    runtime.get_store().evict(attachment.blob.info())

    assert tier_of(client, attachment) == "origin"


def test_it_is_off_without_redis_where_the_hot_tier_already_is_process_memory(client, ingest, settings):
    settings.REDIS_URL = ""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    attachment = ingest(5000)

    assert runtime.get_store().process is None
    assert [tier_of(client, attachment) for _ in range(2)] == ["disk", "memory"]


def test_it_can_be_switched_off(client, ingest, settings):
    settings.MEDIA_PROCESS_CACHE_BYTES = 0
    attachment = ingest(5000)

    assert [tier_of(client, attachment) for _ in range(2)] == ["disk", "redis"]
