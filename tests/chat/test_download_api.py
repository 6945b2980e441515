"""``POST /api/media/download`` (CONTRACT §4): auth, validation, the attachment JSON, error statuses."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from chat.models import MessageAttachment
from media_store.models import Blob, SourceURL
from tests.support.contract import PNG_RGB_METADATA, attachment_json
from tests.support.http import respond, sequence
from tests.support.media import jpeg_bytes, mp4_bytes, pdf_bytes, png_bytes, random_bytes

URL = "/api/media/download"

pytestmark = pytest.mark.django_db


def post(client: Client, **payload):
    return client.post(URL, payload, content_type="application/json")


# -- access -------------------------------------------------------------------------------------


def test_the_route_is_named():
    assert reverse("media-download") == URL


def test_anonymous_callers_get_401_and_nothing_is_fetched(client, server, allow_private):
    response = post(client, url=server.serve("/a.png", png_bytes()))

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert server.connections == 0


def test_non_staff_users_get_403(client, django_user_model, server, allow_private):
    client.force_login(django_user_model.objects.create_user("member", password="x"))

    response = post(client, url=server.serve("/a.png", png_bytes()))

    assert response.status_code == 403
    assert server.connections == 0


def test_a_staff_session_may_download(client, django_user_model, server, allow_private):
    client.force_login(django_user_model.objects.create_user("operator", password="x", is_staff=True))

    response = post(client, url=server.serve("/doc.pdf", pdf_bytes()))

    assert response.status_code == 201


# -- success ------------------------------------------------------------------------------------


def test_it_answers_201_with_the_attachment_json(api, server, allow_private, attachment_keys):
    data = png_bytes(width=40, height=30)
    url = server.serve("/photos/red.png", data, "image/png")

    response = post(api, url=url)

    attachment = MessageAttachment.objects.get()
    assert response.status_code == 201
    assert list(response.json()) == attachment_keys
    assert response.json() == attachment_json(
        attachment, data, mime_type="image/png", media_type="image", width=40, height=30, metadata=PNG_RGB_METADATA
    )
    assert attachment.original_filename == "red.png"
    assert SourceURL.objects.get().url == url


def test_the_same_bytes_at_two_urls_make_two_attachments_and_one_blob(api, server, allow_private):
    data = jpeg_bytes()

    first = post(api, url=server.serve("/a.jpg", data, "image/jpeg")).json()
    second = post(api, url=server.serve("/b.jpg", data, "image/jpeg")).json()

    assert first["media_hash"] != second["media_hash"]
    assert first["sha256"] == second["sha256"]
    assert MessageAttachment.objects.count() == 2
    assert Blob.objects.count() == 1


def test_filename_and_media_type_are_used_for_the_attachment(api, server, allow_private):
    server.serve("/download", mp4_bytes(), "application/octet-stream")
    url = server.url("/download?id=7")

    body = post(api, url=url, filename="holiday", media_type="video").json()

    attachment = MessageAttachment.objects.get()
    assert (body["mime_type"], body["media_type"]) == ("video/mp4", "video")
    assert attachment.original_filename == "holiday.mp4"


def test_a_sticker_is_reported_as_a_sticker(api, server, allow_private):
    body = post(api, url=server.serve("/s.png", png_bytes()), media_type="sticker").json()

    assert (body["media_type"], body["mime_type"]) == ("sticker", "image/png")


# -- bad input: 400 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "url"),
        ({"url": ""}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "http://x.example/" + "a" * 2100}, "url"),
        ({"url": "https://cdn.example/a.png", "media_type": "gif"}, "media_type"),
    ],
)
def test_invalid_requests_get_400_naming_the_field(api, payload, field):
    response = api.post(URL, payload, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert MessageAttachment.objects.count() == 0


def test_a_blocked_url_gets_400(api, server):
    response = post(api, url=server.serve("/a.png", png_bytes()))

    assert response.status_code == 400
    assert response.json()["code"] == "blocked_url"
    assert "a private or reserved address" in response.json()["detail"]
    assert server.connections == 0


def test_a_non_http_scheme_gets_400(api):
    response = post(api, url="ftp://files.example/a.png")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "only http and https URLs can be downloaded, not 'ftp'",
        "code": "blocked_url",
    }


# -- upstream failures ----------------------------------------------------------------------------


def test_too_large_gets_413_and_nothing_is_stored(api, server, allow_private, settings):
    settings.DOWNLOAD_MAX_BYTES = 10_000

    response = post(api, url=server.serve("/big.bin", random_bytes(50_000), chunked=True))

    assert response.status_code == 413
    assert response.json() == {"detail": "content exceeds the limit of 10000 bytes", "code": "too_large"}
    assert Blob.objects.count() == 0


def test_a_permanent_upstream_failure_gets_422_then_recently_failed_422(api, server, allow_private):
    url = server.serve("/gone.png", b"", status=410)

    first = post(api, url=url)
    second = post(api, url=url)

    assert first.status_code == 422
    assert first.json() == {"detail": f"{url} answered 410 Gone", "code": "download_failed"}
    assert second.status_code == 422
    assert second.json()["code"] == "failed"
    assert len(server.requests) == 1


def test_a_transient_failure_after_retries_gets_502(api, server, allow_private, sleeps, settings):
    settings.MAX_RETRIES = 2
    url = server.serve("/busy", b"", status=503)

    response = post(api, url=url)

    assert response.status_code == 502
    assert response.json() == {"detail": f"{url} answered 503 Service Unavailable", "code": "download_failed"}
    assert len(server.requests) == 2
    assert len(sleeps) == 1


def test_a_refused_image_gets_422_and_leaves_no_rows(api, server, allow_private, settings):
    settings.MEDIA_MAX_IMAGE_PIXELS = 100

    response = post(api, url=server.serve("/bomb.png", png_bytes(width=64, height=48)))

    assert response.status_code == 422
    assert response.json()["code"] == "rejected"
    assert (Blob.objects.count(), SourceURL.objects.count(), MessageAttachment.objects.count()) == (0, 0, 0)


def test_a_retry_that_succeeds_answers_201(api, server, allow_private, sleeps):
    url = server.route("/flaky.pdf", sequence(respond(status=502), respond(pdf_bytes())))

    response = post(api, url=url)

    assert response.status_code == 201
    assert len(sleeps) == 1
