"""``media_store.fetch.media_ids.download_media`` end to end: a local fake Graph API server, the real
store (Redis, moto S3), the real negative cache and counters in Redis.

Every scenario asserts the exact number of Graph API requests (``graph.count``) and the exact
statistics afterwards. Time is injected: the wall clock for the expiry check, a recording
``sleep`` for the backoff, a ``FakeClock`` for the negative cache's TTL — except in the one test
that proves a ``Retry-After`` is really waited.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.core.cache import caches
from django.db import connection

from media_store import runtime
from media_store.exceptions import OriginUnavailable
from media_store.fetch.graph import GraphClient
from media_store.fetch.media_ids import (
    EXPIRED,
    FAILED,
    OK,
    UNAVAILABLE,
    UPSTREAM,
    MediaResult,
    download_media,
    parse_timestamp,
    statistics,
    validate_media_id,
)
from media_store.fetch.negative import NegativeCache
from media_store.ingest import commit
from media_store.models import Blob, WhatsAppMedia
from media_store.ops.lifecycle import apply_expiration, expiry_date
from media_store.tiers.locks import FillLocks
from media_store.tiers.shared import SharedState
from tests.support.fake_graph import (
    FakeGraph,
    corrupt,
    rate_limited,
    server_error,
    token_expired,
    too_many_requests,
)
from tests.support.media import jpeg_bytes, ogg_opus_bytes, random_bytes
from tests.support.servers import free_port

pytestmark = pytest.mark.django_db

TOKEN = "test-token"
NOW = 1_732_240_000.0  # 2024-11-22 01:46:40 UTC: the injected wall clock
HOUR = 3600
MEDIA_ID = "1037543291543636"


@pytest.fixture
def graph(settings) -> Iterator[FakeGraph]:
    with FakeGraph(token=TOKEN) as fake:
        settings.DOWNLOAD_ALLOW_PRIVATE_NETWORKS = True
        settings.WHATSAPP_GRAPH_URL = fake.url
        settings.WHATSAPP_TOKEN = TOKEN
        yield fake


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def fetch(waits):
    """``download_media`` with the injected wall clock (``NOW``) and a recording sleep."""

    def call(media_id, timestamp=None, use_cache=True, **collaborators) -> MediaResult:
        collaborators.setdefault("clock", lambda: NOW)
        collaborators.setdefault("sleep", waits.append)
        return download_media(media_id, timestamp, use_cache, **collaborators)

    return call


@pytest.fixture
def negative(settings, clock) -> NegativeCache:
    """The WhatsApp negative cache, on the real Redis, with a clock the test moves."""
    return NegativeCache(
        "whatsapp",
        ttl=settings.FAILED_MEDIA_TTL,
        key_prefix=settings.MEDIA_REDIS_KEY_PREFIX,
        state=SharedState(caches["default"], runtime.redis_guard(), clock=clock),
        clock=clock,
    )


def stats(total: int, hits: int, api: int, failed: int, expired: int, rate: str) -> dict:
    return {
        "total_requests": total,
        "cache_hits": hits,
        "api_calls": api,
        "failed_calls": failed,
        "expired_media": expired,
        "cache_hit_rate": rate,
    }


def stored_bytes(blob: Blob) -> bytes:
    content = runtime.get_store().fetch(blob.info())
    if content.data is not None:
        return content.data
    with content.file as file:
        return file.read()


def messages(caplog, prefix: str) -> list[str]:
    """The captured log lines that start with ``prefix`` (the grep an operator would run)."""
    return [record.getMessage() for record in caplog.records if record.getMessage().startswith(prefix)]


# -- the first fetch and the ID map --------------------------------------------------------------


def test_a_new_id_is_fetched_stored_and_mapped(graph, fetch):
    data = jpeg_bytes()
    graph.add_media(MEDIA_ID, data, "image/jpeg")

    result = fetch(MEDIA_ID)

    assert (result.status, result.from_cache, result.reason) == (OK, False, "")
    assert result.blob.sha256 == hashlib.sha256(data).hexdigest()
    assert (result.blob.mime_type, result.blob.media_type, result.blob.width) == ("image/jpeg", "image", 64)
    assert stored_bytes(result.blob) == data
    row = WhatsAppMedia.objects.get()
    assert (row.media_id, row.blob_id, row.mime_type) == (MEDIA_ID, result.blob.sha256, "image/jpeg")
    assert (graph.count("metadata"), graph.count("download")) == (1, 1)
    assert statistics() == stats(total=1, hits=0, api=2, failed=0, expired=0, rate="0.0%")


def test_a_known_id_is_answered_from_the_map_without_an_api_call(graph, fetch, caplog):
    graph.add_media(MEDIA_ID, ogg_opus_bytes(), "audio/ogg")
    first = fetch(MEDIA_ID)

    with caplog.at_level(logging.INFO, logger="media_store.fetch.media_ids"):
        second = fetch(MEDIA_ID)

    assert (second.status, second.from_cache, second.blob) == (OK, True, first.blob)
    assert graph.count() == 2
    assert statistics() == stats(total=2, hits=1, api=2, failed=0, expired=0, rate="50.0%")
    assert messages(caplog, "media.hit") == [f"media.hit source=whatsapp id={MEDIA_ID} hash={first.blob.sha256}"]


def test_a_known_id_whose_object_expired_is_fetched_again_and_the_object_restored(graph, fetch):
    graph.add_media(MEDIA_ID, ogg_opus_bytes(), "audio/ogg")
    first = fetch(MEDIA_ID)
    commit.mark_expired(first.blob.sha256)  # S3 lifecycle removed it; serving noticed

    again = fetch(MEDIA_ID)

    assert (again.status, again.from_cache) == (OK, False)  # not a 404 short URL answered "ok"
    assert graph.count("metadata", MEDIA_ID) == 2
    assert Blob.objects.get(pk=first.blob.sha256).expired_at is None
    assert runtime.get_origin().stat(first.blob.origin_key) is not None


def test_the_graph_mime_type_is_the_declared_type_when_the_bytes_are_generic(graph, fetch):
    graph.add_media(MEDIA_ID, random_bytes(500), "audio/amr")

    result = fetch(MEDIA_ID)

    assert (result.blob.mime_type, result.blob.media_type, result.blob.extension) == ("audio/amr", "audio", ".amr")


def test_the_bytes_decide_the_type_and_the_row_keeps_what_the_api_said(graph, fetch):
    graph.add_media(MEDIA_ID, ogg_opus_bytes(), "audio/ogg; codecs=opus")

    result = fetch(MEDIA_ID)

    assert (result.blob.mime_type, result.blob.media_type) == ("audio/ogg", "audio")
    assert WhatsAppMedia.objects.get().mime_type == "audio/ogg; codecs=opus"


def test_the_same_bytes_under_two_ids_are_stored_once(graph, fetch):
    data = jpeg_bytes(color=(1, 2, 3))
    graph.add_media("111", data, "image/jpeg")
    graph.add_media("222", data, "image/jpeg")

    first, second = fetch("111"), fetch("222")

    assert first.blob == second.blob
    assert Blob.objects.count() == 1
    assert sorted(WhatsAppMedia.objects.values_list("media_id", flat=True)) == ["111", "222"]
    assert statistics() == stats(total=2, hits=0, api=4, failed=0, expired=0, rate="0.0%")


def test_the_hit_rate_is_hits_over_all_requests(graph, fetch):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    fetch(MEDIA_ID)
    for _ in range(3):
        fetch(MEDIA_ID)
    for n in range(6):
        fetch(f"90{n}")  # unknown to the Graph API: code 100, one request each

    assert statistics() == stats(total=10, hits=3, api=8, failed=6, expired=0, rate="30.0%")
    assert list(statistics()) == [
        "total_requests",
        "cache_hits",
        "api_calls",
        "failed_calls",
        "expired_media",
        "cache_hit_rate",
    ]


def test_statistics_start_at_zero():
    assert statistics() == stats(total=0, hits=0, api=0, failed=0, expired=0, rate="0.0%")


# -- a known ID is new use: its content's age restarts (S3 lifecycle) ---------------------------


def test_a_known_id_restarts_the_age_of_aging_content_under_the_buckets_rule(graph, fetch, reuse_when_aging):
    apply_expiration(days=30)
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    blob = fetch(MEDIA_ID).blob

    reuse = reuse_when_aging(blob, lambda: fetch(MEDIA_ID))

    again = reuse.answer
    assert (again.status, again.from_cache, again.blob) == (OK, True, blob)
    assert graph.count() == 2  # the refresh is ours: still no API call
    assert reuse.second >= reuse.reused_at > reuse.first
    assert expiry_date(reuse.second, reuse.days) - reuse.reused_at > timedelta(days=29)


@pytest.fixture
def origin_looks(monkeypatch) -> list[str]:
    """The keys the origin is asked to ``stat`` (each one an S3 HEAD)."""
    origin, looks = runtime.get_origin(), []
    real = origin.stat
    monkeypatch.setattr(origin, "stat", lambda key: looks.append(key) or real(key))
    return looks


def test_known_id_hits_look_at_the_origin_once_per_refresh_interval(graph, fetch, s3_client, bucket, origin_looks):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    blob = fetch(MEDIA_ID).blob
    first = s3_client.head_object(Bucket=bucket, Key=blob.origin_key)["LastModified"]
    origin_looks.clear()  # the ingest's own looks

    results = [fetch(MEDIA_ID) for _ in range(5)]

    assert [result.from_cache for result in results] == [True] * 5
    assert origin_looks == [blob.origin_key]  # fresh content: one look, then remembered for a day
    assert s3_client.head_object(Bucket=bucket, Key=blob.origin_key)["LastModified"] == first


def test_a_known_id_is_answered_while_the_origin_cannot_be_asked(graph, fetch, monkeypatch, caplog):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    blob = fetch(MEDIA_ID).blob

    def down(key):
        raise OriginUnavailable(f"s3 head_object {key}: connection refused")

    monkeypatch.setattr(runtime.get_origin(), "stat", down)
    with caplog.at_level(logging.WARNING, logger="media_store.fetch.media_ids"):
        results = [fetch(MEDIA_ID) for _ in range(3)]

    assert [(result.status, result.blob) for result in results] == [(OK, blob)] * 3
    assert len(messages(caplog, f"media.refresh_skipped hash={blob.sha256}")) == 1  # asked again in a minute


# -- expiry --------------------------------------------------------------------------------------


def test_an_id_exactly_at_the_expiry_age_is_still_fetched(graph, fetch):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    result = fetch(MEDIA_ID, timestamp=int(NOW) - 168 * HOUR)

    assert result.status == OK
    assert statistics() == stats(total=1, hits=0, api=2, failed=0, expired=0, rate="0.0%")


def test_an_id_one_second_past_the_expiry_age_is_expired_without_an_api_call(graph, fetch, caplog):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    with caplog.at_level(logging.INFO, logger="media_store.fetch.media_ids"):
        result = fetch(MEDIA_ID, timestamp=int(NOW) - 168 * HOUR - 1)

    assert (result.status, result.blob, result.from_cache) == (EXPIRED, None, False)
    assert result.reason == "expired: sent 168.0 hours ago, over MEDIA_EXPIRATION_HOURS=168"
    assert graph.count() == 0
    assert WhatsAppMedia.objects.count() == 0
    assert statistics() == stats(total=1, hits=0, api=0, failed=0, expired=1, rate="0.0%")
    assert messages(caplog, "media.") == [f"media.expired id={MEDIA_ID} age_hours=168.0 limit_hours=168"]


def test_an_expired_id_is_remembered_as_failed(graph, fetch):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    fetch(MEDIA_ID, timestamp=int(NOW) - 200 * HOUR)

    again_expired = fetch(MEDIA_ID, timestamp=int(NOW) - 200 * HOUR)
    without_timestamp = fetch(MEDIA_ID)

    assert again_expired.status == EXPIRED
    assert (without_timestamp.status, without_timestamp.from_cache) == (FAILED, True)
    assert without_timestamp.reason.startswith("expired: sent 200.0 hours ago")
    assert graph.count() == 0
    assert statistics() == stats(total=3, hits=0, api=0, failed=1, expired=2, rate="0.0%")


def test_the_expiry_age_follows_the_setting(graph, fetch, settings):
    settings.MEDIA_EXPIRATION_HOURS = 24
    graph.add_media("1", jpeg_bytes(), "image/jpeg")
    graph.add_media("2", jpeg_bytes(), "image/jpeg")

    assert fetch("1", timestamp=int(NOW) - 23 * HOUR).status == OK
    assert fetch("2", timestamp=int(NOW) - 25 * HOUR).status == EXPIRED
    assert statistics() == stats(total=2, hits=0, api=2, failed=0, expired=1, rate="0.0%")


def test_an_expiry_age_of_zero_turns_the_check_off(graph, fetch, settings):
    settings.MEDIA_EXPIRATION_HOURS = 0
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    assert fetch(MEDIA_ID, timestamp=int(NOW) - 10 * 365 * 24 * HOUR).status == OK


def test_a_timestamp_in_the_future_is_not_expired(graph, fetch):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    assert fetch(MEDIA_ID, timestamp=int(NOW) + HOUR).status == OK


def test_a_known_id_is_served_even_when_its_timestamp_is_old(graph, fetch):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    fetch(MEDIA_ID)

    result = fetch(MEDIA_ID, timestamp=int(NOW) - 1000 * HOUR)

    assert (result.status, result.from_cache) == (OK, True)
    assert statistics() == stats(total=2, hits=1, api=2, failed=0, expired=0, rate="50.0%")


def test_every_timestamp_form_means_the_same_moment(graph, fetch):
    moment = datetime(2024, 11, 22, 1, 46, 40, tzinfo=UTC)
    expected = 1_732_240_000.0

    assert parse_timestamp(1_732_240_000) == expected
    assert parse_timestamp("1732240000") == expected
    assert parse_timestamp(" 1732240000 ") == expected
    assert parse_timestamp(1_732_240_000.0) == expected
    assert parse_timestamp(moment) == expected
    assert parse_timestamp(moment.replace(tzinfo=None)) == expected  # naive = UTC
    assert parse_timestamp(moment.astimezone(timezone(timedelta(hours=-3)))) == expected
    assert parse_timestamp(None) is None


@pytest.mark.parametrize(
    "value",
    ["abc", "", "1732240000.5", "-5", -1, True, float("nan"), float("inf"), 1_732_240_000_000, "1732240000000", []],
)
def test_a_bad_timestamp_is_refused_before_anything_is_counted_or_called(graph, fetch, value):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    with pytest.raises(ValueError, match="invalid timestamp"):
        fetch(MEDIA_ID, timestamp=value)

    assert graph.count() == 0
    assert statistics() == stats(total=0, hits=0, api=0, failed=0, expired=0, rate="0.0%")


def test_a_millisecond_timestamp_is_refused_with_a_hint():
    with pytest.raises(ValueError, match="looks like milliseconds"):
        parse_timestamp("1732240000000")


@pytest.mark.parametrize("value", ["", "   ", "../me", "1 2", "a/b", "x" * 129, "id?x=1", None, True, 1.5])
def test_a_bad_media_id_is_refused(graph, fetch, value):
    with pytest.raises(ValueError, match="invalid WhatsApp media id"):
        fetch(value)

    assert graph.count() == 0


def test_media_ids_are_trimmed_and_may_be_ints():
    assert validate_media_id(" 1037543291543636 ") == "1037543291543636"
    assert validate_media_id(1037543291543636) == "1037543291543636"


# -- permanent failures and the negative cache ---------------------------------------------------


def test_an_unknown_id_fails_permanently_and_is_not_asked_for_again(graph, fetch, caplog):
    first = fetch("404404")

    with caplog.at_level(logging.INFO, logger="media_store.fetch.media_ids"):
        second = fetch("404404")

    assert (first.status, first.from_cache) == (FAILED, False)
    assert first.reason.startswith("Graph API code 100/33 (HTTP 400) for media 404404: Unsupported get request.")
    assert (second.status, second.from_cache, second.reason) == (FAILED, True, first.reason)
    assert graph.count("metadata", "404404") == 1
    assert statistics() == stats(total=2, hits=0, api=1, failed=2, expired=0, rate="0.0%")
    assert messages(caplog, "media.failed_cached") == [f"media.failed_cached id=404404 reason={first.reason}"]


def test_the_negative_cache_forgets_after_failed_media_ttl(graph, fetch, negative, clock, settings):
    assert settings.FAILED_MEDIA_TTL == 3600
    fetch(MEDIA_ID, negative=negative)  # unknown: code 100
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")  # ...and now it exists

    clock.advance(3599)
    still_failed = fetch(MEDIA_ID, negative=negative)
    clock.advance(2)
    fetched = fetch(MEDIA_ID, negative=negative)

    assert (still_failed.status, fetched.status) == (FAILED, OK)
    assert (graph.count("metadata"), graph.count("download")) == (2, 1)
    assert statistics() == stats(total=3, hits=0, api=3, failed=2, expired=0, rate="0.0%")


def test_an_expired_token_fails_permanently_and_is_logged_at_error(graph, fetch, caplog):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    graph.fail_metadata(MEDIA_ID, token_expired())

    with caplog.at_level(logging.WARNING):
        result = fetch(MEDIA_ID)

    assert result.status == FAILED
    assert result.reason.startswith("Graph API code 190/463 (HTTP 401)")
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert [message.split(":")[0] for message in errors] == ["media.whatsapp_token_invalid code=190"]
    assert graph.count() == 1
    assert statistics() == stats(total=1, hits=0, api=1, failed=1, expired=0, rate="0.0%")
    assert fetch(MEDIA_ID).status == FAILED  # remembered: no second call
    assert graph.count() == 1


def test_a_download_url_that_stays_expired_fails_permanently(graph, fetch):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    graph.expire_urls(MEDIA_ID, status=404, count=None)

    result = fetch(MEDIA_ID)

    assert result.status == FAILED
    assert (graph.count("metadata"), graph.count("download")) == (2, 2)
    assert statistics() == stats(total=1, hits=0, api=4, failed=1, expired=0, rate="0.0%")
    assert fetch(MEDIA_ID).from_cache is True
    assert graph.count() == 4


def test_media_announced_over_the_byte_cap_fails_permanently_after_one_call(graph, fetch, settings, temp_files):
    settings.DOWNLOAD_MAX_BYTES = 1000
    graph.add_media(MEDIA_ID, random_bytes(2000), "video/mp4")

    result = fetch(MEDIA_ID)

    assert (result.status, result.reason) == (FAILED, f"media {MEDIA_ID} is 2000 bytes, over DOWNLOAD_MAX_BYTES=1000")
    assert (graph.count("metadata"), graph.count("download")) == (1, 0)
    assert statistics() == stats(total=1, hits=0, api=1, failed=1, expired=0, rate="0.0%")
    assert temp_files() == []


def test_media_that_is_bigger_than_announced_is_cut_off_at_the_cap(graph, fetch, settings, temp_files):
    settings.DOWNLOAD_MAX_BYTES = 1000
    graph.add_media(MEDIA_ID, random_bytes(5000), "video/mp4", file_size="900")

    result = fetch(MEDIA_ID)

    assert result.status == FAILED
    assert (graph.count("metadata"), graph.count("download")) == (1, 1)
    assert Blob.objects.count() == 0
    assert temp_files() == []


def test_empty_media_is_refused_permanently(graph, fetch):
    graph.add_media(MEDIA_ID, b"", "image/jpeg")

    result = fetch(MEDIA_ID)

    assert (result.status, result.reason) == (FAILED, "the content is empty")
    assert (Blob.objects.count(), WhatsAppMedia.objects.count()) == (0, 0)
    assert statistics() == stats(total=1, hits=0, api=2, failed=1, expired=0, rate="0.0%")


# -- transient failures and retries --------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [server_error(500), server_error(503), rate_limited(4), rate_limited(80007), rate_limited(130429)],
    ids=["500", "503", "code-4", "code-80007", "code-130429"],
)
def test_transient_failures_are_retried_with_jittered_backoff(graph, fetch, waits, failure, caplog):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    graph.fail_metadata(MEDIA_ID, failure, times=2)

    with caplog.at_level(logging.WARNING, logger="media_store.fetch"):
        result = fetch(MEDIA_ID)

    assert result.status == OK
    assert (graph.count("metadata"), graph.count("download")) == (3, 1)
    assert len(waits) == 2
    assert 0.0 <= waits[0] <= 2.0
    assert 0.0 <= waits[1] <= 4.0
    assert [message.split(" wait=")[0] for message in messages(caplog, "media.retry")] == [
        "media.retry attempt=1",
        "media.retry attempt=2",
    ]
    assert statistics() == stats(total=1, hits=0, api=4, failed=0, expired=0, rate="0.0%")


def test_a_429_retry_after_is_waited_and_logged(graph, fetch, waits, caplog):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    graph.fail_metadata(MEDIA_ID, too_many_requests("7"))

    with caplog.at_level(logging.WARNING, logger="media_store.fetch"):
        result = fetch(MEDIA_ID)

    assert result.status == OK
    assert waits == [7.0]
    assert messages(caplog, "media.retry")[0].startswith(
        f"media.retry attempt=1 wait=7.0s whatsapp_id={MEDIA_ID}: Graph API code 4"
    )
    assert statistics() == stats(total=1, hits=0, api=3, failed=0, expired=0, rate="0.0%")


def test_retry_after_is_really_waited(graph, settings):
    """The one test that sleeps: the production sleep, a 1 s Retry-After, a tiny backoff base."""
    settings.BASE_BACKOFF_SECONDS = 0.01
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    graph.fail_metadata(MEDIA_ID, too_many_requests("1"))
    started = time.monotonic()

    result = download_media(MEDIA_ID)

    assert result.status == OK
    assert time.monotonic() - started >= 1.0
    assert (graph.count("metadata"), graph.count("download")) == (2, 1)


def test_transient_failures_to_the_end_are_upstream_and_not_remembered(graph, fetch, waits):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    graph.fail_metadata(MEDIA_ID, server_error(), times=3)

    result = fetch(MEDIA_ID)

    assert (result.status, result.blob, result.from_cache) == (UPSTREAM, None, False)
    assert result.reason.startswith("Graph API code 2 (HTTP 500)")
    assert graph.count("metadata") == 3
    assert len(waits) == 2
    assert statistics() == stats(total=1, hits=0, api=3, failed=1, expired=0, rate="0.0%")

    assert fetch(MEDIA_ID).status == OK  # not in the negative cache: asked again, and it works now
    assert (graph.count("metadata"), graph.count("download")) == (4, 1)


def test_max_retries_is_the_number_of_attempts(graph, fetch, waits, settings):
    settings.MAX_RETRIES = 5
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    graph.fail_metadata(MEDIA_ID, server_error(), times=5)

    assert fetch(MEDIA_ID).status == UPSTREAM
    assert graph.count("metadata") == 5
    assert len(waits) == 4
    assert all(0.0 <= wait <= cap for wait, cap in zip(waits, [2.0, 4.0, 8.0, 16.0], strict=True))


def test_one_attempt_means_no_retry(graph, fetch, waits, settings):
    settings.MAX_RETRIES = 1
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    graph.fail_metadata(MEDIA_ID, server_error())

    assert fetch(MEDIA_ID).status == UPSTREAM
    assert (graph.count("metadata"), waits) == (1, [])


def test_the_backoff_base_follows_the_setting(graph, fetch, waits, settings):
    settings.BASE_BACKOFF_SECONDS = 0.5
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    graph.fail_metadata(MEDIA_ID, server_error(), times=2)

    assert fetch(MEDIA_ID).status == OK
    assert 0.0 <= waits[0] <= 0.5
    assert 0.0 <= waits[1] <= 1.0


def test_a_wrong_sha256_is_retried_and_ends_upstream(graph, fetch, temp_files):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg", sha256="f" * 64)

    result = fetch(MEDIA_ID)

    assert (result.status, result.reason) == (
        UPSTREAM,
        f"media {MEDIA_ID}: content does not match the announced sha256",
    )
    assert (graph.count("metadata"), graph.count("download")) == (1, 3)
    assert statistics() == stats(total=1, hits=0, api=4, failed=1, expired=0, rate="0.0%")
    assert (Blob.objects.count(), temp_files()) == (0, [])


def test_a_wrong_file_size_is_retried_and_ends_upstream(graph, fetch):
    data = jpeg_bytes()
    graph.add_media(MEDIA_ID, data, "image/jpeg", file_size=str(len(data) + 1))

    result = fetch(MEDIA_ID)

    assert result.status == UPSTREAM
    assert result.reason == f"media {MEDIA_ID}: received {len(data)} bytes, the Graph API announced {len(data) + 1}"
    assert (graph.count("metadata"), graph.count("download")) == (1, 3)


def test_one_corrupt_transfer_is_retried_and_then_stored(graph, fetch):
    data = jpeg_bytes()
    graph.add_media(MEDIA_ID, data, "image/jpeg")
    graph.fail_download(MEDIA_ID, corrupt(data[:100]))

    result = fetch(MEDIA_ID)

    assert result.status == OK
    assert stored_bytes(result.blob) == data
    assert (graph.count("metadata"), graph.count("download")) == (1, 2)
    assert statistics() == stats(total=1, hits=0, api=3, failed=0, expired=0, rate="0.0%")


@pytest.mark.parametrize("status", [401, 404])
def test_an_expired_download_url_is_refreshed_once(graph, fetch, status):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    graph.expire_urls(MEDIA_ID, status=status, count=1)

    result = fetch(MEDIA_ID)

    assert result.status == OK
    assert (graph.count("metadata"), graph.count("download")) == (2, 2)
    assert statistics() == stats(total=1, hits=0, api=4, failed=0, expired=0, rate="0.0%")


def test_an_unreachable_graph_api_is_upstream_after_every_attempt(graph, fetch, settings, waits):
    settings.WHATSAPP_GRAPH_URL = f"http://127.0.0.1:{free_port()}/v21.0"

    result = fetch(MEDIA_ID)

    assert result.status == UPSTREAM
    assert result.reason == f"Graph API unreachable for media {MEDIA_ID}: ConnectionError"
    assert len(waits) == 2
    assert statistics() == stats(total=1, hits=0, api=3, failed=1, expired=0, rate="0.0%")


def test_without_a_token_nothing_is_called_or_remembered(graph, fetch, settings, caplog):
    settings.WHATSAPP_TOKEN = ""
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    with caplog.at_level(logging.ERROR, logger="media_store.fetch.media_ids"):
        result = fetch(MEDIA_ID)

    assert (result.status, result.reason) == (UPSTREAM, "WHATSAPP_TOKEN is not set")
    assert graph.count() == 0
    assert messages(caplog, "media.whatsapp_not") == [
        f"media.whatsapp_not_configured id={MEDIA_ID}: WHATSAPP_TOKEN is not set"
    ]
    assert statistics() == stats(total=1, hits=0, api=0, failed=1, expired=0, rate="0.0%")

    settings.WHATSAPP_TOKEN = TOKEN
    assert fetch(MEDIA_ID).status == OK


def test_an_unreachable_origin_is_unavailable_and_leaves_nothing_behind(graph, fetch, settings, temp_files):
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    settings.MEDIA_ORIGIN_TIMEOUT = 1.0
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    result = fetch(MEDIA_ID)

    assert result.status == UNAVAILABLE  # the Graph API answered: the outage is ours
    assert (Blob.objects.count(), WhatsAppMedia.objects.count(), temp_files()) == (0, 0, [])
    assert statistics() == stats(total=1, hits=0, api=2, failed=1, expired=0, rate="0.0%")


def test_an_injected_client_is_used(graph, fetch):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    client = GraphClient(
        base_url=graph.url, token=TOKEN, timeout=5, allow_private=True, max_bytes=10**6, user_agent="acme/1"
    )

    assert fetch(MEDIA_ID, client=client).status == OK
    assert [call.headers["user-agent"] for call in graph.calls()] == ["acme/1", "acme/1"]


# -- use_cache=False -----------------------------------------------------------------------------


def test_no_cache_refetches_a_known_id_and_keeps_the_mapping(graph, fetch):
    data = jpeg_bytes()
    graph.add_media(MEDIA_ID, data, "image/jpeg")
    first = fetch(MEDIA_ID)

    again = fetch(MEDIA_ID, use_cache=False)

    assert (again.status, again.from_cache, again.blob) == (OK, False, first.blob)
    assert (graph.count("metadata"), graph.count("download")) == (2, 2)
    assert WhatsAppMedia.objects.count() == 1
    assert statistics() == stats(total=2, hits=0, api=4, failed=0, expired=0, rate="0.0%")


def test_no_cache_asks_again_for_a_remembered_failure(graph, fetch):
    fetch(MEDIA_ID)  # unknown: remembered as failed
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    result = fetch(MEDIA_ID, use_cache=False)

    assert result.status == OK
    assert graph.count("metadata") == 2
    assert (fetch(MEDIA_ID).status, fetch(MEDIA_ID).from_cache) == (OK, True)  # the result was stored
    assert statistics() == stats(total=4, hits=2, api=3, failed=1, expired=0, rate="50.0%")


def test_no_cache_still_checks_expiry_and_records_failures(graph, fetch):
    expired = fetch(MEDIA_ID, timestamp=int(NOW) - 500 * HOUR, use_cache=False)
    failed = fetch("777", use_cache=False)

    assert (expired.status, failed.status) == (EXPIRED, FAILED)
    assert fetch("777").from_cache is True  # the permanent failure was remembered
    assert graph.count() == 1


# -- one set of API calls per ID -----------------------------------------------------------------


class ObservedLocks(FillLocks):
    """FillLocks that report each caller's arrival (the test releases the API after both)."""

    def __init__(self, arrivals: list[str], both: threading.Event, **kwargs) -> None:
        super().__init__(**kwargs)
        self.arrivals = arrivals
        self.both = both

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        self.arrivals.append(key)
        if len(self.arrivals) == 2:
            self.both.set()
        with super().hold(key):
            yield


@pytest.mark.parametrize("scope", ["threads", "processes"])
@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_for_one_id_make_one_set_of_api_calls(graph, settings, scope):
    """Two callers: in one process (same locks) or two (separate locks, the Redis lock decides).

    The Graph API holds its first answer until both callers have reached the lock, so the
    second caller's ID-map lookup really happens before the first caller has stored anything.
    """
    data = jpeg_bytes(color=(9, 9, 9))
    graph.add_media(MEDIA_ID, data, "image/jpeg")
    gate = graph.hold_metadata()
    arrivals: list[str] = []
    both = threading.Event()

    def new_locks() -> ObservedLocks:
        return ObservedLocks(
            arrivals,
            both,
            wait_seconds=10,
            redis_factory=runtime.redis_client,
            key_prefix=settings.MEDIA_REDIS_KEY_PREFIX,
            guard=runtime.redis_guard(),
        )

    shared = new_locks()
    results: list[MediaResult] = []
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            locks = shared if scope == "threads" else new_locks()
            results.append(download_media(MEDIA_ID, locks=locks, sleep=lambda seconds: None))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=caller) for _ in range(2)]
    for thread in threads:
        thread.start()
    assert both.wait(10)
    gate.set()
    for thread in threads:
        thread.join(20)

    assert errors == []
    assert sorted(result.from_cache for result in results) == [False, True]
    assert [result.status for result in results] == [OK, OK]
    assert results[0].blob == results[1].blob
    assert arrivals == [f"wa:{MEDIA_ID}", f"wa:{MEDIA_ID}"]
    assert (graph.count("metadata"), graph.count("download")) == (1, 1)
    assert statistics() == stats(total=2, hits=1, api=2, failed=0, expired=0, rate="50.0%")
