"""``Idempotency-Key`` on the ingest POSTs: a retried request is answered, not done again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from chat.idempotency import IdempotencyKey, Idempotent
from chat.jobs import FetchJob
from chat.models import MessageAttachment
from media_store import runtime
from tests.support.media import jpeg_bytes, png_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]


def upload(api: Client, payload: bytes, key: str | None = None, name: str = "photo.png"):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.post("/api/attachments/", {"file": SimpleUploadedFile(name, payload)}, headers=headers)


def download(api: Client, url: str, key: str, query: str = ""):
    return api.post(
        f"/api/media/download{query}", {"url": url}, content_type="application/json", headers={"Idempotency-Key": key}
    )


def test_an_upload_retried_with_its_key_is_answered_with_the_first_attachment(api):
    first = upload(api, png_bytes(), key="upload-1")
    again = upload(api, png_bytes(), key="upload-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert MessageAttachment.objects.count() == 1


def test_without_a_key_every_upload_is_a_new_attachment(api):
    upload(api, png_bytes())
    upload(api, png_bytes())

    assert MessageAttachment.objects.count() == 2
    assert IdempotencyKey.objects.count() == 0


def test_the_drafts_quoted_form_is_the_same_key(api):
    first = upload(api, png_bytes(), key="8e03978e-40d5-43e8")
    again = upload(api, png_bytes(), key='"8e03978e-40d5-43e8"')

    assert again.json()["id"] == first.json()["id"]
    assert MessageAttachment.objects.count() == 1


def test_the_same_key_for_other_bytes_is_422_and_stores_nothing_more(api):
    upload(api, png_bytes(), key="reused")

    other = upload(api, jpeg_bytes(), key="reused", name="other.jpg")

    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert MessageAttachment.objects.count() == 1


def test_the_same_key_under_another_name_is_another_request(api):
    upload(api, png_bytes(), key="named")

    renamed = upload(api, png_bytes(), key="named", name="renamed.png")

    assert renamed.status_code == 422


@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "caf\u00e9", '""'])
def test_a_malformed_key_is_400_and_nothing_is_stored(api, key):
    response = upload(api, png_bytes(), key=key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert MessageAttachment.objects.count() == 0


def test_an_expired_key_starts_over(api, settings):
    settings.MEDIA_IDEMPOTENCY_HOURS = 1
    first = upload(api, png_bytes(), key="old")
    IdempotencyKey.objects.filter(pk="old").update(created_at=timezone.now() - timedelta(hours=2))

    again = upload(api, png_bytes(), key="old")

    assert again.status_code == 201
    assert again.json()["id"] != first.json()["id"]
    assert "Idempotent-Replayed" not in again.headers
    assert IdempotencyKey.objects.get(pk="old").created_at > timezone.now() - timedelta(minutes=1)


def test_a_request_that_loses_the_race_rolls_back_and_answers_the_winners_attachment(api, monkeypatch):
    """Two requests with one key, both past the replay check: the second's key insert fails, its
    attachment row is rolled back with it, and it answers what the first one recorded."""
    winner = upload(api, png_bytes(), key="raced")
    original_replay = Idempotent.replay
    calls: list[int] = []

    def not_seen_yet(self):  # the first look happens "before the winner committed"
        calls.append(1)
        return None if len(calls) == 1 else original_replay(self)

    monkeypatch.setattr(Idempotent, "replay", not_seen_yet)
    loser = upload(api, png_bytes(), key="raced")

    assert len(calls) == 2
    assert loser.status_code == 201
    assert loser.json() == winner.json()
    assert MessageAttachment.objects.count() == 1


def test_a_url_download_retried_with_its_key_is_fetched_once(api, server):
    url = server.serve("/a.png", png_bytes(), content_type="image/png")

    first = download(api, url, key="download-1")
    again = download(api, url, key="download-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert len(server.requests_for("/a.png")) == 1
    assert MessageAttachment.objects.count() == 1


def test_a_failed_download_records_no_key_so_a_retry_tries_again(api, server):
    url = server.serve("/gone.png", b"", status=404)

    failed = download(api, url, key="failing")
    assert failed.status_code == 422
    assert IdempotencyKey.objects.count() == 0

    server.serve("/gone.png", png_bytes(), content_type="image/png")  # the URL works now
    runtime.negative_cache("url").forget(url)  # (and its 404 is no longer remembered)
    retried = download(api, url, key="failing")

    assert retried.status_code == 201  # really done this time, not the 422 replayed
    assert "Idempotent-Replayed" not in retried.headers
    assert len(server.requests_for("/gone.png")) == 2


def test_an_async_download_retried_with_its_key_makes_one_job(api, server):
    url = server.serve("/b.png", png_bytes(), content_type="image/png")

    first = download(api, url, key="async-1", query="?async=1")
    again = download(api, url, key="async-1", query="?async=1")

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert FetchJob.objects.count() == 1


def test_the_schema_documents_the_header_on_both_ingest_endpoints(api):
    schema = api.get("/api/schema/?format=json").json()

    for path in ("/api/attachments/", "/api/media/download"):
        parameters = schema["paths"][path]["post"]["parameters"]
        assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in parameters), path
