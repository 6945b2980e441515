"""Variants over real HTTP: gunicorn (2 worker processes) and the edge in front of it."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support import ffmedia

pytestmark = pytest.mark.e2e


@pytest.fixture
def wav_bytes(tmp_path) -> bytes:
    return ffmedia.wav(tmp_path, seconds=3.0).read_bytes()


@pytest.fixture
def counting_ffmpeg(tmp_path):
    """An ``ffmpeg`` that logs each invocation (from any process) and then runs the real one."""
    log = tmp_path / "ffmpeg-runs"
    log.touch()
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(f'#!/bin/sh\necho "$$" >> "{log}"\nexec ffmpeg "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, log


def test_fifty_concurrent_cold_requests_across_workers_run_ffmpeg_once(start_media_server, counting_ffmpeg, wav_bytes):
    wrapper, log = counting_ffmpeg
    server = start_media_server(MEDIA_FFMPEG=str(wrapper), WEB_CONCURRENCY="2")
    item = server.ingest(wav_bytes, "memo.wav")
    url = f"{server.url}{item.path}/voice.ogg"

    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(lambda _: requests.get(url, timeout=60), range(50)))

    assert [response.status_code for response in responses] == [200] * 50, server.log()
    assert len({response.content for response in responses}) == 1
    assert len(log.read_text().splitlines()) == 1
    etag = responses[0].headers["ETag"]
    assert etag == f'"{hashlib.sha256(responses[0].content).hexdigest()}"'
    assert etag != f'"{item.sha256}"'


def test_a_variant_through_the_edge_is_cached_there_with_the_same_semantics(start_edge, wav_bytes):
    edge = start_edge()
    item = edge.ingest(wav_bytes, "memo.wav")
    url = f"{edge.url}{item.path}/voice.ogg"

    first = requests.get(url, timeout=60)
    second = requests.get(f"{url}?timestamp=1732240000000", timeout=10)
    ranged = requests.get(url, headers={"Range": "bytes=0-3"}, timeout=10)
    head = requests.head(url, timeout=10)
    refused = requests.get(f"{edge.url}{item.path}/video.mp4", timeout=10)

    assert first.status_code == 200, edge.log()
    assert first.headers["Content-Type"] == "audio/ogg"
    assert (second.headers["X-Cache"], second.headers["X-Cache-Tier"]) == ("HIT", "edge")
    assert second.content == first.content
    assert (ranged.status_code, ranged.content) == (206, b"OggS")
    assert ranged.headers["Content-Range"] == f"bytes 0-3/{len(first.content)}"
    assert (head.status_code, head.headers["Content-Length"]) == (200, str(len(first.content)))
    assert head.headers["ETag"] == first.headers["ETag"]
    assert refused.status_code == 422
    assert refused.headers["Cache-Control"] == "no-store"
