"""MediaStore read-through on real tiers: Redis (or memory) → disk → S3 over HTTP (moto).

Every test builds the engine from settings (``runtime.get_store()``) and creates content
through the real ingest path. Faults are real: a private redis-server is killed, the S3
endpoint is a closed port, objects are deleted or overwritten behind the engine's back.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from media_store import runtime
from media_store.exceptions import MediaNotFound, OriginUnavailable
from mediacache_project.services import caches_for
from tests.media_store.conftest import read_all
from tests.support.media import mp4_bytes, ogg_opus_bytes, png_bytes, random_bytes

pytestmark = pytest.mark.django_db

SMALL_LIMIT = 64 * 1024  # MEDIA_REDIS_MAX_OBJECT_BYTES in the tests about large objects


def hot_key(settings, sha256: str) -> str:
    return f"{settings.MEDIA_REDIS_KEY_PREFIX}:blob:{{{sha256}}}"


def origin_gets(entries: list[dict], key: str) -> list[dict]:
    return [entry for entry in entries if entry["method"] == "GET" and key in entry["url"]]


def origin_requests(entries: list[dict], key: str) -> list[str]:
    return [entry["method"] for entry in entries if key in entry["url"]]


@pytest.fixture
def small_limit(settings):
    settings.MEDIA_REDIS_MAX_OBJECT_BYTES = SMALL_LIMIT
    return SMALL_LIMIT


@pytest.fixture
def private_redis(settings, redis_servers):
    """Point the engine at a redis-server of its own, which the test may stop."""
    server = redis_servers()
    settings.REDIS_URL = server.url
    settings.CACHES = caches_for(server.url)
    return server


@pytest.fixture
def origin_down(settings, closed_port):
    """From now on the S3 endpoint is a closed port (content ingested before stays cached)."""

    def switch() -> None:
        settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{closed_port}"
        settings.MEDIA_ORIGIN_TIMEOUT = 1.0

    return switch


# -- read-through order --------------------------------------------------------------------------


def test_a_first_fetch_comes_from_the_origin_and_the_next_from_redis(ingest, store, raw_redis, settings):
    data = png_bytes()
    blob = ingest(data, "red.png")
    info = blob.info()
    store.evict(info)  # ingest warmed the disk; start from nothing cached

    first = store.fetch(info)
    second = store.fetch(info)

    assert (first.tier, first.data) == ("origin", data)
    assert (second.tier, second.data) == ("redis", data)
    assert raw_redis.get(hot_key(settings, info.sha256)) == data
    assert store.disk.path(info).read_bytes() == data


def test_it_serves_from_disk_when_the_hot_tier_is_empty_and_promotes_small_objects(ingest, store, raw_redis, settings):
    data = ogg_opus_bytes()
    info = ingest(data, "voice.ogg").info()
    assert raw_redis.exists(hot_key(settings, info.sha256)) == 0

    from_disk = store.fetch(info)

    assert (from_disk.tier, from_disk.data, from_disk.file) == ("disk", data, None)
    assert raw_redis.get(hot_key(settings, info.sha256)) == data
    assert store.fetch(info).tier == "redis"


def test_it_uses_the_memory_tier_when_there_is_no_redis(ingest, settings):
    settings.REDIS_URL = ""
    settings.CACHES = caches_for("")
    data = png_bytes(color=(1, 2, 3))
    info = ingest(data, "img.png").info()
    store = runtime.get_store()

    tiers = [store.fetch(info).tier for _ in range(3)]

    assert store.hot.name == "memory"
    assert tiers == ["disk", "memory", "memory"]
    assert store.fetch(info).data == data


def test_the_memory_tier_is_refilled_from_the_origin(ingest, settings):
    settings.REDIS_URL = ""
    settings.CACHES = caches_for("")
    data = png_bytes(color=(4, 5, 6))
    info = ingest(data, "img.png").info()
    store = runtime.get_store()
    store.evict(info)

    assert [store.fetch(info).tier for _ in range(2)] == ["origin", "memory"]


def test_the_embedded_default_reads_through_memory_disk_and_a_folder(ingest, settings, tmp_path):
    settings.MEDIA_STORAGE = "filesystem"
    settings.REDIS_URL = ""
    settings.CACHES = caches_for("")
    data = ogg_opus_bytes(payload=5000)
    info = ingest(data, "voice.ogg").info()
    store = runtime.get_store()
    origin_file = tmp_path / "origin" / info.origin_key
    assert origin_file.read_bytes() == data
    store.evict(info)

    assert [(content.tier, content.data) for content in (store.fetch(info), store.fetch(info))] == [
        ("origin", data),
        ("memory", data),
    ]
    assert store.disk.path(info).read_bytes() == data

    store.evict(info)
    origin_file.unlink()
    with pytest.raises(MediaNotFound):
        store.fetch(info)


# -- large objects -------------------------------------------------------------------------------


def test_a_large_object_skips_redis_and_is_served_as_an_open_file(ingest, raw_redis, settings, small_limit):
    data = mp4_bytes(payload=5 * small_limit)
    info = ingest(data, "clip.mp4").info()
    store = runtime.get_store()
    store.evict(info)

    first = store.fetch(info)
    assert first.tier == "origin"
    assert first.file is not None
    assert first.data is None
    assert read_all(first) == data

    second = store.fetch(info)
    assert second.tier == "disk"
    assert second.file is not None
    assert second.data is None
    assert read_all(second) == data

    assert raw_redis.exists(hot_key(settings, info.sha256)) == 0
    assert store.locate(info) == "disk"


def test_a_large_fill_is_one_streamed_get_of_the_whole_object(ingest, s3_server, small_limit):
    data = random_bytes(5 * small_limit)
    info = ingest(data, "big.bin").info()
    store = runtime.get_store()
    store.evict(info)

    s3_server.start_recording()
    content = store.fetch(info)
    entries = s3_server.stop_recording()

    assert origin_requests(entries, info.origin_key) == ["GET"]
    assert content.file is not None
    content.file.close()


# -- corrupt copies are never served -------------------------------------------------------------


def test_a_corrupt_redis_copy_is_discarded_and_refilled_from_disk(ingest, store, raw_redis, settings, caplog):
    data = png_bytes(color=(9, 9, 9))
    info = ingest(data, "img.png").info()
    assert store.fetch(info).tier == "disk"  # promoted to Redis
    key = hot_key(settings, info.sha256)
    garbage = bytes(byte ^ 0x55 for byte in data)
    raw_redis.set(key, garbage)  # same length, different bytes

    content = store.fetch(info)

    assert (content.tier, content.data) == ("disk", data)
    assert raw_redis.get(key) == data
    assert store.fetch(info).tier == "redis"
    assert f"media.corrupt tier=redis hash={info.sha256}: discarded, will re-fill" in caplog.messages


def test_a_corrupt_redis_copy_with_no_disk_copy_is_refilled_from_the_origin(ingest, store, raw_redis, settings):
    data = ogg_opus_bytes(payload=3000)
    info = ingest(data, "voice.ogg").info()
    store.evict(info)
    key = hot_key(settings, info.sha256)
    raw_redis.set(key, random_bytes(len(data)))

    content = store.fetch(info)

    assert (content.tier, content.data) == ("origin", data)
    assert raw_redis.get(key) == data


def test_a_truncated_redis_copy_is_never_served(ingest, store, raw_redis, settings):
    data = png_bytes(color=(7, 7, 7))
    info = ingest(data, "img.png").info()
    raw_redis.set(hot_key(settings, info.sha256), data[:-1])

    content = store.fetch(info)

    assert (content.tier, content.data) == ("disk", data)


def test_a_corrupt_disk_copy_is_deleted_and_refilled_from_the_origin(ingest, store, raw_redis, settings):
    data = png_bytes(color=(11, 12, 13))
    info = ingest(data, "img.png").info()
    path = store.disk.path(info)
    impostor = path.with_name("impostor")
    impostor.write_bytes(bytes(byte ^ 0xFF for byte in data))
    impostor.replace(path)  # same size, new inode: what another writer would do

    content = store.fetch(info)

    assert (content.tier, content.data) == ("origin", data)
    assert path.read_bytes() == data
    assert raw_redis.get(hot_key(settings, info.sha256)) == data


def test_a_corrupt_large_disk_copy_is_refilled_from_the_origin(ingest, small_limit):
    data = random_bytes(3 * small_limit)
    info = ingest(data, "big.bin").info()
    store = runtime.get_store()
    path = store.disk.path(info)
    impostor = path.with_name("impostor")
    impostor.write_bytes(random_bytes(len(data)))
    impostor.replace(path)

    content = store.fetch(info)

    assert content.tier == "origin"
    assert content.file is not None
    assert read_all(content) == data
    assert path.read_bytes() == data


@pytest.mark.parametrize("size", ["small", "large"])
def test_a_corrupt_origin_copy_is_refused_and_not_cached(
    ingest, s3_client, raw_redis, settings, small_limit, size, bucket
):
    data = random_bytes(1000 if size == "small" else 3 * small_limit)
    info = ingest(data, "x.bin").info()
    store = runtime.get_store()
    store.evict(info)
    s3_client.put_object(Bucket=bucket, Key=info.origin_key, Body=random_bytes(len(data)))

    with pytest.raises(OriginUnavailable, match="does not match its digest"):
        store.fetch(info)

    assert raw_redis.exists(hot_key(settings, info.sha256)) == 0
    assert store.disk.path(info).exists() is False
    assert list((store.disk.root / ".tmp").iterdir()) == []


# -- Redis down ----------------------------------------------------------------------------------


def test_it_serves_from_disk_and_origin_when_redis_is_down(ingest, private_redis, caplog):
    caplog.set_level(logging.WARNING, logger="media_store.degraded")
    cached = png_bytes(color=(20, 30, 40))
    uncached = ogg_opus_bytes()
    cached_info = ingest(cached, "img.png").info()
    uncached_info = ingest(uncached, "voice.ogg").info()
    store = runtime.get_store()
    assert [store.fetch(cached_info).tier for _ in range(2)] == ["disk", "redis"]
    store.evict(uncached_info)

    private_redis.stop()
    started = time.monotonic()
    served = [store.fetch(cached_info) for _ in range(5)]
    filled = store.fetch(uncached_info)
    again = store.fetch(uncached_info)
    elapsed = time.monotonic() - started

    assert [(content.tier, content.data) for content in served] == [("disk", cached)] * 5
    assert (filled.tier, filled.data) == ("origin", uncached)
    assert (again.tier, again.data) == ("disk", uncached)
    assert elapsed < 3
    degraded = [message for message in caplog.messages if message.startswith("media.degraded tier=redis")]
    assert len(degraded) == 1


def test_it_uses_redis_again_once_it_is_back(ingest, private_redis, redis_servers, settings):
    settings.MEDIA_REDIS_RETRY_SECONDS = 0.2
    data = png_bytes(color=(33, 44, 55))
    info = ingest(data, "img.png").info()
    store = runtime.get_store()
    private_redis.stop()
    assert store.fetch(info).tier == "disk"

    redis_servers(port=private_redis.port)  # an empty redis-server on the same address
    time.sleep(0.25)  # bounded: the back-off window after the last failure

    assert [store.fetch(info).tier for _ in range(2)] == ["disk", "redis"]
    assert store.fetch(info).data == data


def test_locate_answers_without_redis(ingest, private_redis):
    info = ingest(png_bytes(color=(50, 60, 70)), "img.png").info()
    store = runtime.get_store()

    private_redis.stop()

    assert store.locate(info) == "disk"


# -- origin down ---------------------------------------------------------------------------------


def test_cached_content_is_served_while_the_origin_is_down(ingest, origin_down):
    hot = png_bytes(color=(1, 1, 1))
    warm = ogg_opus_bytes()
    hot_info = ingest(hot, "hot.png").info()
    warm_info = ingest(warm, "warm.ogg").info()
    assert runtime.get_store().fetch(hot_info).tier == "disk"  # now in Redis too

    origin_down()
    store = runtime.get_store()  # rebuilt: same Redis and disk, unreachable S3
    hot_content = store.fetch(hot_info)
    warm_content = store.fetch(warm_info)

    assert (hot_content.tier, hot_content.data) == ("redis", hot)
    assert (warm_content.tier, warm_content.data) == ("disk", warm)
    with pytest.raises(OriginUnavailable):
        store.origin.ping()  # the origin really is unreachable


@pytest.mark.parametrize("size", ["small", "large"])
def test_uncached_content_raises_origin_unavailable_while_the_origin_is_down(ingest, origin_down, small_limit, size):
    data = random_bytes(1000 if size == "small" else 3 * small_limit)
    info = ingest(data, "x.bin").info()
    runtime.get_store().evict(info)
    origin_down()
    store = runtime.get_store()

    started = time.monotonic()
    with pytest.raises(OriginUnavailable):
        store.fetch(info)
    with pytest.raises(OriginUnavailable):
        store.locate(info)

    assert time.monotonic() - started < 10
    assert store.disk.path(info).exists() is False


# -- content gone from the origin ------------------------------------------------------------------


@pytest.mark.parametrize("size", ["small", "large"])
def test_content_deleted_from_the_origin_is_not_found(ingest, s3_client, small_limit, size, bucket):
    data = random_bytes(1000 if size == "small" else 3 * small_limit)
    info = ingest(data, "x.bin").info()
    store = runtime.get_store()
    store.evict(info)
    s3_client.delete_object(Bucket=bucket, Key=info.origin_key)

    with pytest.raises(MediaNotFound):
        store.fetch(info)
    with pytest.raises(MediaNotFound):
        store.locate(info)


# -- caching off ---------------------------------------------------------------------------------


def test_with_caching_off_content_streams_from_the_origin_and_no_tier_is_touched(
    ingest, raw_redis, settings, cache_dir
):
    settings.ENABLE_CACHING = False
    data = mp4_bytes(payload=10_000)
    info = ingest(data, "clip.mp4").info()
    store = runtime.get_store()

    content = store.fetch(info)

    assert (store.hot, store.disk) == (None, None)
    assert (content.tier, content.data, content.file) == ("origin", None, None)
    assert read_all(content) == data
    ranged = content.open_origin(100, 199)
    assert b"".join(ranged) == data[100:200]
    ranged.close()
    assert store.locate(info) == "origin"
    assert raw_redis.exists(hot_key(settings, info.sha256)) == 0
    assert not (cache_dir / info.disk_name).exists()


def test_with_caching_off_a_deleted_object_is_not_found_when_opened(ingest, s3_client, settings, bucket):
    settings.ENABLE_CACHING = False
    info = ingest(b"%PDF-1.4 gone soon", "doc.pdf").info()
    s3_client.delete_object(Bucket=bucket, Key=info.origin_key)
    content = runtime.get_store().fetch(info)

    with pytest.raises(MediaNotFound):
        content.open_origin(None, None)


# -- locate (HEAD) -------------------------------------------------------------------------------


def test_locate_names_the_tier_without_downloading(ingest, store, s3_server):
    info = ingest(png_bytes(color=(80, 90, 100)), "img.png").info()

    s3_server.start_recording()
    on_disk = store.locate(info)
    store.fetch(info)
    in_redis = store.locate(info)
    store.evict(info)
    at_origin = store.locate(info)
    entries = s3_server.stop_recording()

    assert (on_disk, in_redis, at_origin) == ("disk", "redis", "origin")
    assert origin_requests(entries, info.origin_key) == ["HEAD"]


def test_locate_raises_not_found_for_a_deleted_object_without_downloading(ingest, store, s3_client, s3_server, bucket):
    info = ingest(png_bytes(color=(110, 120, 130)), "img.png").info()
    store.evict(info)
    s3_client.delete_object(Bucket=bucket, Key=info.origin_key)

    s3_server.start_recording()
    with pytest.raises(MediaNotFound):
        store.locate(info)
    entries = s3_server.stop_recording()

    assert origin_requests(entries, info.origin_key) == ["HEAD"]


# -- degraded disk -------------------------------------------------------------------------------


def test_with_an_unusable_disk_large_content_streams_from_the_origin(ingest, settings, tmp_path, small_limit):
    small = random_bytes(1000)
    large = random_bytes(3 * small_limit)
    small_info = ingest(small, "s.bin").info()
    large_info = ingest(large, "l.bin").info()
    broken_root = tmp_path / "disk-is-a-file"
    broken_root.write_bytes(b"not a folder")
    settings.MEDIA_CACHE_DIR = broken_root
    store = runtime.get_store()

    small_content = store.fetch(small_info)
    large_content = store.fetch(large_info)

    assert (small_content.tier, small_content.data) == ("origin", small)
    assert store.fetch(small_info).tier == "redis"
    assert (large_content.tier, large_content.data, large_content.file) == ("origin", None, None)
    assert read_all(large_content) == large


# -- single flight -------------------------------------------------------------------------------


def fetch_concurrently(store, info, count: int = 20) -> list[tuple[str, bytes]]:
    barrier = threading.Barrier(count)
    results: list[tuple[str, bytes]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait(10)
            content = store.fetch(info)
            data = read_all(content)
            with lock:
                results.append((content.tier, data))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    return results


@pytest.mark.parametrize(("size", "cache_tier"), [("small", "redis"), ("large", "disk")])
def test_twenty_concurrent_misses_make_one_origin_get(ingest, s3_server, small_limit, size, cache_tier):
    data = random_bytes(2000 if size == "small" else 4 * small_limit)
    info = ingest(data, "x.bin").info()
    store = runtime.get_store()
    store.evict(info)

    s3_server.start_recording()
    results = fetch_concurrently(store, info)
    entries = s3_server.stop_recording()

    assert len(origin_gets(entries, info.origin_key)) == 1
    assert sorted(tier for tier, _ in results) == sorted(["origin"] + [cache_tier] * 19)
    assert all(served == data for _, served in results)


def test_twenty_concurrent_misses_make_one_origin_get_with_redis_down(ingest, private_redis, s3_server):
    data = random_bytes(2000)
    info = ingest(data, "x.bin").info()
    store = runtime.get_store()
    store.evict(info)
    private_redis.stop()

    s3_server.start_recording()
    results = fetch_concurrently(store, info)
    entries = s3_server.stop_recording()

    assert len(origin_gets(entries, info.origin_key)) == 1
    assert sorted(tier for tier, _ in results) == sorted(["origin"] + ["disk"] * 19)
    assert all(served == data for _, served in results)
