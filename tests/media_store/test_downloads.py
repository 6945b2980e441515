"""``media_store.downloads`` (CONTRACT §6) against a real local HTTP server, Redis and S3 (moto).

The server serves real PNG/JPEG/MP4/PDF/OGG bytes; retries never sleep (``fetch.urls.sleep``
is replaced by a recorder); the negative cache runs on a fake clock where a test crosses its TTL.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from media_store import runtime
from media_store.downloads import (
    calculate_md5,
    calculate_md5_from_bytes,
    detect_media_type,
    download_and_cache_media,
    download_multiple_media,
    find_cached_by_md5,
    find_cached_by_url,
    format_size,
    get_cache_stats,
    get_image_dimensions,
    verify_cached_media,
)
from media_store.exceptions import BlockedURL, DownloadError, PayloadTooLarge, RecentlyFailed, RejectedMedia
from media_store.fetch import urls as url_ingest
from media_store.fetch.deadline import DeadlineExceeded
from media_store.models import Blob, SourceURL
from media_store.tiers import disk as disk_tier
from tests.support.http import respond, sequence
from tests.support.media import jpeg_bytes, mp4_bytes, ogg_opus_bytes, pdf_bytes, png_bytes, random_bytes
from tests.support.servers import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def negative_clock(allow_private, clock):
    """The URL negative cache on the fake clock (set after every settings change: a change rebuilds it)."""
    runtime.negative_cache("url").clock = clock
    return clock


@pytest.fixture
def origin_keys(s3_client, settings, bucket):
    """Every object key under this test's S3 prefix, read with a plain S3 client."""

    def keys() -> list[str]:
        response = s3_client.list_objects_v2(Bucket=bucket, Prefix=settings.MEDIA_S3_PREFIX)
        return sorted(item["Key"] for item in response.get("Contents", []))

    return keys


@pytest.fixture
def cached_files(cache_dir):
    def files() -> list[str]:
        if not cache_dir.exists():
            return []
        found = [path for path in cache_dir.rglob("*") if path.is_file() and ".tmp" not in path.parts]
        return sorted(str(path.relative_to(cache_dir)) for path in found)

    return files


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the result dictionary and dedup -------------------------------------------------------------


def test_it_returns_the_contract_dictionary_and_keeps_the_file_on_disk(server, allow_private, cache_dir):
    data = png_bytes(width=64, height=48)
    url = server.serve("/photos/red.png", data, "image/png")

    result = download_and_cache_media(url)

    digest = sha(data)
    assert result == {
        "md5_sum": hashlib.md5(data).hexdigest(),
        "sha256": digest,
        "local_path": str(cache_dir / "images" / f"{digest}.png"),
        "file_size": len(data),
        "mime_type": "image/png",
        "media_type": "image",
        "width": 64,
        "height": 48,
        "extension": ".png",
        "url": url,
    }
    assert Path(result["local_path"]).read_bytes() == data


def test_the_same_bytes_from_two_urls_are_stored_and_cached_once(server, allow_private, origin_keys, cached_files):
    data = jpeg_bytes()
    first_url = server.serve("/a/cat.jpg", data, "image/jpeg")
    second_url = server.serve("/b/forwarded.jpg", data, "image/jpeg")

    first = download_and_cache_media(first_url)
    second = download_and_cache_media(second_url)

    assert {key: value for key, value in second.items() if key != "url"} == {
        key: value for key, value in first.items() if key != "url"
    }
    assert Blob.objects.count() == 1
    assert origin_keys() == [Blob.objects.get().origin_key]
    assert cached_files() == [f"images/{sha(data)}.jpg"]
    assert sorted(SourceURL.objects.values_list("url", "blob_id")) == sorted(
        [(first_url, sha(data)), (second_url, sha(data))]
    )


def test_a_url_is_remembered_and_points_at_its_latest_content(server, allow_private):
    url = server.route(
        "/latest.png", sequence(respond(png_bytes(color=(1, 1, 1))), respond(png_bytes(color=(2, 2, 2))))
    )
    first = download_and_cache_media(url)
    assert find_cached_by_url(url) == first

    second = download_and_cache_media(url)

    assert second["sha256"] != first["sha256"]
    assert find_cached_by_url(url) == second
    assert SourceURL.objects.count() == 1


def test_find_cached_by_url_knows_nothing_of_other_urls(server, allow_private):
    download_and_cache_media(server.serve("/known.pdf", pdf_bytes()))

    assert find_cached_by_url(server.url("/unknown.pdf")) is None


def test_find_cached_by_md5_returns_the_content_and_its_source_url(server, allow_private):
    data = ogg_opus_bytes()
    url = server.serve("/voice.ogg", data, "audio/ogg")
    stored = download_and_cache_media(url)

    assert find_cached_by_md5(hashlib.md5(data).hexdigest().upper()) == stored
    assert find_cached_by_md5("0" * 32) is None


def test_content_gone_from_the_origin_is_not_reported_as_cached(server, allow_private):
    data = pdf_bytes()
    url = server.serve("/gone.pdf", data)
    download_and_cache_media(url)
    Blob.objects.update(expired_at=datetime.now(UTC))

    assert find_cached_by_url(url) is None
    assert find_cached_by_md5(hashlib.md5(data).hexdigest()) is None


def test_an_evicted_disk_copy_is_refilled_from_the_origin(server, allow_private):
    data = mp4_bytes()
    url = server.serve("/clip.mp4", data, "video/mp4")
    path = Path(download_and_cache_media(url)["local_path"])
    path.unlink()

    found = find_cached_by_url(url)

    assert found["local_path"] == str(path)
    assert path.read_bytes() == data
    assert len(server.requests) == 1


def test_without_caching_there_is_no_local_path(server, allow_private, settings):
    settings.ENABLE_CACHING = False

    result = download_and_cache_media(server.serve("/doc.pdf", pdf_bytes()))

    assert result["local_path"] is None
    assert result["mime_type"] == "application/pdf"


# -- what the content is -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "path", "claimed", "expected", "folder"),
    [
        (jpeg_bytes, "/photo.png", "image/png", ("image/jpeg", "image", ".jpg"), "images"),
        (pdf_bytes, "/page.html", "text/html", ("application/pdf", "document", ".pdf"), "documents"),
        (ogg_opus_bytes, "/voice", "application/octet-stream", ("audio/ogg", "audio", ".ogg"), "audio"),
        (mp4_bytes, "/clip.txt", "text/plain", ("video/mp4", "video", ".mp4"), "videos"),
    ],
)
def test_the_bytes_decide_the_type_when_the_server_lies(server, allow_private, make, path, claimed, expected, folder):
    data = make()
    result = download_and_cache_media(server.serve(path, data, claimed))

    assert (result["mime_type"], result["media_type"], result["extension"]) == expected
    assert Path(result["local_path"]).parent.name == folder


def test_generic_bytes_take_the_type_from_the_header_then_the_url(server, allow_private):
    declared = download_and_cache_media(server.serve("/blob", random_bytes(300), "audio/amr"))
    named = download_and_cache_media(server.serve("/export.csv", random_bytes(300), "application/octet-stream"))

    assert (declared["mime_type"], declared["extension"]) == ("audio/amr", ".amr")
    assert (named["mime_type"], named["media_type"], named["extension"]) == ("text/csv", "document", ".csv")


def test_a_given_media_type_is_reported_back_but_the_bytes_keep_their_type(server, allow_private):
    result = download_and_cache_media(server.serve("/s.webp", png_bytes(), "image/webp"), media_type="sticker")

    assert (result["media_type"], result["mime_type"]) == ("sticker", "image/png")


def test_an_unknown_media_type_is_refused_before_any_request(server, allow_private):
    with pytest.raises(ValueError, match="media_type must be one of image, audio, video, document, sticker"):
        download_and_cache_media(server.serve("/x.png", png_bytes()), media_type="gif")

    assert server.connections == 0


def test_a_decompression_bomb_is_refused_and_nothing_is_kept(server, allow_private, settings, origin_keys, temp_files):
    settings.MEDIA_MAX_IMAGE_PIXELS = 1000
    url = server.serve("/bomb.png", png_bytes(width=64, height=48), "image/png")

    with pytest.raises(RejectedMedia, match="decompression bomb: 64x48 pixels exceeds 1000"):
        download_and_cache_media(url)

    assert Blob.objects.count() == 0
    assert SourceURL.objects.count() == 0
    assert origin_keys() == []
    assert temp_files() == []
    with pytest.raises(RecentlyFailed):
        download_and_cache_media(url)
    assert len(server.requests) == 1


def test_empty_content_is_refused(server, allow_private):
    with pytest.raises(RejectedMedia, match="the content is empty"):
        download_and_cache_media(server.serve("/empty", b""))


# -- failures: retries, negative cache, caps, timeouts ---------------------------------------------


def test_transient_failures_are_retried_with_backoff(server, allow_private, sleeps, settings):
    settings.BASE_BACKOFF_SECONDS = 2
    data = png_bytes()
    url = server.route(
        "/flaky.png", sequence(respond(status=503), respond(status=503), respond(data, content_type="image/png"))
    )

    result = download_and_cache_media(url)

    assert result["sha256"] == sha(data)
    assert len(server.requests_for("/flaky.png")) == 3
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 2
    assert 0 <= sleeps[1] <= 4


def test_retry_after_in_seconds_is_a_floor_on_the_wait(server, allow_private, sleeps, settings):
    settings.BASE_BACKOFF_SECONDS = 0.01
    url = server.route("/busy", sequence(respond(status=429, headers={"Retry-After": "2"}), respond(pdf_bytes())))

    download_and_cache_media(url)

    assert len(sleeps) == 1
    assert 2 <= sleeps[0] <= 2.01


def test_retry_after_as_an_http_date_is_honoured(server, allow_private, sleeps, settings):
    settings.BASE_BACKOFF_SECONDS = 0.01
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    url = server.route("/later", sequence(respond(status=503, headers={"Retry-After": when}), respond(pdf_bytes())))

    download_and_cache_media(url)

    assert len(sleeps) == 1
    assert 28 <= sleeps[0] <= 30


def test_a_huge_retry_after_is_clamped(server, allow_private, sleeps, settings):
    settings.BASE_BACKOFF_SECONDS = 0.01
    settings.DOWNLOAD_TIMEOUT = 120  # the clamped wait must fit in the fetch's one deadline
    url = server.route(
        "/tomorrow", sequence(respond(status=503, headers={"Retry-After": "86400"}), respond(pdf_bytes()))
    )

    download_and_cache_media(url)

    assert sleeps == [60.0]


def test_still_failing_after_max_retries_is_transient_and_not_remembered(server, allow_private, sleeps, settings):
    settings.MAX_RETRIES = 3
    url = server.serve("/down", b"", status=503)

    with pytest.raises(DownloadError) as raised:
        download_and_cache_media(url)

    assert (raised.value.permanent, raised.value.status, raised.value.http_status) == (False, 503, 502)
    assert str(raised.value) == f"{url} answered 503 Service Unavailable"
    assert len(server.requests) == 3
    assert len(sleeps) == 2
    with pytest.raises(DownloadError):
        download_and_cache_media(url)
    assert len(server.requests) == 6


def test_a_permanent_failure_is_not_retried_and_not_requested_again_within_the_ttl(
    server, negative_clock, sleeps, settings
):
    url = server.serve("/missing.png", b"nope", status=404)

    with pytest.raises(DownloadError) as first:
        download_and_cache_media(url)
    with pytest.raises(RecentlyFailed) as second:
        download_and_cache_media(url)

    assert (first.value.permanent, first.value.status, first.value.http_status) == (True, 404, 422)
    assert len(server.requests) == 1
    assert sleeps == []
    assert str(second.value) == f"not retried within FAILED_MEDIA_TTL (3600s): {url} answered 404 Not Found"
    assert second.value.http_status == 422

    negative_clock.advance(3599)
    with pytest.raises(RecentlyFailed):
        download_and_cache_media(url)
    assert len(server.requests) == 1

    negative_clock.advance(2)
    with pytest.raises(DownloadError) as third:
        download_and_cache_media(url)
    assert not isinstance(third.value, RecentlyFailed)
    assert len(server.requests) == 2


def test_over_the_byte_cap_nothing_is_kept_and_the_url_is_remembered(server, allow_private, settings, temp_files):
    settings.DOWNLOAD_MAX_BYTES = 64 * 1024
    url = server.serve("/big.bin", random_bytes(200 * 1024), chunked=True)

    with pytest.raises(PayloadTooLarge, match="content exceeds the limit of 65536 bytes"):
        download_and_cache_media(url)

    assert Blob.objects.count() == 0
    assert temp_files() == []
    with pytest.raises(RecentlyFailed):
        download_and_cache_media(url)
    assert len(server.requests) == 1


def test_a_slow_server_uses_up_the_one_deadline_and_is_not_retried_past_it(server, allow_private, sleeps, settings):
    settings.MAX_RETRIES = 2
    url = server.serve("/slow", pdf_bytes(), delay=3)

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="Read timed out") as raised:
        download_and_cache_media(url, timeout=0.5)
    elapsed = time.monotonic() - started

    assert raised.value.permanent is False
    assert len(server.requests) == 1  # the read timeout took the whole deadline: no time for attempt 2
    assert len(sleeps) == 0
    assert elapsed < 2.5


def test_download_timeout_is_the_default_and_the_argument_overrides_it(server, allow_private, settings):
    settings.DOWNLOAD_TIMEOUT = 0.3
    settings.MAX_RETRIES = 1
    url = server.serve("/half-second.pdf", pdf_bytes(), delay=0.6)

    with pytest.raises(DownloadError, match=r"read timeout=0\.[23]"):  # what is left of the 0.3 s deadline
        download_and_cache_media(url)
    result = download_and_cache_media(url, timeout=5)

    assert result["mime_type"] == "application/pdf"


@pytest.mark.parametrize("timeout", [0, -1])
def test_a_non_positive_timeout_is_refused(server, allow_private, timeout):
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        download_and_cache_media(server.serve("/x.pdf", pdf_bytes()), timeout=timeout)
    assert server.connections == 0


# -- SSRF and secrets ------------------------------------------------------------------------------


def test_private_addresses_are_refused_by_default_and_not_remembered(server, settings, caplog):
    url = server.serve("/internal.png", png_bytes())

    with pytest.raises(BlockedURL, match="a private or reserved address") as raised:
        download_and_cache_media(url)

    assert raised.value.http_status == 400
    assert server.connections == 0
    assert f"media.download_failed url={url}: refused to fetch {url}: 127.0.0.1 resolves to" in caplog.text
    settings.DOWNLOAD_ALLOW_PRIVATE_NETWORKS = True
    assert download_and_cache_media(url)["mime_type"] == "image/png"


def test_credentials_in_urls_are_used_but_never_logged_or_stored(server, allow_private, sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    data = png_bytes()
    server.route("/private.png", sequence(respond(status=503), respond(data, content_type="image/png")))
    server.serve("/denied.png", b"", status=403)
    base = f"http://alice:s3cr3t-pw@127.0.0.1:{server.port}"

    result = download_and_cache_media(f"{base}/private.png")
    with pytest.raises(DownloadError) as raised:
        download_and_cache_media(f"{base}/denied.png")
    with pytest.raises(RecentlyFailed) as remembered:
        download_and_cache_media(f"{base}/denied.png")

    assert server.requests_for("/private.png")[0].headers["Authorization"] == "Basic YWxpY2U6czNjcjN0LXB3"
    assert SourceURL.objects.get().url == f"http://***@127.0.0.1:{server.port}/private.png"
    assert result["url"] == f"{base}/private.png"  # the caller's own input, returned as given
    assert "media.retry" in caplog.text
    assert "media.download_failed" in caplog.text
    for text in (caplog.text, str(raised.value), str(remembered.value)):
        assert "s3cr3t-pw" not in text
        assert "alice" not in text


# -- batches -----------------------------------------------------------------------------------------


def test_a_batch_keeps_input_order_and_one_failure_does_not_sink_the_others(server, allow_private):
    png, jpeg = png_bytes(), jpeg_bytes()
    urls = [
        server.serve("/one.png", png, "image/png"),
        server.serve("/missing", b"", status=404),
        server.serve("/two.jpg", jpeg, "image/jpeg", delay=0.2),
        "file:///etc/passwd",
    ]

    results = download_multiple_media(urls)

    assert [result.get("sha256") for result in results] == [sha(png), None, sha(jpeg), None]
    assert [result["url"] for result in results] == urls
    assert results[1] == {"url": urls[1], "error": f"{urls[1]} answered 404 Not Found"}
    assert results[3] == {"url": urls[3], "error": "only http and https URLs can be downloaded, not 'file'"}
    assert Blob.objects.count() == 2


def test_a_batch_of_copies_stores_the_content_once(server, allow_private, origin_keys):
    data = mp4_bytes()
    urls = [server.serve(f"/copy-{n}.mp4", data, "video/mp4") for n in range(4)]

    results = download_multiple_media(urls, max_workers=4)

    assert {result["sha256"] for result in results} == {sha(data)}
    assert Blob.objects.count() == 1
    assert len(origin_keys()) == 1
    assert SourceURL.objects.count() == 4


def test_parallel_downloads_take_a_fraction_of_the_serial_time(server, allow_private):
    urls = [server.serve(f"/slow-{n}.png", png_bytes(color=(n, n, n)), "image/png", delay=0.3) for n in range(10)]
    serial_urls = [
        server.serve(f"/slow-serial-{n}.png", png_bytes(color=(n, 9, n)), "image/png", delay=0.3) for n in range(10)
    ]

    started = time.monotonic()
    serial = download_multiple_media(serial_urls, max_workers=1)
    serial_seconds = time.monotonic() - started
    started = time.monotonic()
    parallel = download_multiple_media(urls, max_workers=5)
    parallel_seconds = time.monotonic() - started

    assert all("sha256" in result for result in serial + parallel)
    assert serial_seconds >= 3.0
    assert parallel_seconds < 0.6 * serial_seconds


def test_batch_arguments_are_checked(server, allow_private):
    assert download_multiple_media([]) == []
    with pytest.raises(ValueError, match="max_workers must be at least 1, not 0"):
        download_multiple_media([server.url("/x")], max_workers=0)
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds, not 0"):
        download_multiple_media([server.url("/x")], timeout=0)
    assert server.connections == 0


# -- disk statistics and helpers -------------------------------------------------------------------


def test_cache_stats_count_the_disk_tier_by_type_without_temp_files(server, allow_private, cache_dir):
    items = {
        "/a.png": png_bytes(),
        "/b.jpg": jpeg_bytes(),
        "/c.mp4": mp4_bytes(),
        "/d.ogg": ogg_opus_bytes(),
        "/e.pdf": pdf_bytes(),
    }
    for path, data in items.items():
        download_and_cache_media(server.serve(path, data))
    (cache_dir / ".tmp").mkdir(exist_ok=True)
    (cache_dir / ".tmp" / "stage-leftover").write_bytes(b"x" * 999)

    stats = get_cache_stats()

    sizes = {path: len(data) for path, data in items.items()}
    assert stats == {
        "total_files": 5,
        "total_size": sum(sizes.values()),
        "by_type": {
            "image": {"count": 2, "size": sizes["/a.png"] + sizes["/b.jpg"]},
            "video": {"count": 1, "size": sizes["/c.mp4"]},
            "audio": {"count": 1, "size": sizes["/d.ogg"]},
            "document": {"count": 1, "size": sizes["/e.pdf"]},
        },
    }


def test_cache_stats_of_an_empty_cache_are_zero():
    zero = {"count": 0, "size": 0}
    assert get_cache_stats() == {
        "total_files": 0,
        "total_size": 0,
        "by_type": {"image": zero, "video": zero, "audio": zero, "document": zero},
    }


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1024, "1.0 KB"),
        (1536, "1.5 KB"),
        (1572864, "1.5 MB"),
        (5 * 1024**3, "5.0 GB"),
        (3 * 1024**4, "3.0 TB"),
        (2048 * 1024**5, "2048.0 PB"),
    ],
)
def test_format_size(size, text):
    assert format_size(size) == text


def test_format_size_refuses_negative_sizes():
    with pytest.raises(ValueError, match="a size cannot be negative: -1"):
        format_size(-1)


def test_md5_helpers_and_cached_file_verification(tmp_path):
    data = random_bytes(3 * 1024 * 1024 + 5)
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    expected = hashlib.md5(data).hexdigest()

    assert calculate_md5(path) == expected
    assert calculate_md5_from_bytes(data) == expected
    assert verify_cached_media(path, expected) is True
    assert verify_cached_media(str(path), expected.upper()) is True
    assert verify_cached_media(path, "0" * 32) is False
    assert verify_cached_media(path, "not-an-md5") is False
    assert verify_cached_media(tmp_path / "missing.bin", expected) is False
    assert verify_cached_media(tmp_path, expected) is False


@pytest.mark.parametrize(
    ("url", "mime_type", "expected"),
    [
        ("https://cdn.example/x", "image/webp", "image"),
        ("https://cdn.example/x", "video/mp4; codecs=avc1", "video"),
        ("https://cdn.example/x", "audio/ogg", "audio"),
        ("https://cdn.example/x", "application/pdf", "document"),
        ("https://cdn.example/x", "image/svg+xml", "document"),
        ("https://cdn.example/voice.opus?sig=1", None, "audio"),
        ("https://cdn.example/photo.JPG", "application/octet-stream", "image"),
        ("https://cdn.example/clip.mov", "", "video"),
        ("https://cdn.example/archive", None, "document"),
        ("https://cdn.example/page.html", None, "document"),
    ],
)
def test_detect_media_type(url, mime_type, expected):
    assert detect_media_type(url, mime_type) == expected


def test_image_dimensions(tmp_path, settings):
    image = tmp_path / "img.png"
    image.write_bytes(png_bytes(width=30, height=20))
    document = tmp_path / "doc.pdf"
    document.write_bytes(pdf_bytes())

    assert get_image_dimensions(image) == (30, 20)
    assert get_image_dimensions(document) is None
    settings.MEDIA_MAX_IMAGE_PIXELS = 100
    assert get_image_dimensions(image) is None


# -- failure branches of the batch and the disk copy ------------------------------------------------


def test_an_unexpected_error_in_one_url_is_reported_and_the_others_complete(server, allow_private, monkeypatch, caplog):
    real_store = url_ingest.store_download

    def store_with_a_bug(download):
        if download.url.endswith("/buggy.pdf"):
            raise RuntimeError("boom")
        return real_store(download)

    monkeypatch.setattr(url_ingest, "store_download", store_with_a_bug)
    urls = [server.serve("/buggy.pdf", pdf_bytes()), server.serve("/fine.png", png_bytes())]

    results = download_multiple_media(urls)

    assert results[0] == {"url": urls[0], "error": "RuntimeError: boom"}
    assert results[1]["mime_type"] == "image/png"
    assert "media.download_failed url=" in caplog.text
    assert "Traceback" in caplog.text


def test_an_interrupted_batch_leaves_no_temp_files(server, allow_private, temp_files):
    urls = [server.serve(f"/n-{n}.pdf", pdf_bytes() + bytes([n])) for n in range(4)]
    urls.append(server.serve("/missing", b"", status=404, delay=0.3))  # still running when interrupted

    def interrupt(outcome) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        url_ingest.download_blobs(urls, max_workers=5, on_result=interrupt)

    assert temp_files() == []
    assert Blob.objects.count() == 1  # the first to finish was stored before the interruption


def test_no_local_path_when_the_disk_copy_cannot_be_refilled(server, allow_private, s3_client, bucket, settings):
    data = png_bytes()
    url = server.serve("/p.png", data, "image/png")
    path = Path(download_and_cache_media(url)["local_path"])
    key = Blob.objects.get().origin_key

    path.unlink()
    s3_client.put_object(Bucket=bucket, Key=key, Body=b"x" * len(data))
    assert find_cached_by_url(url)["local_path"] is None  # the origin copy is corrupt: not copied to disk

    s3_client.delete_object(Bucket=bucket, Key=key)
    assert find_cached_by_url(url)["local_path"] is None  # gone from the origin

    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    settings.MEDIA_ORIGIN_TIMEOUT = 1.0
    assert find_cached_by_url(url)["local_path"] is None  # origin unreachable
    assert not path.exists()


def test_cache_stats_skip_folders_and_files_removed_while_counting(cache_dir, monkeypatch):
    (cache_dir / "images" / "nested").mkdir(parents=True)
    (cache_dir / "images" / "a.png").write_bytes(b"12345")
    real_scandir = os.scandir

    class Vanished:
        name = "gone.png"

        def is_file(self, follow_symlinks: bool = True) -> bool:
            return True

        def stat(self, follow_symlinks: bool = True):
            raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(disk_tier.os, "scandir", lambda folder: [*real_scandir(folder), Vanished()])

    assert get_cache_stats()["by_type"]["image"] == {"count": 1, "size": 5}


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://cdn.example/a/b/photo%20one.jpg?x=1#y", "photo one.jpg"),
        ("https://cdn.example/", None),
        ("https://cdn.example", None),
        ("http://[::1/x.png", None),
    ],
)
def test_filename_from_url(url, name):
    assert url_ingest.filename_from_url(url) == name
