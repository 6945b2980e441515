"""The admin: attachments findable by token, digest or name; content fields read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from chat.models import MessageAttachment
from media_store.models import Blob
from tests.support.media import jpeg_bytes, pdf_bytes, png_bytes

CHANGELIST = reverse("admin:chat_messageattachment_changelist")


@pytest.fixture
def two_attachments(attach):
    """A PNG and a PDF with distinct names: each search must find one and not the other."""
    return attach(png_bytes(), "holiday-photo.png"), attach(pdf_bytes(), "invoice-2024.pdf")


@pytest.mark.django_db
def test_changelist_shows_the_short_url_as_a_link(admin_client, attach):
    attachment = attach(png_bytes(), "red.png")
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert f'<a href="http://media.example.test/media/{attachment.media_hash}"'.encode() in response.content


@pytest.mark.parametrize(
    "query",
    [
        lambda a: a.media_hash,
        lambda a: a.sha256,
        lambda a: a.md5_sum,
        lambda a: a.original_filename,
        lambda a: "holiday",
    ],
    ids=["media_hash", "sha256", "md5_sum", "filename", "filename-part"],
)
@pytest.mark.django_db
def test_search_finds_the_attachment(admin_client, two_attachments, query):
    photo, invoice = two_attachments
    response = admin_client.get(CHANGELIST, {"q": query(photo)})
    assert response.status_code == 200
    assert photo.short_url.encode() in response.content
    assert invoice.short_url.encode() not in response.content


@pytest.mark.django_db
def test_search_by_a_token_prefix_finds_nothing(admin_client, two_attachments):
    """Tokens and digests match exactly: a prefix must not enumerate attachments."""
    photo, invoice = two_attachments
    response = admin_client.get(CHANGELIST, {"q": photo.media_hash[:8]})
    assert response.status_code == 200
    assert photo.short_url.encode() not in response.content
    assert invoice.short_url.encode() not in response.content


@pytest.mark.django_db
def test_change_page_shows_digests_read_only(admin_client, attach):
    attachment = attach(jpeg_bytes(), "green.jpg")
    response = admin_client.get(reverse("admin:chat_messageattachment_change", args=[attachment.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="original_filename"' in content
    for field in ("sha256", "md5_sum", "media_hash", "short_url", "file_size", "blob"):
        assert f'name="{field}"' not in content
    assert attachment.sha256 in content
    assert attachment.md5_sum in content


@pytest.mark.django_db
def test_blob_changelist_renders(admin_client, attach):
    attachment = attach(png_bytes())
    response = admin_client.get(reverse("admin:media_store_blob_changelist"))
    assert response.status_code == 200
    assert attachment.sha256.encode() in response.content


@pytest.mark.django_db
def test_message_changelist_and_add_page_render(admin_client):
    assert admin_client.get(reverse("admin:chat_message_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:chat_message_add")).status_code == 200


@pytest.mark.parametrize(
    "url",
    [CHANGELIST, reverse("admin:media_store_blob_changelist")],
)
@pytest.mark.django_db
def test_anonymous_is_redirected_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- the change list: size, type, created, tiers, filters (chat/admin_changelist.py) ------------


@pytest.mark.django_db
def test_changelist_shows_human_size_type_and_the_tiers_holding_it(admin_client, attach, settings):
    attachment = attach(png_bytes(), "red.png")
    response = admin_client.get(CHANGELIST)
    row = _row_of(response.content.decode(), attachment.media_hash)
    assert f'<td class="field-size">{attachment.file_size}\xa0bytes</td>' in row
    assert '<td class="field-media_type">image</td>' in row
    assert '<td class="field-mime_type">image/png</td>' in row
    assert '<td class="field-held_by">disk + origin</td>' in row  # the ingest adopted the staged file
    assert 'class="field-created_at' in row


@pytest.mark.django_db
def test_changelist_shows_the_hot_tier_once_a_request_filled_it(admin_client, attach, client):
    attachment = attach(png_bytes(), "red.png")
    client.get(f"/media/{attachment.media_hash}")  # a disk hit promotes into the hot tier
    client.get(f"/media/{attachment.media_hash}")
    row = _row_of(admin_client.get(CHANGELIST).content.decode(), attachment.media_hash)
    assert '<td class="field-held_by">hot + disk + origin</td>' in row


@pytest.mark.parametrize(
    ("query", "shown"),
    [({"origin": "expired"}, "expired"), ({"origin": "stored"}, "stored"), ({}, "both")],
)
@pytest.mark.django_db
def test_changelist_filters_by_the_origin_copy(admin_client, attach, query, shown):
    stored, expired = attach(png_bytes(), "kept.png"), attach(pdf_bytes(), "gone.pdf")
    Blob.objects.filter(pk=expired.blob_id).update(expired_at=timezone.now())
    page = admin_client.get(CHANGELIST, query).content.decode()
    assert (stored.media_hash in page) == (shown in ("stored", "both"))
    assert (expired.media_hash in page) == (shown in ("expired", "both"))
    if shown == "expired":
        assert '<td class="field-held_by">disk</td>' in _row_of(page, expired.media_hash)


@pytest.mark.django_db
def test_changelist_filters_by_source(admin_client, attach):
    uploaded, fetched = attach(png_bytes(), "upload.png"), attach(pdf_bytes(), "wa.pdf")
    MessageAttachment.objects.filter(pk=fetched.pk).update(whatsapp_media_id="1037543291543636")
    whatsapp = admin_client.get(CHANGELIST, {"source": "whatsapp"}).content.decode()
    other = admin_client.get(CHANGELIST, {"source": "other"}).content.decode()
    assert fetched.media_hash in whatsapp
    assert uploaded.media_hash not in whatsapp
    assert uploaded.media_hash in other
    assert fetched.media_hash not in other


@pytest.mark.django_db
def test_changelist_filters_by_media_type(admin_client, attach):
    image, document = attach(png_bytes(), "a.png"), attach(pdf_bytes(), "b.pdf")
    page = admin_client.get(CHANGELIST, {"media_type__exact": "document"}).content.decode()
    assert document.media_hash in page
    assert image.media_hash not in page


def _row_of(page: str, token: str) -> str:
    """The changelist ``<tr>`` that links to ``token``."""
    start = page.rindex("<tr", 0, page.index(f"/media/{token}"))
    return page[start : page.index("</tr>", start)]
