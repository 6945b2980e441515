"""``/media/<token>``: the per-process token cache and the URL shapes the public view accepts."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from chat.resolver import TokenResolver, get_resolver
from media_store import runtime
from media_store.models import Blob
from tests.support.media import jpeg_bytes, pdf_bytes, png_bytes


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def png(attach):
    data = png_bytes()
    return attach(data, "red.png"), data


# --- the token cache ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_first_request_runs_at_most_one_query(client, png, django_assert_max_num_queries):
    attachment, data = png
    with django_assert_max_num_queries(1):
        response = client.get(f"/media/{attachment.media_hash}")
    assert response.status_code == 200
    assert body(response) == data


@pytest.mark.django_db
def test_the_second_request_for_a_token_runs_no_query(client, png, django_assert_num_queries):
    attachment, data = png
    assert client.get(f"/media/{attachment.media_hash}").status_code == 200
    with django_assert_num_queries(0):
        response = client.get(f"/media/{attachment.media_hash}")
    assert response.status_code == 200
    assert body(response) == data


@pytest.mark.django_db
def test_a_deleted_attachment_is_404_at_once(client, png):
    attachment, _data = png
    url = f"/media/{attachment.media_hash}"
    assert client.get(url).status_code == 200
    attachment.delete()
    response = client.get(url)
    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_an_attachment_whose_blob_expired_is_404(client, png):
    attachment, _data = png
    Blob.objects.filter(pk=attachment.blob_id).update(expired_at=timezone.now())
    response = client.get(f"/media/{attachment.media_hash}")
    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_another_attachment_of_the_same_blob_survives_a_delete(client, attach):
    data = jpeg_bytes()
    kept, deleted = attach(data, "a.jpg"), attach(data, "b.jpg")
    assert client.get(f"/media/{deleted.media_hash}").status_code == 200
    deleted.delete()
    assert client.get(f"/media/{deleted.media_hash}").status_code == 404
    response = client.get(f"/media/{kept.media_hash}")
    assert response.status_code == 200
    assert body(response) == data


@pytest.mark.django_db
def test_resolver_returns_none_for_an_unknown_token_and_caches_only_hits(png, django_assert_num_queries):
    attachment, data = png
    resolver = TokenResolver(ttl=60)
    unknown = "0" * 32
    assert resolver.resolve(unknown) is None
    with django_assert_num_queries(1):
        assert resolver.resolve(unknown) is None
    blob = resolver.resolve(attachment.media_hash)
    assert (blob.sha256, blob.size, blob.mime_type) == (attachment.sha256, len(data), "image/png")
    with django_assert_num_queries(0):
        assert resolver.resolve(attachment.media_hash) == blob


@pytest.mark.django_db
def test_forget_makes_the_resolver_look_the_token_up_again(png, django_assert_num_queries):
    attachment, _data = png
    resolver = get_resolver()
    resolver.resolve(attachment.media_hash)
    resolver.forget(attachment.media_hash)
    with django_assert_num_queries(1):
        assert resolver.resolve(attachment.media_hash).sha256 == attachment.sha256


# --- URL shapes -----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".PNG", ".jpg", ".bin"])
@pytest.mark.django_db
def test_the_extension_alias_serves_the_same_bytes(client, png, suffix):
    attachment, data = png
    response = client.get(f"/media/{attachment.media_hash}{suffix}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert body(response) == data


@pytest.mark.parametrize("query", ["?timestamp=123", "?id=1&foo=bar", "?"])
@pytest.mark.django_db
def test_query_parameters_are_ignored(client, png, query):
    attachment, data = png
    response = client.get(f"/media/{attachment.media_hash}{query}")
    assert response.status_code == 200
    assert body(response) == data


@pytest.mark.django_db
def test_head_answers_the_headers_without_a_body(client, attach):
    data = pdf_bytes()
    attachment = attach(data, "doc.pdf")
    response = client.head(f"/media/{attachment.media_hash}")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(data))
    assert response["Content-Type"] == "application/pdf"
    assert body(response) == b""


@pytest.mark.parametrize(
    "path",
    [
        lambda token: "xyz",
        lambda token: token.upper(),
        lambda token: token[:31],
        lambda token: token + "0",
        lambda token: f"{token}/extra",
        lambda token: f"{token}.",
        lambda token: f"{token}.png.png",
        lambda token: "",
        lambda token: "0" * 32,
    ],
    ids=["short", "uppercase", "31-chars", "33-chars", "sub-path", "empty-ext", "double-ext", "bare", "unknown"],
)
@pytest.mark.django_db
def test_malformed_or_unknown_tokens_are_a_tiny_no_store_404(client, png, path):
    attachment, _data = png
    response = client.get(f"/media/{path(attachment.media_hash)}")
    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"].startswith("text/plain")
    assert len(response.content) < 64


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
@pytest.mark.django_db
def test_unsafe_methods_are_405_not_a_csrf_403(png, method):
    attachment, _data = png
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(f"/media/{attachment.media_hash}")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("method", ["post", "put", "delete"])
@pytest.mark.django_db
def test_unsafe_methods_on_a_malformed_token_are_405_too(method):
    response = getattr(Client(enforce_csrf_checks=True), method)("/media/not-a-token")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.django_db
def test_media_responses_set_no_cookies(client, png):
    attachment, _data = png
    response = client.get(f"/media/{attachment.media_hash}")
    assert response.status_code == 200
    assert response.cookies == {}


def _remove_everywhere(attachment) -> None:
    """The origin object is gone (lifecycle expiry, manual delete) and no tier holds a copy."""
    store = runtime.get_store()
    store.evict(attachment.blob.info())
    store.origin.delete(attachment.blob.origin_key)


@pytest.mark.django_db
def test_content_gone_from_the_origin_is_404_and_the_token_is_forgotten(client, png, django_assert_num_queries):
    attachment, _data = png
    url = f"/media/{attachment.media_hash}"
    assert client.get(url).status_code == 200
    _remove_everywhere(attachment)

    response = client.get(url)

    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"
    assert Blob.objects.get(pk=attachment.blob_id).expired_at is not None
    with django_assert_num_queries(1):  # looked up again, found expired, not served from memory
        assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_ingesting_expired_content_again_revives_its_old_short_url(client, attach):
    data = jpeg_bytes()
    old = attach(data, "old.jpg")
    url = f"/media/{old.media_hash}"
    _remove_everywhere(old)
    assert client.get(url).status_code == 404

    attach(data, "again.jpg")

    assert Blob.objects.get(pk=old.blob_id).expired_at is None
    response = client.get(url)
    assert response.status_code == 200
    assert body(response) == data


@pytest.mark.django_db
def test_the_token_cache_is_bounded_and_drops_the_oldest_entry(attach, django_assert_num_queries):
    first, second, third = (attach(png_bytes(color=(n, n, n)), f"{n}.png") for n in (1, 2, 3))
    resolver = TokenResolver(ttl=60, maxsize=2)
    for attachment in (first, second, third):
        resolver.resolve(attachment.media_hash)
    with django_assert_num_queries(0):
        assert resolver.resolve(third.media_hash).sha256 == third.sha256
    with django_assert_num_queries(1):
        assert resolver.resolve(first.media_hash).sha256 == first.sha256
