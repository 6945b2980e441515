"""A full cache disk is a skipped tier, never a 5xx — on a real 400 KiB tmpfs.

The content is ingested while the cache folder is an ordinary one; then ``MEDIA_CACHE_DIR``
moves to the tiny filesystem (the engine is rebuilt from settings) and the objects are served.
"""

from __future__ import annotations

import logging

import pytest

from chat.services import attach_file
from media_store import runtime
from media_store.content.blobs import BlobInfo
from media_store.exceptions import TierUnavailable
from media_store.tiers.disk import DiskTier
from media_store.tiers.guard import OutageGuard
from tests.media_store.conftest import read_all
from tests.support.filesystems import tiny_tmpfs
from tests.support.media import random_bytes

pytestmark = pytest.mark.django_db

KIB = 1024


@pytest.fixture
def tiny_cache(tmp_path):
    """A folder on a 400 KiB tmpfs; tests make it ``MEDIA_CACHE_DIR`` after ingesting."""
    with tiny_tmpfs(tmp_path / "tiny") as mount:
        yield mount / "cache"


def leftovers(cache) -> list[str]:
    temp = cache / ".tmp"
    return sorted(path.name for path in temp.iterdir()) if temp.exists() else []


def test_objects_larger_than_the_free_space_are_served_and_leave_no_temp_file(ingest, tiny_cache, settings):
    settings.MEDIA_REDIS_MAX_OBJECT_BYTES = 64 * KIB  # 300 KiB and 1 MiB take the streaming (large) path
    small, medium, large = random_bytes(40 * KIB), random_bytes(300 * KIB), random_bytes(1024 * KIB)
    blobs = [ingest(data) for data in (small, medium, large)]
    settings.MEDIA_CACHE_DIR = tiny_cache  # rebuilt engine, empty tiny disk
    store = runtime.get_store()

    served = [read_all(store.fetch(blob.info())) for blob in blobs]
    again = [read_all(store.fetch(blob.info())) for blob in blobs]

    assert served == [small, medium, large]
    assert again == [small, medium, large]
    assert leftovers(tiny_cache) == []
    assert store.disk.contains(blobs[0].info())


def test_a_small_object_that_does_not_fit_is_served_from_memory(ingest, tiny_cache, settings):
    data = random_bytes(1024 * KIB)  # under MEDIA_REDIS_MAX_OBJECT_BYTES: the in-memory fill path
    blob = ingest(data)
    settings.MEDIA_CACHE_DIR = tiny_cache
    store = runtime.get_store()

    content = store.fetch(blob.info())

    assert content.tier == "origin"
    assert content.data == data
    assert leftovers(tiny_cache) == []
    assert not store.disk.contains(blob.info())


def test_a_full_disk_is_logged_once_per_interval(ingest, tiny_cache, settings, caplog):
    settings.MEDIA_REDIS_MAX_OBJECT_BYTES = 64 * KIB
    blobs = [ingest(random_bytes(700 * KIB)) for _ in range(3)]
    settings.MEDIA_CACHE_DIR = tiny_cache
    store = runtime.get_store()

    with caplog.at_level(logging.WARNING, logger="media_store.degraded"):
        for blob in blobs:
            read_all(store.fetch(blob.info()))

    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("media.degraded tier=disk")]
    assert len(lines) == 1
    assert "No space left on device" in lines[0]
    assert store.disk.guard.failures == 3


def test_the_short_url_answers_200_while_the_disk_is_full(client, tmp_path, tiny_cache, settings):
    settings.MEDIA_REDIS_MAX_OBJECT_BYTES = 64 * KIB
    attachments = []
    for size in (100 * KIB, 300 * KIB, 1024 * KIB):
        source = tmp_path / f"source-{size}"
        source.write_bytes(data := random_bytes(size))
        attachments.append((attach_file(source, filename="a.bin"), data))
    settings.MEDIA_CACHE_DIR = tiny_cache

    for attachment, data in attachments * 2:
        response = client.get(f"/media/{attachment.media_hash}")
        assert response.status_code == 200
        assert b"".join(response.streaming_content if response.streaming else [response.content]) == data
    assert leftovers(tiny_cache) == []


def test_a_write_failing_mid_file_raises_tier_unavailable_and_removes_the_temp_file(tmp_path):
    with tiny_tmpfs(tmp_path / "tiny", size="100k") as mount:
        tier = DiskTier(mount, guard=OutageGuard("disk", retry_seconds=0, log_interval=60))
        data = random_bytes(300 * KIB)
        info = BlobInfo("0" * 64, len(data), "application/octet-stream", "document", ".bin", "k")

        with pytest.raises(TierUnavailable, match="No space left on device"):
            tier.write_chunks(info, [data[i : i + 64 * KIB] for i in range(0, len(data), 64 * KIB)], verified=True)

        assert leftovers(mount) == []
        assert not tier.contains(info)
