"""The serving view in-process (Django test client): paths the e2e suite does not reach cheaply."""

from __future__ import annotations

import pytest

from chat.services import attach_file
from media_store import runtime
from media_store.models import Blob
from tests.support.media import png_bytes, random_bytes
from tests.support.servers import free_port

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def ingest(tmp_path):
    def ingest(payload: bytes, name: str = "file.bin"):
        path = tmp_path / name
        path.write_bytes(payload)
        return attach_file(path)

    return ingest


def evict_everywhere(attachment) -> None:
    runtime.get_store().evict(attachment.blob.info())


def test_first_request_after_eviction_is_a_miss_then_a_hot_hit(client, ingest):
    attachment = ingest(random_bytes(5000))
    evict_everywhere(attachment)

    first = client.get(f"/media/{attachment.media_hash}")
    second = client.get(f"/media/{attachment.media_hash}")

    assert (first.headers["X-Cache"], first.headers["X-Cache-Tier"]) == ("MISS", "origin")
    assert (second.headers["X-Cache"], second.headers["X-Cache-Tier"]) == ("HIT", "redis")
    assert body(second) == body(first)


def test_large_objects_skip_the_hot_tier_and_range_from_disk(client, ingest, settings):
    settings.MEDIA_REDIS_MAX_OBJECT_BYTES = 1024
    payload = random_bytes(100_000)
    attachment = ingest(payload)
    evict_everywhere(attachment)

    miss = client.get(f"/media/{attachment.media_hash}", HTTP_RANGE="bytes=1000-1999")
    hit = client.get(f"/media/{attachment.media_hash}", HTTP_RANGE="bytes=-10")

    assert miss.status_code == 206
    assert body(miss) == payload[1000:2000]
    assert miss.headers["X-Cache-Tier"] == "origin"
    assert hit.status_code == 206
    assert body(hit) == payload[-10:]
    assert hit.headers["X-Cache-Tier"] == "disk"
    assert hit.headers["Content-Length"] == "10"
    assert runtime.get_store().hot.get(attachment.sha256) is None


@pytest.mark.parametrize("range_header", [None, "bytes=10-19"])
def test_with_caching_disabled_it_streams_from_the_origin(client, ingest, settings, range_header):
    payload = random_bytes(50_000)
    attachment = ingest(payload)
    settings.ENABLE_CACHING = False
    headers = {"HTTP_RANGE": range_header} if range_header else {}

    response = client.get(f"/media/{attachment.media_hash}", **headers)

    expected = payload[10:20] if range_header else payload
    assert response.status_code == (206 if range_header else 200)
    assert body(response) == expected
    assert response.headers["X-Cache"] == "MISS"
    assert response.headers["Content-Length"] == str(len(expected))


def test_with_caching_disabled_a_corrupt_origin_copy_aborts_the_stream(client, ingest, settings):
    attachment = ingest(random_bytes(5000))
    settings.ENABLE_CACHING = False
    store = runtime.get_store()
    corrupt = settings.MEDIA_CACHE_DIR / "corrupt.bin"
    corrupt.parent.mkdir(parents=True, exist_ok=True)
    corrupt.write_bytes(b"\x00" * 5000)
    store.origin.put(attachment.blob.origin_key, corrupt, "application/octet-stream")

    response = client.get(f"/media/{attachment.media_hash}")
    received = []

    def read_all() -> None:
        for chunk in response.streaming_content:
            received.append(chunk)

    with pytest.raises(ConnectionAbortedError):
        read_all()
    assert sum(map(len, received)) < int(response["Content-Length"])  # never a complete body


@pytest.mark.parametrize(
    ("payload", "name", "mime"),
    [
        (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "page.html", "text/html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg", "image/svg+xml"),
    ],
)
def test_active_content_is_sent_as_an_attachment(client, ingest, payload, name, mime):
    attachment = ingest(payload, name)

    response = client.get(f"/media/{attachment.media_hash}")

    assert response.headers["Content-Type"] == mime
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("declared", ["text/xsl", "application/rss+xml", "application/json"])
def test_a_declared_type_that_is_not_known_inert_is_an_attachment(client, declared):
    """Generic bytes take the declared type (a remote server's choice): XHTML scripts run in any
    XML type, so only inert types are ever shown inline."""
    from chat.services import attach_staged
    from media_store.ingest.commit import new_staged_file

    with new_staged_file() as staged:
        staged.write(b"plain words, declared as something else\n")
        attachment = attach_staged(staged, filename="feed", declared_type=declared)

    response = client.get(f"/media/{attachment.media_hash}")

    assert response.headers["Content-Type"] == declared
    assert response.headers["Content-Disposition"].startswith("attachment;")


def test_inline_media_has_no_content_disposition(client, ingest):
    attachment = ingest(png_bytes(), "p.png")

    response = client.get(f"/media/{attachment.media_hash}")

    assert "Content-Disposition" not in response.headers


def test_content_deleted_from_the_origin_is_404_and_marked_expired(client, ingest):
    attachment = ingest(random_bytes(3000))
    evict_everywhere(attachment)
    runtime.get_origin().delete(attachment.blob.origin_key)

    gone = client.get(f"/media/{attachment.media_hash}")
    again = client.get(f"/media/{attachment.media_hash}")

    assert gone.status_code == 404
    assert gone.headers["Cache-Control"] == "no-store"
    assert Blob.objects.get(pk=attachment.sha256).expired_at is not None
    assert again.status_code == 404


def test_head_of_content_gone_from_the_origin_is_404(client, ingest):
    attachment = ingest(random_bytes(3000))
    evict_everywhere(attachment)
    runtime.get_origin().delete(attachment.blob.origin_key)

    response = client.head(f"/media/{attachment.media_hash}")

    assert response.status_code == 404


def test_head_reports_the_tier_holding_the_content(client, ingest):
    attachment = ingest(random_bytes(3000))

    on_disk = client.head(f"/media/{attachment.media_hash}")
    client.get(f"/media/{attachment.media_hash}")
    in_redis = client.head(f"/media/{attachment.media_hash}")

    assert (on_disk.status_code, on_disk.headers["X-Cache-Tier"]) == (200, "disk")
    assert in_redis.headers["X-Cache-Tier"] == "redis"
    assert in_redis.headers["Content-Length"] == "3000"
    assert in_redis.content == b""


def test_uncached_content_with_the_origin_down_is_503_with_retry_after(client, ingest, settings):
    attachment = ingest(random_bytes(3000))
    evict_everywhere(attachment)
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    settings.MEDIA_ORIGIN_TIMEOUT = 1.0

    response = client.get(f"/media/{attachment.media_hash}")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.headers["Cache-Control"] == "no-store"


def test_it_serves_from_the_in_process_hot_tier_without_redis(client, ingest, settings):
    settings.REDIS_URL = ""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    attachment = ingest(random_bytes(4000))
    client.get(f"/media/{attachment.media_hash}")

    response = client.get(f"/media/{attachment.media_hash}")

    assert response.headers["X-Cache-Tier"] == "memory"


def test_the_filesystem_origin_serves_like_s3(client, ingest, settings):
    settings.MEDIA_STORAGE = "filesystem"
    payload = random_bytes(4000)
    attachment = ingest(payload)
    evict_everywhere(attachment)

    response = client.get(f"/media/{attachment.media_hash}")

    assert (settings.MEDIA_ORIGIN_DIR / attachment.blob.origin_key).read_bytes() == payload
    assert response.headers["X-Cache-Tier"] == "origin"
    assert body(response) == payload


def test_healthz_reports_ok_for_working_services(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "cache": "ok", "storage": "ok"}
