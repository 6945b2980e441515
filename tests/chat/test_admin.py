"""The admin: attachments findable by token, digest or name; content fields read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from chat.models import MessageAttachment
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
def test_adding_an_attachment_in_the_admin_gives_it_a_token(admin_client, attach):
    blob = attach(pdf_bytes(), "first.pdf").blob
    response = admin_client.post(
        reverse("admin:chat_messageattachment_add"),
        {"blob": blob.pk, "original_filename": "second.pdf", "media_type": "document"},
    )
    assert response.status_code == 302
    added = MessageAttachment.objects.get(original_filename="second.pdf")
    assert added.blob_id == blob.pk
    assert added.short_url == f"http://media.example.test/media/{added.media_hash}"
    assert added.sha256 == blob.sha256


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
