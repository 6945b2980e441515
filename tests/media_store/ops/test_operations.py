"""Operator surface: S3 lifecycle, /media/stats + media_stats, /metrics."""

from __future__ import annotations

import json
from io import StringIO

import boto3
import pytest
from django.core.management import CommandError, call_command

from chat.services import attach_file
from media_store import runtime
from media_store.ops.lifecycle import apply_expiration, rule_id
from tests.support.media import png_bytes, random_bytes
from tests.support.servers import TEST_BUCKET

pytestmark = pytest.mark.django_db

CONTRACT_STATISTICS = {"total_requests", "cache_hits", "api_calls", "failed_calls", "expired_media", "cache_hit_rate"}


@pytest.fixture
def s3(s3_server):
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.delete_bucket_lifecycle(Bucket=TEST_BUCKET)
    yield client
    client.delete_bucket_lifecycle(Bucket=TEST_BUCKET)


@pytest.fixture
def ingest(tmp_path):
    def make(payload: bytes, name: str = "f.bin"):
        path = tmp_path / name
        path.write_bytes(payload)
        return attach_file(path)

    return make


def test_lifecycle_rule_is_merged_with_other_rules_and_replaced_not_duplicated(s3, settings):
    other = {"ID": "someone-elses", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 3}}
    s3.put_bucket_lifecycle_configuration(Bucket=TEST_BUCKET, LifecycleConfiguration={"Rules": [other]})

    apply_expiration(days=30)
    rules = apply_expiration(days=45)

    by_id = {rule["ID"]: rule for rule in rules}
    assert set(by_id) == {"someone-elses", rule_id(settings.MEDIA_S3_PREFIX)}
    assert by_id["someone-elses"]["Expiration"] == {"Days": 3}
    ours = by_id[rule_id(settings.MEDIA_S3_PREFIX)]
    assert ours["Expiration"] == {"Days": 45}
    assert ours["Filter"] == {"Prefix": settings.MEDIA_S3_PREFIX}


def test_lifecycle_command_prints_the_rules_and_rejects_bad_input(s3, settings):
    out = StringIO()

    call_command("apply_s3_lifecycle", "--days", "7", "--prefix", "voice/", stdout=out)

    rules = json.loads(out.getvalue())
    assert [(rule["ID"], rule["Expiration"]["Days"]) for rule in rules] == [("mediacache-expire-voice", 7)]
    with pytest.raises(CommandError, match="at least 1"):
        call_command("apply_s3_lifecycle", "--days", "0")


def test_lifecycle_is_refused_on_the_filesystem_origin(settings):
    settings.MEDIA_STORAGE = "filesystem"

    with pytest.raises(CommandError, match="lifecycle rules exist only on S3"):
        call_command("apply_s3_lifecycle")


def test_an_expired_origin_object_answers_404_and_marks_the_attachment(client, ingest):
    attachment = ingest(random_bytes(500))
    runtime.get_store().evict(attachment.blob.info())
    runtime.get_origin().delete(attachment.blob.origin_key)  # what the lifecycle rule does after N days

    response = client.get(f"/media/{attachment.media_hash}")

    attachment.refresh_from_db()
    attachment.blob.refresh_from_db()
    assert response.status_code == 404
    assert attachment.is_expired


def test_media_stats_needs_an_operator(client, settings):
    settings.MEDIA_API_TOKEN = "t0ken"

    assert client.get("/media/stats").status_code == 401
    assert client.get("/media/stats", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/media/stats", HTTP_AUTHORIZATION="Bearer t0ken").status_code == 200


def test_media_stats_reports_every_tier(admin_client, client, ingest):
    image = ingest(png_bytes(), "p.png")
    document = ingest(random_bytes(3000), "d.bin")
    for attachment in (image, document):
        client.get(f"/media/{attachment.media_hash}")  # disk hits, promoted to Redis
    client.get(f"/media/{image.media_hash}")  # a Redis hit

    report = admin_client.get("/media/stats").json()

    assert report["status"] == "success"
    assert set(report["statistics"]) == CONTRACT_STATISTICS
    hot = report["hot_tier"]
    assert (hot["backend"], hot["status"], hot["keys"]) == ("redis", "ok", 2)
    payload = image.file_size + document.file_size
    assert payload <= hot["bytes"] <= payload * 1.5 + 2048  # MEMORY USAGE: payload plus Redis overhead
    assert hot["used_memory"] > 0
    assert hot["hit_ratio"].endswith("%")
    disk = report["disk"]
    assert disk["by_type"]["image"] == {"count": 1, "size": image.file_size}
    assert disk["by_type"]["document"] == {"count": 1, "size": document.file_size}
    assert (disk["files"], disk["bytes"]) == (2, image.file_size + document.file_size)
    assert (report["origin"]["objects"], report["origin"]["bytes"]) == (2, image.file_size + document.file_size)
    assert report["origin"]["calls_since_start"]["put"] >= 2
    assert report["serving"]["requests"]["redis"]["by_status"]["200"] >= 1
    assert report["serving"]["bytes_served"]["redis"] >= image.file_size


def test_media_stats_with_the_in_process_hot_tier(admin_client, settings):
    settings.REDIS_URL = ""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    report = admin_client.get("/media/stats").json()

    assert report["hot_tier"]["backend"] == "memory"
    assert report["hot_tier"]["keys"] == 0


def test_media_stats_command_prints_a_table_and_json(ingest):
    ingest(png_bytes(), "p.png")
    text, raw = StringIO(), StringIO()

    call_command("media_stats", stdout=text)
    call_command("media_stats", "--json", stdout=raw)

    lines = text.getvalue().splitlines()
    assert lines[0] == "WhatsApp media"
    assert {"Hot tier", "Disk tier", "Origin"} <= set(lines)
    assert any(line.strip().startswith("image") and "1 files" in line for line in lines)
    report = json.loads(raw.getvalue())
    assert set(report["statistics"]) == CONTRACT_STATISTICS


def test_metrics_need_an_operator_and_count_requests_by_tier_and_status(client, admin_client, ingest):
    attachment = ingest(random_bytes(2000))
    client.get(f"/media/{attachment.media_hash}")
    client.get(f"/media/{attachment.media_hash}")
    client.get(f"/media/{'0' * 32}")

    anonymous = client.get("/metrics")
    text = admin_client.get("/metrics").content.decode()

    assert anonymous.status_code == 401
    assert 'mediacache_media_requests_total{status="200",tier="redis"}' in text
    assert 'mediacache_media_requests_total{status="404",tier="none"}' in text
    assert 'mediacache_origin_calls_total{operation="put"}' in text
    assert "mediacache_media_request_seconds_bucket" in text


def sample(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_count_retries_negative_cache_hits_and_download_outcomes(settings):
    from media_store.exceptions import DownloadError
    from media_store.fetch.negative import NegativeCache
    from media_store.fetch.retry import RetryPolicy

    retries_before = sample("mediacache_download_retries_total", source="whatsapp")
    hits_before = sample("mediacache_negative_cache_hits_total", namespace="metrics-test")
    attempts = iter([DownloadError("503"), DownloadError("503"), None])

    def flaky(_attempt):
        error = next(attempts)
        if error:
            raise error
        return "ok"

    RetryPolicy(max_attempts=3, base=0.0, sleep=lambda _: None, source="whatsapp").call(flaky)
    negative = NegativeCache("metrics-test", ttl=60)
    negative.add("https://example.com/x", "404")
    negative.get("https://example.com/x")
    negative.get("https://example.com/other")

    assert sample("mediacache_download_retries_total", source="whatsapp") - retries_before == 2
    assert sample("mediacache_negative_cache_hits_total", namespace="metrics-test") - hits_before == 1


def test_download_outcomes_are_counted(settings):
    from media_store.exceptions import BlockedURL
    from media_store.fetch.urls import fetch

    before = sample("mediacache_downloads_total", source="url", outcome="failed")

    with pytest.raises(BlockedURL, match="only http and https"):
        fetch("ftp://example.com/file")

    assert sample("mediacache_downloads_total", source="url", outcome="failed") - before == 1
