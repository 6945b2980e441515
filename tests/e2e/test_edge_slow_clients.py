"""Slow clients and bad actors stop at the edge: while they hold their connections, fast
requests — media from the edge cache and /healthz, which needs a gunicorn thread — keep
being served. (gunicorn facing them directly served none; docs/deploy.md has the figures.)
Each scenario lasts a few seconds; speed itself is measured by `make bench`."""

from __future__ import annotations

import functools
import threading
import time

import pytest
import requests

from tests.support.clients import FastRequests, slow_download, slow_upload, slowloris, under_pressure
from tests.support.media import random_bytes

pytestmark = pytest.mark.e2e

API_TOKEN = "slow-clients-token"
MiB = 1024 * 1024
SECONDS = 3


@pytest.fixture(scope="module")
def loaded_edge(start_edge):
    edge = start_edge(MEDIA_STORAGE="filesystem", MEDIA_API_TOKEN=API_TOKEN)
    big = edge.ingest(random_bytes(40 * MiB), "video.bin")
    small = edge.ingest(random_bytes(4096), "voice.bin")
    assert requests.get(edge.url + big.path, timeout=60).status_code == 200  # on the app's disk tier now
    return edge, big, small


def fast_requests(edge, small) -> FastRequests:
    return FastRequests([edge.url + small.path, f"{edge.url}/healthz"])


def test_64_slow_downloaders_do_not_stop_fast_requests(loaded_edge):
    edge, big, small = loaded_edge
    received: list[int] = []

    def download(stop):
        received.append(slow_download(edge.nginx.port, big.path, stop))

    fast = under_pressure(download, 64, fast_requests(edge, small), SECONDS)

    assert fast.failures == []
    assert fast.served >= 20
    assert len(received) == 64
    assert min(received) > 0  # every slow client was being served all along


def test_256_slowloris_connections_do_not_stop_fast_requests(loaded_edge):
    edge, _, small = loaded_edge

    fast = under_pressure(functools.partial(slowloris, edge.nginx.port), 256, fast_requests(edge, small), SECONDS)

    assert fast.failures == []
    assert fast.served >= 20


def test_32_slow_uploaders_hold_no_app_thread(loaded_edge):
    edge, _, small = loaded_edge
    upload = functools.partial(slow_upload, edge.nginx.port, token=API_TOKEN)

    fast = under_pressure(upload, 32, fast_requests(edge, small), SECONDS)

    assert fast.failures == []
    assert fast.served >= 20


def test_uploads_through_the_edge_reach_the_app_whole(loaded_edge):
    edge, _, _ = loaded_edge
    payload = random_bytes(300_000)

    response = requests.post(
        f"{edge.url}/api/attachments/",
        files={"file": ("through-edge.bin", payload)},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=30,
    )
    served = requests.get(response.json()["short_url"].replace("http://media.example.test", edge.url), timeout=10)

    assert response.status_code == 201
    assert served.content == payload


def test_the_edge_logs_the_real_client_address_and_tells_the_app(loaded_edge):
    edge, _, small = loaded_edge
    spoofed = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}

    requests.get(edge.url + small.path + "?who=me", headers=spoofed, timeout=10)

    [line] = edge.nginx.logged("who=me")
    assert line.startswith("127.0.0.1 ")  # no trusted proxy configured: a client's claim is ignored


def test_a_per_ip_connection_limit_answers_429_beyond_it(start_edge):
    edge = start_edge(MEDIA_STORAGE="filesystem", edge_env={"EDGE_CONNECTIONS_PER_IP": "4"})
    big = edge.ingest(random_bytes(20 * MiB), "big.bin")
    requests.get(edge.url + big.path, timeout=60)
    stop = threading.Event()
    holders = [threading.Thread(target=slow_download, args=(edge.nginx.port, big.path, stop)) for _ in range(4)]
    for holder in holders:
        holder.start()
    time.sleep(1.0)
    try:
        refused = requests.get(f"{edge.url}/healthz", timeout=10)
    finally:
        stop.set()
        for holder in holders:
            holder.join(timeout=10)
    time.sleep(0.5)
    allowed = requests.get(f"{edge.url}/healthz", timeout=10)

    assert refused.status_code == 429
    assert (refused.headers["Retry-After"], refused.headers["Cache-Control"]) == ("1", "no-store")
    assert len(refused.content) < 64
    assert allowed.status_code == 200
