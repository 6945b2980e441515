"""``GET|HEAD /media/<token>/<variant>.<ext>`` in-process: the same HTTP semantics as originals."""

from __future__ import annotations

import hashlib

import pytest

from chat.services import attach_file
from media_store import runtime
from media_store.variants.slots import transcode_slot
from tests.support import ffmedia
from tests.support.media import ogg_opus_bytes, pdf_bytes

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def voice_note(tmp_path):
    """A WAV recording as an attachment (its voice.ogg must be made)."""
    return attach_file(ffmedia.wav(tmp_path, seconds=1.0), filename="memo.wav")


def test_a_variant_is_served_with_its_own_etag_type_and_cache_headers(client, voice_note):
    response = client.get(f"/media/{voice_note.media_hash}/voice.ogg")

    data = body(response)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "audio/ogg"
    assert response.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert response.headers["ETag"] != f'"{voice_note.sha256}"'
    assert response.headers["Content-Length"] == str(len(data))
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert data[:4] == b"OggS"


def test_range_head_and_304_on_a_variant(client, voice_note):
    url = f"/media/{voice_note.media_hash}/voice.ogg"
    full = body(client.get(url))
    etag = f'"{hashlib.sha256(full).hexdigest()}"'

    ranged = client.get(url, HTTP_RANGE="bytes=0-1")
    head = client.head(url)
    not_modified = client.get(url, HTTP_IF_NONE_MATCH=etag)
    unsatisfiable = client.get(url, HTTP_RANGE=f"bytes={len(full) + 10}-")

    assert (ranged.status_code, body(ranged)) == (206, full[:2])
    assert ranged.headers["Content-Range"] == f"bytes 0-1/{len(full)}"
    assert (head.status_code, head.content, head.headers["Content-Length"]) == (200, b"", str(len(full)))
    assert head.headers["ETag"] == etag
    assert (not_modified.status_code, not_modified.headers["ETag"]) == (304, etag)
    assert (unsatisfiable.status_code, unsatisfiable.headers["Content-Range"]) == (416, f"bytes */{len(full)}")


def test_a_second_request_is_a_cache_hit(client, voice_note):
    client.get(f"/media/{voice_note.media_hash}/voice.ogg")

    second = client.get(f"/media/{voice_note.media_hash}/voice.ogg")

    assert second.headers["X-Cache"] == "HIT"


def test_head_of_a_variant_not_yet_made_makes_it(client, voice_note):
    head = client.head(f"/media/{voice_note.media_hash}/audio.mp3")

    assert head.status_code == 200
    assert head.headers["Content-Type"] == "audio/mpeg"
    assert voice_note.blob.variants.get().name == "audio.mp3"


def test_a_pdf_as_voice_ogg_is_a_tiny_uncacheable_422(client, write_file):
    attachment = attach_file(write_file("report.pdf", pdf_bytes()))

    response = client.get(f"/media/{attachment.media_hash}/voice.ogg")

    assert response.status_code == 422
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.content == b"cannot convert this content to voice.ogg\n"


def test_an_undecodable_recording_is_422_and_stays_422_without_another_run(client, write_file, settings, tmp_path):
    log = tmp_path / "runs"
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(f'#!/bin/sh\necho run >> "{log}"\nexec ffmpeg "$@"\n')
    wrapper.chmod(0o755)
    settings.MEDIA_FFMPEG = str(wrapper)
    attachment = attach_file(write_file("broken.ogg", ogg_opus_bytes()))

    statuses = [client.get(f"/media/{attachment.media_hash}/voice.ogg").status_code for _ in range(3)]

    assert statuses == [422, 422, 422]
    assert log.read_text().splitlines() == ["run"]


def test_unknown_variants_tokens_and_methods(client, voice_note):
    token = voice_note.media_hash

    assert client.get(f"/media/{token}/voice.flac").status_code == 404
    assert client.get(f"/media/{token}/karaoke.ogg").status_code == 404
    assert client.get(f"/media/{'0' * 32}/voice.ogg").status_code == 404
    assert client.get(f"/media/{token}/voice.ogg/extra").status_code == 404
    post = client.post(f"/media/{token}/voice.ogg")
    assert (post.status_code, post.headers["Allow"]) == (405, "GET, HEAD")


def test_a_busy_transcoder_answers_503_with_retry_after(client, voice_note, settings):
    settings.MEDIA_TRANSCODE_CONCURRENCY = 1
    settings.MEDIA_TRANSCODE_WAIT_SECONDS = 0.1

    with transcode_slot():
        response = client.get(f"/media/{voice_note.media_hash}/voice.ogg")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_variant_whose_origin_copy_vanished_is_made_again_on_the_same_request(client, voice_note):
    url = f"/media/{voice_note.media_hash}/voice.ogg"
    first = client.get(url)
    made = voice_note.blob.variants.get().blob
    store = runtime.get_store()
    store.evict(made.info())
    store.origin.delete(made.origin_key)

    again = client.get(url)

    assert (first.status_code, again.status_code) == (200, 200)
    assert body(again) == body(first)
    assert store.origin.head(made.origin_key) == made.size


def test_the_attachment_json_carries_duration_and_metadata(client, django_user_model, voice_note):
    client.force_login(django_user_model.objects.create_user("operator", password="x", is_staff=True))
    response = client.get(f"/api/attachments/{voice_note.pk}/")

    data = response.json()
    assert list(data)[-2:] == ["duration", "metadata"]
    assert data["duration"] == 1.0
    assert data["metadata"]["audio"]["codec"] == "pcm_s16le"
