"""One deadline per fetch (``DOWNLOAD_TIMEOUT``), against real slow servers on 127.0.0.1.

Retries really wait here (no patched sleep): the point is that the whole operation — every
attempt, redirect hop and back-off wait — ends by the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from media_store.exceptions import DownloadError
from media_store.fetch import urls as url_ingest
from media_store.fetch.deadline import DeadlineExceeded, within
from media_store.fetch.media_ids import UPSTREAM, download_media
from tests.support.fake_graph import FakeGraph, slow
from tests.support.http import redirect, respond
from tests.support.media import jpeg_bytes, pdf_bytes

pytestmark = pytest.mark.django_db

SLACK = 1.5  # seconds beyond the deadline a test allows for scheduling on a busy 2-core machine


@pytest.fixture
def fetch_settings(settings):
    settings.DOWNLOAD_ALLOW_PRIVATE_NETWORKS = True
    settings.MAX_RETRIES = 3
    settings.BASE_BACKOFF_SECONDS = 0.2
    return settings


def slow_redirect(location: str, delay: float):
    send = redirect(location)

    def responder(handler) -> None:
        time.sleep(delay)
        send(handler)

    return responder


def test_a_server_that_never_answers_gets_one_attempt_within_the_deadline(server, fetch_settings):
    fetch_settings.DOWNLOAD_TIMEOUT = 1
    url = server.serve("/stall.pdf", pdf_bytes(), delay=30)

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as raised:
        url_ingest.download_blob(url)
    elapsed = time.monotonic() - started

    assert len(server.requests) == 1  # no second attempt: the first one used the whole deadline
    assert raised.value.permanent is False
    assert raised.value.http_status == 502
    assert elapsed < 1 + SLACK


def test_redirect_hops_share_the_deadline(server, fetch_settings):
    fetch_settings.DOWNLOAD_TIMEOUT = 1.5
    for hop in range(5):
        server.route(f"/hop/{hop}", slow_redirect(server.url(f"/hop/{hop + 1}"), delay=0.6))
    server.route("/hop/5", respond(pdf_bytes()))

    started = time.monotonic()
    with pytest.raises(DownloadError):
        url_ingest.download_blob(server.url("/hop/0"))
    elapsed = time.monotonic() - started

    assert len(server.requests) <= 3  # 0.6 s a hop: the deadline ends the chain at the third
    assert elapsed < 1.5 + SLACK


def test_a_retry_wait_past_the_deadline_is_not_waited(server, fetch_settings):
    fetch_settings.DOWNLOAD_TIMEOUT = 3
    url = server.serve("/busy.pdf", b"", status=503, headers={"Retry-After": "10"})

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="no time left to retry after: .* answered 503"):
        url_ingest.download_blob(url)
    elapsed = time.monotonic() - started

    assert len(server.requests) == 1
    assert elapsed < 1 + SLACK


def test_a_deadline_failure_is_not_remembered_as_permanent(server, fetch_settings):
    fetch_settings.DOWNLOAD_TIMEOUT = 1
    url = server.route("/later.pdf", respond(pdf_bytes(), delay=5))
    with pytest.raises(DeadlineExceeded):
        url_ingest.download_blob(url)
    server.route("/later.pdf", respond(pdf_bytes()))

    blob, created = url_ingest.download_blob(url)

    assert (blob.size, created) == (len(pdf_bytes()), True)


@pytest.fixture
def graph(settings) -> Iterator[FakeGraph]:
    with FakeGraph(token="t0ken") as fake:
        settings.DOWNLOAD_ALLOW_PRIVATE_NETWORKS = True
        settings.WHATSAPP_GRAPH_URL = fake.url
        settings.WHATSAPP_TOKEN = "t0ken"
        settings.BASE_BACKOFF_SECONDS = 0.2
        settings.MAX_RETRIES = 3
        yield fake


def test_a_media_id_fetch_against_a_stalling_graph_api_ends_by_the_deadline(graph, settings):
    settings.DOWNLOAD_TIMEOUT = 1
    graph.add_media("111", jpeg_bytes(), "image/jpeg")
    graph.fail_metadata("111", slow(30), times=3)

    started = time.monotonic()
    result = download_media("111")
    elapsed = time.monotonic() - started

    assert result.status == UPSTREAM
    assert graph.count("metadata", "111") == 1
    assert elapsed < 1 + SLACK


def test_a_nested_deadline_can_only_shorten_the_outer_one():
    with within(10) as outer, within(100) as inner:
        assert inner is outer
    with within(10) as outer, within(1) as inner:
        assert inner.ends < outer.ends
