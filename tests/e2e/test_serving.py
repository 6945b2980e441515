"""The short URL over real HTTP, hit with requests and curl: each test runs against gunicorn
itself (`make run`) and through the edge (nginx from deploy/nginx/, as `make edge`)."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.media import ogg_opus_bytes, png_bytes, random_bytes

pytestmark = pytest.mark.e2e

CACHE_FOREVER = "public, max-age=31536000, immutable"
CSP = "default-src 'none'; media-src 'self'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def origin_gets(recording: list[dict], sha256: str) -> int:
    return sum(1 for entry in recording if entry["method"] == "GET" and sha256 in entry["url"])


def test_get_serves_the_bytes_with_every_contract_header(served):
    item = served.ingest(ogg_opus_bytes(50 * 1024), "voice.ogg")

    first = requests.get(served.url + item.path, timeout=10)
    second = requests.get(served.url + item.path, timeout=10)

    assert first.status_code == 200
    assert first.content == item.payload
    assert first.headers["Content-Type"] == "audio/ogg"
    assert first.headers["Content-Length"] == str(len(item.payload))
    assert first.headers["ETag"] == f'"{item.sha256}"'
    assert first.headers["Cache-Control"] == CACHE_FOREVER
    assert first.headers["Accept-Ranges"] == "bytes"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.headers["X-Cache"] == "MISS"
    assert first.headers["Content-Security-Policy"] == CSP
    assert "Set-Cookie" not in first.headers
    assert "Content-Encoding" not in first.headers
    assert second.headers["X-Cache"] == "HIT"
    assert second.content == item.payload


def test_clients_appending_query_parameters_or_an_extension_get_the_same_content(served):
    item = served.ingest(png_bytes(), "photo.png")

    with_query = requests.get(f"{served.url}{item.path}?timestamp=1732240000000", timeout=10)
    with_extension = requests.get(f"{served.url}{item.path}.png", timeout=10)

    assert with_query.status_code == 200
    assert with_query.content == item.payload
    assert with_extension.status_code == 200
    assert with_extension.content == item.payload
    assert with_extension.headers["Content-Type"] == "image/png"


def test_head_answers_headers_without_downloading_from_the_origin(served, s3_server):
    item = served.ingest(random_bytes(20_000), "blob.bin")

    s3_server.start_recording()
    response = requests.head(served.url + item.path, timeout=10)
    recording = s3_server.stop_recording()

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["Content-Length"] == "20000"
    assert response.headers["ETag"] == f'"{item.sha256}"'
    assert response.headers["X-Cache"] == "MISS"
    assert origin_gets(recording, item.sha256) == 0


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=0-1", 0, 1),
        ("bytes=100-", 100, 9999),
        ("bytes=-500", 9500, 9999),
        ("bytes=9000-20000", 9000, 9999),
    ],
)
def test_range_requests_get_206_with_exact_bytes(served, range_header, start, end):
    item = served.ingest(random_bytes(10_000), "data.bin")

    response = requests.get(served.url + item.path, headers={"Range": range_header}, timeout=10)

    assert response.status_code == 206
    assert response.content == item.payload[start : end + 1]
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/10000"
    assert response.headers["Content-Length"] == str(end - start + 1)
    assert response.headers["Cache-Control"] == CACHE_FOREVER


def test_unsatisfiable_range_gets_416_with_the_size(served):
    item = served.ingest(random_bytes(1000), "data.bin")

    response = requests.get(served.url + item.path, headers={"Range": "bytes=5000-"}, timeout=10)

    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */1000"


def test_if_range_with_another_validator_gets_the_full_body(served):
    item = served.ingest(random_bytes(1000), "data.bin")

    response = requests.get(served.url + item.path, headers={"Range": "bytes=0-9", "If-Range": '"other"'}, timeout=10)

    assert response.status_code == 200
    assert response.content == item.payload


def test_matching_if_none_match_gets_304(served):
    item = served.ingest(random_bytes(1000), "data.bin")

    response = requests.get(served.url + item.path, headers={"If-None-Match": f'W/"{item.sha256}"'}, timeout=10)

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["ETag"] == f'"{item.sha256}"'
    assert response.headers["Cache-Control"] == CACHE_FOREVER


def test_gzip_is_never_applied_to_media(served):
    item = served.ingest(b"plain text compresses well\n" * 2000, "notes.txt")

    response = requests.get(served.url + item.path, headers={"Accept-Encoding": "gzip, br"}, timeout=10)

    assert "Content-Encoding" not in response.headers
    assert response.headers["Content-Length"] == str(len(item.payload))
    assert response.raw.headers.get("Content-Encoding") is None


def test_unknown_hash_is_a_tiny_uncacheable_404(served):
    response = requests.get(f"{served.url}/media/{'0' * 32}", timeout=10)

    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == CSP
    assert len(response.content) < 64


def test_other_methods_get_405_with_allow(served):
    item = served.ingest(random_bytes(100), "x.bin")

    response = requests.post(served.url + item.path, data=b"x", timeout=10)

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"


def test_curl_downloads_and_resumes_with_continue_at(served, tmp_path):
    item = served.ingest(random_bytes(300_000), "video.bin")
    target = tmp_path / "download.bin"
    target.write_bytes(item.payload[:123_456])  # an interrupted earlier download

    resumed = subprocess.run(
        ["curl", "-sS", "--fail", "-C", "-", "-o", str(target), served.url + item.path],
        capture_output=True,
        timeout=30,
    )
    fresh = subprocess.run(["curl", "-sS", "--fail", served.url + item.path], capture_output=True, timeout=30)

    assert resumed.returncode == 0, resumed.stderr
    assert target.read_bytes() == item.payload
    assert fresh.returncode == 0
    assert fresh.stdout == item.payload


def test_curl_head_shows_the_headers(served):
    item = served.ingest(png_bytes(), "p.png")

    result = subprocess.run(["curl", "-sS", "-I", served.url + item.path], capture_output=True, timeout=30)
    headers = result.stdout.decode().lower()

    assert result.returncode == 0
    assert "http/1.1 200" in headers
    assert "content-type: image/png" in headers
    assert f'etag: "{item.sha256}"' in headers


@pytest.mark.parametrize("size", [40 * 1024, 3 * 1024 * 1024], ids=["hot-sized", "disk-only"])
def test_fifty_concurrent_misses_make_one_origin_get(start_media_server, s3_server, size):
    server = start_media_server(MEDIA_REDIS_MAX_OBJECT_BYTES=str(1024 * 1024))
    item = server.ingest(random_bytes(size), "same.bin")

    def fetch(_):
        response = requests.get(server.url + item.path, timeout=60)
        return response.status_code, response.content == item.payload

    s3_server.start_recording()
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(fetch, range(50)))
    recording = s3_server.stop_recording()

    assert results == [(200, True)] * 50
    assert origin_gets(recording, item.sha256) == 1
