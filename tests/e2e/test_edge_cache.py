"""The edge's cache (nginx from deploy/nginx/): one fill for many, keyed on the token alone,
never an error, and a deletion that reaches it within MEDIA_EDGE_TTL."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.media import png_bytes, random_bytes

pytestmark = pytest.mark.e2e

API_TOKEN = "edge-operator-token"
EDGE_TTL = 2


def origin_gets(recording: list[dict], sha256: str) -> int:
    return sum(1 for entry in recording if entry["method"] == "GET" and sha256 in entry["url"])


def test_fifty_concurrent_cold_requests_make_one_request_to_the_app_and_one_origin_get(edge, s3_server):
    item = edge.ingest(random_bytes(40 * 1024), "same.bin")
    barrier = threading.Barrier(50)

    def fetch(_):
        barrier.wait(timeout=30)
        response = requests.get(f"{edge.url}{item.path}?timestamp={time.time_ns()}", timeout=60)
        return response.status_code, response.content == item.payload

    s3_server.start_recording()
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(fetch, range(50)))
    recording = s3_server.stop_recording()

    lines = edge.nginx.logged(item.token, 50)
    assert results == [(200, True)] * 50
    assert origin_gets(recording, item.sha256) == 1
    assert sum("cache=MISS" in line for line in lines) == 1  # the other 49 waited on the lock
    assert sum("cache=HIT" in line for line in lines) == 49


def test_the_query_string_and_the_extension_alias_share_one_edge_entry(edge):
    item = edge.ingest(png_bytes(), "photo.png")

    first = requests.get(f"{edge.url}{item.path}?timestamp=1732240000000", timeout=10)
    aliased = requests.get(f"{edge.url}{item.path}.png?timestamp=1732240000999", timeout=10)

    assert (first.headers["X-Cache"], first.headers["X-Cache-Tier"]) == ("MISS", "origin")
    assert (aliased.headers["X-Cache"], aliased.headers["X-Cache-Tier"]) == ("HIT", "edge")
    assert aliased.content == item.payload
    assert aliased.headers["Content-Type"] == "image/png"
    assert aliased.headers["ETag"] == f'"{item.sha256}"'


def test_head_is_answered_from_the_edge_copy_once_there_is_one(edge, s3_server):
    item = edge.ingest(random_bytes(3000), "h.bin")

    s3_server.start_recording()
    cold = requests.head(edge.url + item.path, timeout=10)
    recording = s3_server.stop_recording()
    requests.get(edge.url + item.path, timeout=10)
    warm = requests.head(edge.url + item.path, timeout=10)

    assert (cold.status_code, cold.headers["X-Cache"], cold.headers["Content-Length"]) == (200, "MISS", "3000")
    assert origin_gets(recording, item.sha256) == 0  # a HEAD never downloads (it is not turned into a GET)
    assert (warm.status_code, warm.headers["X-Cache-Tier"], warm.content) == (200, "edge", b"")


def test_unknown_tokens_are_asked_of_the_app_every_time(edge):
    token = "ab" * 16

    answers = [requests.get(f"{edge.url}/media/{token}", timeout=10) for _ in range(3)]

    lines = edge.nginx.logged(token, 3)
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert {a.headers["Cache-Control"] for a in answers} == {"no-store"}
    assert all(re.search(r"upstream=\d", line) for line in lines)  # each one reached the app


def test_a_503_during_an_origin_outage_does_not_outlive_it_by_a_single_request(start_edge, private_s3):
    edge = start_edge(s3=private_s3)
    item = edge.ingest(random_bytes(20_000), "outage.bin")

    os.kill(private_s3.process.pid, signal.SIGSTOP)  # the origin hangs: the app times out
    try:
        during = requests.get(edge.url + item.path, timeout=30)
    finally:
        os.kill(private_s3.process.pid, signal.SIGCONT)
    after = requests.get(edge.url + item.path, timeout=30)

    assert during.status_code == 503
    assert during.headers["Cache-Control"] == "no-store"
    assert during.headers["Retry-After"] == "30"
    assert after.status_code == 200
    assert after.content == item.payload


def test_an_app_that_is_down_gets_a_tiny_503_from_the_edge(start_edge):
    edge = start_edge()
    item = edge.ingest(random_bytes(1000), "down.bin")
    edge.gunicorn.stop()

    response = requests.get(edge.url + item.path, timeout=10)

    assert response.status_code == 503
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Retry-After"] == "30"
    assert response.headers["Content-Security-Policy"].endswith("sandbox")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert len(response.content) < 64


def wait_for_status(url: str, status: int, timeout: float) -> float:
    """Seconds until ``url`` answers ``status`` (polled every 100 ms); fails after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if requests.get(url, timeout=10).status_code == status:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {status} within {timeout}s")


@pytest.fixture(scope="module")
def short_ttl_edge(start_edge):
    # MEDIA_TOKEN_CACHE_SECONDS stays at its 60 s default: the edge's revalidation must not wait for it
    # objects over 64 KiB are "large" here: the edge caches a pointer to their hand-over instead
    return start_edge(MEDIA_EDGE_TTL=str(EDGE_TTL), MEDIA_API_TOKEN=API_TOKEN, MEDIA_REDIS_MAX_OBJECT_BYTES="65536")


def test_after_the_ttl_the_edge_revalidates_with_a_304_from_the_app(short_ttl_edge):
    edge = short_ttl_edge
    item = edge.ingest(random_bytes(2000), "r.bin")
    requests.get(edge.url + item.path, timeout=10)

    time.sleep(EDGE_TTL + 1.5)  # nginx keeps time in whole seconds: an entry lives TTL to TTL + 1 s
    revalidated = requests.get(edge.url + item.path, timeout=10)

    lines = edge.nginx.logged(item.token, 2)
    assert (revalidated.status_code, revalidated.headers["X-Cache-Tier"]) == (200, "edge")
    assert revalidated.content == item.payload
    assert "cache=REVALIDATED" in lines[-1]


@pytest.mark.parametrize(("size", "second_tier"), [(2000, "edge"), (200_000, "disk")], ids=["cached", "handed-over"])
def test_a_deleted_attachment_answers_404_through_the_edge_within_the_ttl(short_ttl_edge, size, second_tier):
    edge = short_ttl_edge
    item = edge.ingest(random_bytes(size), "d.bin")
    url = edge.url + item.path
    assert [requests.get(url, timeout=10).headers["X-Cache-Tier"] for _ in range(2)][-1] == second_tier

    deleted = requests.delete(
        f"{edge.url}/api/attachments/{item.id}/", headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10
    )
    seconds = wait_for_status(url, 404, timeout=EDGE_TTL + 3)

    assert deleted.status_code == 204
    assert seconds <= EDGE_TTL + 1.5  # TTL, + nginx's one-second clock, + our polling
    gone = requests.get(url, timeout=10)
    assert (gone.status_code, gone.headers["Cache-Control"]) == (404, "no-store")


def test_the_media_id_endpoint_is_proxied_not_redirected(edge):
    """``GET /media?id=`` (CONTRACT §4) must reach the app: a ``location /media/`` prefix would
    make nginx answer it with a 301 to ``/media/?id=``, which is a 404."""
    answer = requests.get(f"{edge.url}/media?id=123&timestamp=1", timeout=10, allow_redirects=False)

    assert answer.status_code == 401  # the app's operator auth, not nginx's redirect
    assert answer.json()["detail"]
