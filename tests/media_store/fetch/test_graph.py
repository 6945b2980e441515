"""The Graph API client against a local fake Graph API server speaking the real JSON and errors.

No database and no sleeping: the retry policy gets a recording ``sleep`` and a ``uniform``
that always draws the top of the jitter range, so every wait is an exact number.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from media_store.exceptions import BlockedURL, DownloadError, PayloadTooLarge
from media_store.fetch.graph import GraphClient
from media_store.fetch.graph_answers import GraphError, MediaMetadata
from media_store.fetch.retry import RetryPolicy
from media_store.ingest.staging import StagedFile
from tests.support.fake_graph import (
    FakeGraph,
    Reply,
    corrupt,
    graph_error,
    json_reply,
    proxy_error,
    rate_limited,
    server_error,
    slow,
    token_expired,
    too_many_requests,
    unknown_id,
)
from tests.support.media import ogg_opus_bytes, random_bytes
from tests.support.servers import free_port

TOKEN = "test-token"
MEDIA_ID = "1037543291543636"


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with FakeGraph(token=TOKEN) as fake:
        yield fake


def make_client(url: str, *, token: str = TOKEN, timeout: float = 5.0, max_bytes: int = 10_000_000) -> GraphClient:
    return GraphClient(base_url=url, token=token, timeout=timeout, allow_private=True, max_bytes=max_bytes)


@pytest.fixture
def client(graph) -> GraphClient:
    return make_client(graph.url)


@pytest.fixture
def stage_dir(tmp_path) -> Path:
    return tmp_path / "stage"


@pytest.fixture
def new_staged(stage_dir):
    return lambda: StagedFile(stage_dir, 10_000_000)


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def policy(waits) -> RetryPolicy:
    return RetryPolicy(max_attempts=3, base=2.0, sleep=waits.append, uniform=lambda low, high: high)


def fetch(client: GraphClient, policy: RetryPolicy, new_staged, requests: list[str] | None = None):
    record = requests.append if requests is not None else (lambda kind: None)
    return client.fetch(MEDIA_ID, policy=policy, new_staged=new_staged, on_request=record)


def read(staged: StagedFile) -> bytes:
    with staged:
        return staged.path.read_bytes()


# -- metadata ------------------------------------------------------------------------------------


def test_metadata_returns_the_graph_fields_with_the_string_size_as_an_int(graph, client):
    data = ogg_opus_bytes()
    graph.add_media(MEDIA_ID, data, "audio/ogg; codecs=opus")

    meta = client.metadata(MEDIA_ID)

    assert meta == MediaMetadata(
        media_id=MEDIA_ID,
        url=meta.url,
        mime_type="audio/ogg; codecs=opus",
        sha256=hashlib.sha256(data).hexdigest(),
        file_size=len(data),
    )
    assert meta.url.startswith(f"{graph.origin}/whatsapp_business/attachments/?mid={MEDIA_ID}&ext=1&")
    assert graph.count("metadata", MEDIA_ID) == 1


def test_metadata_and_download_send_the_bearer_token_and_a_user_agent(graph, client, policy, new_staged):
    graph.add_media(MEDIA_ID, random_bytes(100), "image/jpeg")

    fetch(client, policy, new_staged)[1].discard()

    calls = graph.calls()
    assert [call.kind for call in calls] == ["metadata", "download"]
    assert [call.headers["authorization"] for call in calls] == [f"Bearer {TOKEN}", f"Bearer {TOKEN}"]
    assert [call.headers["user-agent"].startswith("mediacache/") for call in calls] == [True, True]


def test_a_custom_user_agent_is_sent(graph, new_staged, policy):
    graph.add_media(MEDIA_ID, random_bytes(100), "image/jpeg")
    client = GraphClient(
        base_url=graph.url, token=TOKEN, timeout=5, allow_private=True, max_bytes=1000, user_agent="acme-bot/2.0"
    )

    fetch(client, policy, new_staged)[1].discard()

    assert [call.headers["user-agent"] for call in graph.calls()] == ["acme-bot/2.0", "acme-bot/2.0"]


@pytest.mark.parametrize(
    ("reply", "permanent", "status", "graph_code", "subcode", "retry_after"),
    [
        (unknown_id(MEDIA_ID), True, 400, 100, 33, None),
        (token_expired(), True, 401, 190, 463, None),
        (graph_error(10, status=403, message="(#10) Permission denied"), True, 403, 10, None, None),
        (json_reply(404, {}), True, 404, None, None, None),
        (rate_limited(4), False, 400, 4, None, None),
        (rate_limited(80007), False, 400, 80007, None, None),
        (rate_limited(130429, retry_after="30"), False, 400, 130429, None, 30.0),
        (too_many_requests("7"), False, 429, 4, None, 7.0),
        (graph_error(1, status=408, message="timeout"), False, 408, 1, None, None),
        (server_error(500), False, 500, 2, None, None),
        (server_error(503), False, 503, 2, None, None),
        (proxy_error(502), False, 502, None, None, None),
    ],
    ids=[
        "100-unknown-id",
        "190-token-expired",
        "other-4xx",
        "4xx-without-json",
        "4-rate-limit-on-http-400",
        "80007",
        "130429-retry-after",
        "429-retry-after",
        "408",
        "500",
        "503",
        "502-html",
    ],
)
def test_graph_errors_are_classified_by_code_then_status(
    graph, client, reply, permanent, status, graph_code, subcode, retry_after
):
    graph.add_media(MEDIA_ID, b"x", "image/jpeg")
    graph.fail_metadata(MEDIA_ID, reply)

    with pytest.raises(GraphError) as caught:
        client.metadata(MEDIA_ID)

    error = caught.value
    assert (error.permanent, error.status, error.graph_code, error.subcode, error.retry_after) == (
        permanent,
        status,
        graph_code,
        subcode,
        retry_after,
    )


def test_the_error_message_names_the_code_subcode_and_graph_message(graph, client):
    with pytest.raises(GraphError) as caught:
        client.metadata("999")  # unknown to the fake: code 100, subcode 33

    assert str(caught.value).startswith(
        "Graph API code 100/33 (HTTP 400) for media 999: Unsupported get request. Object with ID '999' does not exist"
    )


def test_an_invalid_token_is_permanent_and_logged_at_error(graph, caplog):
    client = make_client(graph.url, token="wrong-token")

    with caplog.at_level(logging.ERROR, logger="media_store.fetch.graph"), pytest.raises(GraphError) as caught:
        client.metadata(MEDIA_ID)

    assert (caught.value.permanent, caught.value.graph_code, caught.value.status) == (True, 190, 401)
    assert [record.getMessage().split(":")[0] for record in caplog.records] == ["media.whatsapp_token_invalid code=190"]
    assert "wrong-token" not in caplog.text


def test_a_slow_graph_api_is_a_transient_timeout(graph):
    graph.add_media(MEDIA_ID, b"x", "image/jpeg")
    graph.fail_metadata(MEDIA_ID, slow(1.0))
    client = make_client(graph.url, timeout=0.2)

    with pytest.raises(DownloadError, match="unreachable") as caught:
        client.metadata(MEDIA_ID)

    assert caught.value.permanent is False


def test_a_refused_connection_is_transient(closed_graph_url):
    with pytest.raises(DownloadError, match="unreachable") as caught:
        make_client(closed_graph_url).metadata(MEDIA_ID)

    assert caught.value.permanent is False


@pytest.fixture
def closed_graph_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v21.0"


def test_a_private_graph_url_is_refused_without_the_opt_in(graph):
    client = GraphClient(base_url=graph.url, token=TOKEN, timeout=5, allow_private=False, max_bytes=1000)

    with pytest.raises(BlockedURL, match="private or reserved"):
        client.metadata(MEDIA_ID)

    assert graph.count() == 0


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"<html>login</html>", (("Content-Type", "text/html"),)),
        json_reply(200, {"id": MEDIA_ID, "mime_type": "image/jpeg"}),
        json_reply(200, {"url": ""}),
        json_reply(200, ["not", "an", "object"]),
    ],
    ids=["html", "no-url", "empty-url", "not-an-object"],
)
def test_unreadable_metadata_is_a_transient_upstream_fault(graph, client, reply):
    graph.add_media(MEDIA_ID, b"x", "image/jpeg")
    graph.fail_metadata(MEDIA_ID, reply)

    with pytest.raises(DownloadError) as caught:
        client.metadata(MEDIA_ID)

    assert caught.value.permanent is False
    assert f"for media {MEDIA_ID}" in str(caught.value)


def test_metadata_announcing_more_than_the_cap_is_refused_before_downloading(graph, policy, new_staged, waits):
    graph.add_media(MEDIA_ID, random_bytes(2000), "video/mp4")
    client = make_client(graph.url, max_bytes=1000)

    with pytest.raises(PayloadTooLarge, match="2000 bytes, over DOWNLOAD_MAX_BYTES=1000"):
        fetch(client, policy, new_staged)

    assert (graph.count("metadata"), graph.count("download"), waits) == (1, 0, [])


def test_a_body_over_the_cap_is_cut_off_while_streaming_even_if_the_size_lies(graph, stage_dir, policy, waits):
    graph.add_media(MEDIA_ID, random_bytes(5000), "video/mp4", file_size="100")
    client = make_client(graph.url)

    with pytest.raises(PayloadTooLarge, match="over the limit of 1000"):
        fetch(client, policy, lambda: StagedFile(stage_dir, 1000))

    assert (graph.count("download"), waits) == (1, [])
    assert list(stage_dir.iterdir()) == []


# -- verification ----------------------------------------------------------------------------------


def test_a_base64_announced_digest_is_verified(graph, client, policy, new_staged):
    data = random_bytes(300)
    graph.add_media(MEDIA_ID, data, "image/jpeg", sha256=base64.b64encode(hashlib.sha256(data).digest()).decode())

    meta, staged = fetch(client, policy, new_staged)

    assert read(staged) == data


def test_a_wrong_sha256_is_retried_and_then_reported_as_transient(graph, client, policy, new_staged, waits, stage_dir):
    graph.add_media(MEDIA_ID, random_bytes(300), "image/jpeg", sha256="0" * 64)
    requests: list[str] = []

    with pytest.raises(DownloadError, match="does not match the announced sha256") as caught:
        fetch(client, policy, new_staged, requests)

    assert caught.value.permanent is False
    assert requests == ["metadata", "download", "download", "download"]
    assert waits == [2.0, 4.0]
    assert list(stage_dir.iterdir()) == []


def test_a_wrong_file_size_is_retried_and_then_reported_as_transient(graph, client, policy, new_staged):
    graph.add_media(MEDIA_ID, random_bytes(300), "image/jpeg", file_size="299")
    requests: list[str] = []

    with pytest.raises(DownloadError, match="received 300 bytes, the Graph API announced 299"):
        fetch(client, policy, new_staged, requests)

    assert requests == ["metadata", "download", "download", "download"]


def test_a_corrupt_transfer_is_retried_with_the_same_url(graph, client, policy, new_staged, waits):
    data = random_bytes(300)
    graph.add_media(MEDIA_ID, data, "image/jpeg")
    graph.fail_download(MEDIA_ID, corrupt(data[:150]))
    requests: list[str] = []

    meta, staged = fetch(client, policy, new_staged, requests)

    assert read(staged) == data
    assert requests == ["metadata", "download", "download"]
    assert waits == [2.0]


# -- the attempt loop ------------------------------------------------------------------------------


def test_a_clean_fetch_is_one_metadata_call_and_one_download(graph, client, policy, new_staged, waits):
    data = ogg_opus_bytes()
    graph.add_media(MEDIA_ID, data, "audio/ogg")
    requests: list[str] = []

    meta, staged = fetch(client, policy, new_staged, requests)

    assert read(staged) == data
    assert (meta.mime_type, meta.file_size) == ("audio/ogg", len(data))
    assert requests == ["metadata", "download"]
    assert waits == []


def test_transient_metadata_failures_are_retried_with_exponential_backoff(graph, client, policy, new_staged, waits):
    graph.add_media(MEDIA_ID, b"payload", "image/jpeg")
    graph.fail_metadata(MEDIA_ID, server_error(), times=2)
    requests: list[str] = []

    meta, staged = fetch(client, policy, new_staged, requests)

    assert read(staged) == b"payload"
    assert requests == ["metadata", "metadata", "metadata", "download"]
    assert waits == [2.0, 4.0]


def test_retry_after_is_a_floor_on_the_wait(graph, client, new_staged, waits):
    graph.add_media(MEDIA_ID, b"payload", "image/jpeg")
    graph.fail_metadata(MEDIA_ID, too_many_requests("9"))
    policy = RetryPolicy(max_attempts=3, base=2.0, sleep=waits.append, uniform=lambda low, high: low)

    fetch(client, policy, new_staged)[1].discard()

    assert waits == [9.0]


def test_transient_failures_stop_after_max_attempts(graph, client, policy, new_staged, waits):
    graph.add_media(MEDIA_ID, b"payload", "image/jpeg")
    graph.fail_metadata(MEDIA_ID, rate_limited(130429), times=5)
    requests: list[str] = []

    with pytest.raises(GraphError) as caught:
        fetch(client, policy, new_staged, requests)

    assert (caught.value.graph_code, caught.value.permanent) == (130429, False)
    assert requests == ["metadata"] * 3
    assert waits == [2.0, 4.0]


def test_a_permanent_failure_is_never_retried(graph, client, policy, new_staged, waits):
    requests: list[str] = []

    with pytest.raises(GraphError) as caught:
        fetch(client, policy, new_staged, requests)

    assert (caught.value.graph_code, caught.value.permanent) == (100, True)
    assert requests == ["metadata"]
    assert waits == []


def test_a_transient_download_failure_reuses_the_metadata(graph, client, policy, new_staged, waits):
    graph.add_media(MEDIA_ID, b"payload", "image/jpeg")
    graph.fail_download(MEDIA_ID, server_error(503))
    requests: list[str] = []

    meta, staged = fetch(client, policy, new_staged, requests)

    assert read(staged) == b"payload"
    assert requests == ["metadata", "download", "download"]
    assert waits == [2.0]


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_an_expired_download_url_is_refreshed_once(graph, client, policy, new_staged, waits, status):
    graph.add_media(MEDIA_ID, b"payload", "image/jpeg")
    graph.expire_urls(MEDIA_ID, status=status, count=1)
    requests: list[str] = []

    meta, staged = fetch(client, policy, new_staged, requests)

    assert read(staged) == b"payload"
    assert "&ext=2&" in meta.url
    assert requests == ["metadata", "download", "metadata", "download"]
    assert waits == []


def test_a_url_that_is_still_expired_after_the_refresh_is_permanent(graph, client, policy, new_staged, waits):
    graph.add_media(MEDIA_ID, b"payload", "image/jpeg")
    graph.expire_urls(MEDIA_ID, status=404, count=None)
    requests: list[str] = []

    with pytest.raises(DownloadError, match="answered 404") as caught:
        fetch(client, policy, new_staged, requests)

    assert (caught.value.permanent, caught.value.status) == (True, 404)
    assert requests == ["metadata", "download", "metadata", "download"]
    assert waits == []


def test_a_refresh_that_fails_transiently_asks_again_on_the_next_attempt(graph, client, policy, new_staged, waits):
    graph.add_media(MEDIA_ID, b"payload", "image/jpeg")
    graph.expire_urls(MEDIA_ID, count=1)
    graph.script_metadata(MEDIA_ID, None, server_error())  # first lookup fine, the refresh fails
    requests: list[str] = []

    meta, staged = fetch(client, policy, new_staged, requests)

    assert read(staged) == b"payload"
    assert requests == ["metadata", "download", "metadata", "metadata", "download"]
    assert waits == [2.0]


def test_a_transient_download_failure_after_a_refresh_keeps_the_fresh_url(graph, client, policy, new_staged, waits):
    graph.add_media(MEDIA_ID, b"payload", "image/jpeg")
    graph.expire_urls(MEDIA_ID, count=1)
    graph.script_download(MEDIA_ID, server_error())  # the refreshed URL's first download breaks
    requests: list[str] = []

    meta, staged = fetch(client, policy, new_staged, requests)

    assert read(staged) == b"payload"
    assert requests == ["metadata", "download", "metadata", "download", "download"]
    assert waits == [2.0]


def test_failed_attempts_leave_no_staged_files(graph, client, policy, new_staged, stage_dir):
    graph.add_media(MEDIA_ID, b"payload", "image/jpeg")
    graph.fail_download(MEDIA_ID, corrupt(b"pay"), times=3)

    with pytest.raises(DownloadError):
        fetch(client, policy, new_staged)

    assert list(stage_dir.iterdir()) == []


# -- the fake itself: it must refuse what the real API refuses, or the tests above prove nothing --


def test_the_fake_media_host_wants_the_token_and_a_user_agent(graph, client):
    graph.add_media(MEDIA_ID, b"payload", "image/jpeg")
    url = client.metadata(MEDIA_ID).url
    bearer = f"Bearer {TOKEN}"

    assert requests.get(url, headers={"Authorization": bearer, "User-Agent": "ua/1"}, timeout=5).content == b"payload"
    assert requests.get(url, headers={"User-Agent": "ua/1"}, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": bearer, "User-Agent": ""}, timeout=5).status_code == 401


def test_the_fake_answers_404_for_unknown_media_urls_and_paths(graph):
    headers = {"Authorization": f"Bearer {TOKEN}"}

    unknown = f"{graph.origin}/whatsapp_business/attachments/?mid=1&ext=1"
    assert requests.get(unknown, headers=headers, timeout=5).status_code == 404
    assert requests.get(f"{graph.origin}/elsewhere", headers=headers, timeout=5).json()["error"]["code"] == 803
