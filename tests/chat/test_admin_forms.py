"""The admin's attachment add page: upload, URL or WhatsApp media ID, stored like the API stores them.

Real everything: the admin over Django's test client (multipart bodies through the staging
upload handler), a local HTTP server for URLs, the fake Graph API over HTTP for media IDs,
Redis and moto S3 underneath. Every failure must come back as a form error with nothing stored.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from chat.models import MessageAttachment
from media_store.models import Blob, SourceURL
from tests.support.fake_graph import FakeGraph
from tests.support.media import ogg_opus_bytes, pdf_bytes, png_bytes, random_bytes
from tests.support.servers import free_port

pytestmark = pytest.mark.django_db

ADD = reverse("admin:chat_messageattachment_add")
MEDIA_ID = "1037543291543636"
TOKEN = "graph-test-token"


@pytest.fixture
def graph(settings) -> Iterator[FakeGraph]:
    with FakeGraph(token=TOKEN) as fake:
        settings.DOWNLOAD_ALLOW_PRIVATE_NETWORKS = True
        settings.WHATSAPP_GRAPH_URL = fake.url
        settings.WHATSAPP_TOKEN = TOKEN
        settings.BASE_BACKOFF_SECONDS = 0.0
        yield fake


@pytest.fixture
def nothing_stored(staging_leftovers, origin_objects):
    """Asserts that a refused add left no row, no temp file and no origin object."""

    def check() -> None:
        assert MessageAttachment.objects.count() == 0
        assert Blob.objects.count() == 0
        assert staging_leftovers() == []
        assert origin_objects() == []

    return check


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def form_errors(response) -> str:
    """The error lists of the re-rendered add page, as text."""
    assert response.status_code == 200, response.status_code
    form = response.context["adminform"].form
    return " | ".join(str(error) for errors in form.errors.values() for error in errors)


# --- the page ---------------------------------------------------------------------------------


def test_the_add_page_offers_the_three_sources_and_no_blob_id(admin_client):
    response = admin_client.get(ADD)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'type="file" name="upload"' in page
    assert 'name="url"' in page
    assert 'name="media_id"' in page
    assert 'name="timestamp"' in page
    assert 'name="blob"' not in page
    assert 'enctype="multipart/form-data"' in page


# --- upload -----------------------------------------------------------------------------------


def test_an_upload_is_stored_and_lands_on_the_attachment_page(admin_client, staging_leftovers):
    data = png_bytes(40, 30)
    response = admin_client.post(ADD, {"upload": upload("holiday.png", data, "image/png")})

    attachment = MessageAttachment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:chat_messageattachment_change", args=[attachment.pk])
    assert attachment.original_filename == "holiday.png"
    assert (attachment.mime_type, attachment.media_type, attachment.file_size) == ("image/png", "image", len(data))
    assert (attachment.width, attachment.height) == (40, 30)
    assert attachment.short_url == f"http://media.example.test/media/{attachment.media_hash}"
    assert staging_leftovers() == []  # the staged file became the disk-tier copy

    page = admin_client.get(response["Location"]).content.decode()
    assert attachment.short_url in page
    assert f'<img src="/media/{attachment.media_hash}"' in page
    assert "was added successfully" in page


def test_the_uploaded_bytes_are_served_at_the_short_url(admin_client, client):
    data = ogg_opus_bytes()
    admin_client.post(ADD, {"upload": upload("voice", data, "audio/ogg")})

    attachment = MessageAttachment.objects.get()
    served = client.get(f"/media/{attachment.media_hash}")
    assert served.status_code == 200
    body = b"".join(served.streaming_content) if served.streaming else served.content
    assert body == data
    assert attachment.original_filename == "voice.ogg"  # the extension follows the content


def test_optional_name_type_and_message_are_applied(admin_client):
    from chat.models import Message

    message = Message.objects.create(chat_id="5511999998888")
    admin_client.post(
        ADD,
        {
            "upload": upload("x.webp", png_bytes(), "image/png"),
            "original_filename": "sticker-1",
            "media_type": "sticker",
            "message": str(message.pk),
        },
    )
    attachment = MessageAttachment.objects.get()
    assert (attachment.original_filename, attachment.media_type, attachment.message_id) == (
        "sticker-1.png",
        "sticker",
        message.pk,
    )


def test_an_oversize_upload_is_a_form_error_and_leaves_nothing(admin_client, settings, nothing_stored):
    settings.UPLOAD_MAX_BYTES = 4096
    response = admin_client.post(ADD, {"upload": upload("big.bin", random_bytes(10_000))})

    assert form_errors(response) == "big.bin is larger than the upload limit of 4.0\xa0KB (UPLOAD_MAX_BYTES)."
    nothing_stored()


def test_an_upload_exactly_at_the_limit_is_accepted(admin_client, settings):
    settings.UPLOAD_MAX_BYTES = 4096
    response = admin_client.post(ADD, {"upload": upload("edge.bin", random_bytes(4096))})
    assert response.status_code == 302
    assert MessageAttachment.objects.get().file_size == 4096


def test_an_empty_upload_is_a_form_error_and_leaves_nothing(admin_client, nothing_stored):
    response = admin_client.post(ADD, {"upload": upload("empty.png", b"")})
    assert form_errors(response) == "The submitted file is empty."
    nothing_stored()


def test_an_unreachable_origin_is_a_form_error_and_leaves_nothing(admin_client, settings, staging_leftovers):
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    settings.MEDIA_ORIGIN_TIMEOUT = 1
    response = admin_client.post(ADD, {"upload": upload("red.png", png_bytes(), "image/png")})

    assert form_errors(response).startswith("The origin is unreachable, nothing was stored; try again later. (")
    assert MessageAttachment.objects.count() == 0
    assert Blob.objects.count() == 0
    assert staging_leftovers() == []


# --- URL --------------------------------------------------------------------------------------


def test_a_url_is_downloaded_and_stored(admin_client, server, allow_private):
    data = pdf_bytes()
    url = server.serve("/docs/invoice.pdf", data, "application/pdf")

    response = admin_client.post(ADD, {"url": url})

    attachment = MessageAttachment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:chat_messageattachment_change", args=[attachment.pk])
    assert (attachment.original_filename, attachment.mime_type, attachment.file_size) == (
        "invoice.pdf",
        "application/pdf",
        len(data),
    )
    assert SourceURL.objects.get().blob_id == attachment.blob_id


def test_a_url_to_a_private_address_is_refused_without_a_request(admin_client, server, nothing_stored):
    url = server.serve("/a.png", png_bytes())

    response = admin_client.post(ADD, {"url": url})

    refusal = f"refused to fetch {url}: 127.0.0.1 resolves to 127.0.0.1: a private or reserved address"
    assert form_errors(response) == refusal
    assert server.connections == 0
    nothing_stored()


def test_a_url_answering_404_is_a_form_error_and_leaves_nothing(admin_client, server, allow_private, nothing_stored):
    url = server.url("/missing.png")

    response = admin_client.post(ADD, {"url": url})

    assert "404" in form_errors(response)
    nothing_stored()


def test_a_malformed_url_is_a_field_error(admin_client, nothing_stored):
    response = admin_client.post(ADD, {"url": "http://exa mple.com/x.png"})
    assert form_errors(response) == "Enter a valid URL."
    nothing_stored()


def test_a_url_the_downloader_refuses_shows_its_reason(admin_client, nothing_stored):
    response = admin_client.post(ADD, {"url": "ftp://example.com/x.png"})
    assert form_errors(response) == "only http and https URLs can be downloaded, not 'ftp'"
    nothing_stored()


# --- WhatsApp media ID ------------------------------------------------------------------------


def test_a_media_id_is_fetched_from_the_cloud_api(admin_client, graph):
    data = ogg_opus_bytes()
    graph.add_media(MEDIA_ID, data, "audio/ogg; codecs=opus")

    response = admin_client.post(ADD, {"media_id": MEDIA_ID, "timestamp": str(int(time.time()))})

    attachment = MessageAttachment.objects.get()
    assert response.status_code == 302
    assert attachment.whatsapp_media_id == MEDIA_ID
    assert (attachment.media_type, attachment.file_size) == ("audio", len(data))


def test_an_expired_media_id_is_a_form_error_without_an_api_call(admin_client, graph, nothing_stored):
    graph.add_media(MEDIA_ID, ogg_opus_bytes(), "audio/ogg")
    eight_days_ago = int(time.time()) - 8 * 86400

    response = admin_client.post(ADD, {"media_id": MEDIA_ID, "timestamp": str(eight_days_ago)})

    assert form_errors(response) == (
        "This media ID has expired (older than MEDIA_EXPIRATION_HOURS = 168 h): ask for the media again."
    )
    assert graph.count() == 0
    nothing_stored()


def test_an_unknown_media_id_is_a_form_error(admin_client, graph, nothing_stored):
    response = admin_client.post(ADD, {"media_id": "999000111"})
    assert form_errors(response).startswith("The Cloud API refused this media ID (")
    nothing_stored()


def test_a_malformed_media_id_is_a_form_error(admin_client, graph, nothing_stored):
    response = admin_client.post(ADD, {"media_id": "../../etc/passwd"})
    assert "invalid WhatsApp media id" in form_errors(response)
    assert graph.count() == 0
    nothing_stored()


# --- exactly one source -----------------------------------------------------------------------


def test_no_source_is_a_form_error(admin_client, nothing_stored):
    response = admin_client.post(ADD, {"original_filename": "x"})
    assert form_errors(response) == "Give exactly one of: a file, a URL or a WhatsApp media ID (given: none)."
    nothing_stored()


def test_two_sources_are_a_form_error_and_nothing_is_fetched(admin_client, server, allow_private, nothing_stored):
    url = server.serve("/a.png", png_bytes())
    response = admin_client.post(ADD, {"upload": upload("b.png", png_bytes()), "url": url})
    assert form_errors(response) == (
        "Give exactly one of: a file, a URL or a WhatsApp media ID (given: a file, a URL)."
    )
    assert server.connections == 0
    nothing_stored()


def test_a_timestamp_without_a_media_id_is_a_form_error(admin_client, nothing_stored):
    response = admin_client.post(ADD, {"upload": upload("b.png", png_bytes()), "timestamp": "1732240000"})
    assert form_errors(response) == "A timestamp only goes with a WhatsApp media ID."
    nothing_stored()


# --- CSRF is still enforced (the add view is exempt from the middleware only) -------------------


def test_a_post_without_the_csrf_token_is_refused_and_stores_nothing(admin_user, nothing_stored):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    response = browser.post(ADD, {"upload": upload("red.png", png_bytes(), "image/png")})
    assert response.status_code == 403
    nothing_stored()


def test_a_post_with_the_csrf_token_is_accepted(admin_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    token = browser.get(ADD).context["csrf_token"]
    response = browser.post(ADD, {"csrfmiddlewaretoken": str(token), "upload": upload("red.png", png_bytes())})
    assert response.status_code == 302
    assert MessageAttachment.objects.count() == 1
