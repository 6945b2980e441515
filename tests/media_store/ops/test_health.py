"""``/healthz``: probes are cheap (the checks run at most once per interval) and HEAD is answered."""

from __future__ import annotations

import pytest

from media_store.ops import health

pytestmark = pytest.mark.django_db


def head_bucket_calls(entries: list[dict]) -> int:
    return sum(1 for entry in entries if entry["method"] == "HEAD" and entry["url"].rstrip("/").endswith("-test"))


def test_probes_within_the_interval_reuse_one_storage_check(client, s3_server, settings, monkeypatch):
    settings.MEDIA_HEALTH_CACHE_SECONDS = 5.0
    now = [1000.0]
    monkeypatch.setattr(health, "clock", lambda: now[0])
    s3_server.start_recording()
    answers = [client.get("/healthz").status_code for _ in range(10)]
    within = head_bucket_calls(s3_server.stop_recording())

    now[0] += 6
    s3_server.start_recording()
    client.get("/healthz")
    after = head_bucket_calls(s3_server.stop_recording())

    assert answers == [200] * 10
    assert within == 1
    assert after == 1


def test_head_answers_the_status_without_a_body(client):
    response = client.head("/healthz")

    assert response.status_code == 200
    assert response.content == b""
    assert response["Cache-Control"] == "no-store"
    assert int(response["Content-Length"]) > 0


def test_a_changed_setting_is_seen_at_once(client, settings, closed_port):
    assert client.get("/healthz").status_code == 200

    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{closed_port}"
    settings.MEDIA_ORIGIN_TIMEOUT = 0.5

    assert client.get("/healthz").status_code == 503


def test_other_methods_are_refused(client):
    assert client.post("/healthz").status_code == 405
