"""Test fixtures: real Redis and a real S3 endpoint for the whole session, fresh state per test.

Session: ``REDIS_URL`` is used when it is set and answers, otherwise a private redis-server is
started on a free port; a moto S3 server is always started on a free port. Both are patched
into Django's settings for the session and stopped at the end.

Per test: a unique Redis key prefix and S3 key prefix (no test sees another's keys, and no
FLUSHDB is ever sent to a Redis that might be shared), private disk/origin folders under
``tmp_path``, the per-worker process cache off, and the engine's per-process objects rebuilt.
"""

from __future__ import annotations

import os
import uuid

import pytest
from django.test import override_settings

from mediacache_project.services import caches_for
from tests.support.servers import TEST_BUCKET, MotoS3Server, RedisServer, redis_answers, s3_settings

pytest_plugins = ["tests.support.url_fixtures"]


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL", "")
    if url and redis_answers(url):
        yield url
        return
    server = RedisServer().start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def s3_server():
    server = MotoS3Server().start()
    server.create_bucket(TEST_BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def backing_services(redis_url, s3_server, django_db_blocker):
    """Point the whole session at the real Redis and S3 started above."""
    overrides = {"REDIS_URL": redis_url, "CACHES": caches_for(redis_url), **s3_settings(s3_server, TEST_BUCKET)}
    with override_settings(**overrides):
        yield overrides
    _delete_test_keys(redis_url)


@pytest.fixture(autouse=True)
def media_env(settings, tmp_path):
    """Private folders and key prefixes for every test, and a freshly built engine."""
    run = uuid.uuid4().hex[:12]
    settings.MEDIA_CACHE_DIR = tmp_path / "cache"
    settings.MEDIA_ORIGIN_DIR = tmp_path / "origin"
    settings.MEDIA_ORIGIN_DIR.mkdir()  # as `migrate` does (media_store.signals.create_folders)
    settings.MEDIA_REDIS_KEY_PREFIX = f"mctest-{run}"
    settings.MEDIA_S3_PREFIX = f"t-{run}/"
    settings.PUBLIC_BASE_URL = "http://media.example.test"
    # Tests look at the Redis tier; the per-worker cache in front of it has tests of its own
    # (tests/media_store/test_process_cache.py), where it is switched back on.
    settings.MEDIA_PROCESS_CACHE_BYTES = 0
    return settings


def _delete_test_keys(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter("mctest-*", count=1000):
            client.delete(key)
    except redis.RedisError:
        pass  # the session's Redis is gone already (a fault test stopped its own, not this one)
