"""Secrets never reach logs or the database: signed query strings, and the WhatsApp bearer
token only ever goes to the Graph host and Meta's media CDN (``WHATSAPP_MEDIA_HOSTS``)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator

import pytest

from media_store.fetch import urls as url_ingest
from media_store.fetch.graph import GraphClient
from media_store.fetch.media_ids import FAILED, download_media
from media_store.fetch.ssrf import redact, redact_text
from media_store.models import SourceURL
from tests.support.fake_graph import FakeGraph, json_reply
from tests.support.http import LocalHTTPServer
from tests.support.media import jpeg_bytes, pdf_bytes

SIGNED = (
    "https://bucket.s3.amazonaws.com/a.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1&X-Amz-Signature=deadbeefcafe&X-Amz-Expires=300"
)


def test_signed_query_values_are_redacted_and_the_rest_kept():
    assert redact(SIGNED) == (
        "https://bucket.s3.amazonaws.com/a.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Expires=300"
    )
    assert redact("https://u:p@cdn.example/x.jpg?oh=abc&oe=65F0&token=t0k") == (
        "https://***@cdn.example/x.jpg?oh=***&oe=65F0&token=***"
    )
    assert redact("https://example.com/plain.jpg?width=10") == "https://example.com/plain.jpg?width=10"


def test_library_messages_quoting_a_signed_url_are_redacted():
    text = f"HTTPSConnectionPool: Max retries exceeded with url: {SIGNED} (Caused by timeout)"

    redacted = redact_text(text)

    assert "deadbeefcafe" not in redacted
    assert "AKIAEXAMPLE" not in redacted
    assert "X-Amz-Signature=***" in redacted


@pytest.mark.django_db
def test_a_signed_url_is_stored_and_logged_without_its_signature(server, allow_private, caplog):
    url = server.serve("/doc.pdf", pdf_bytes(), content_type="application/pdf") + "?X-Amz-Signature=s3cr3tsig&a=1"

    with caplog.at_level(logging.INFO, logger="media_store"):
        url_ingest.download_blob(url)

    stored = SourceURL.objects.get()
    assert stored.url.endswith("/doc.pdf?X-Amz-Signature=***&a=1")
    assert stored.url_hash == hashlib.sha256(url.encode()).hexdigest()  # still keyed by the real URL
    assert "s3cr3tsig" not in caplog.text
    assert "X-Amz-Signature=***" in caplog.text


# -- the bearer token only goes to Meta's hosts -------------------------------------------------


def test_the_token_may_go_to_the_graph_host_and_the_meta_cdn_only():
    client = GraphClient(
        base_url="https://graph.facebook.com/v21.0",
        token="t",
        timeout=5,
        allow_private=False,
        max_bytes=10,
        media_hosts=["lookaside.fbsbx.com", "*.fbcdn.net"],
    )

    assert client.token_allowed("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1") is True
    assert client.token_allowed("https://scontent.xx.fbcdn.net/v/t1/abc.jpg") is True
    assert client.token_allowed("https://graph.facebook.com/v21.0/123") is True
    assert client.token_allowed("https://fbcdn.net.evil.example/x") is False
    assert client.token_allowed("https://evilfbcdn.net/x") is False
    assert client.token_allowed("https://attacker.example/lookaside.fbsbx.com") is False


@pytest.fixture
def graph(settings) -> Iterator[FakeGraph]:
    with FakeGraph(token="t0ken") as fake:
        settings.DOWNLOAD_ALLOW_PRIVATE_NETWORKS = True
        settings.WHATSAPP_GRAPH_URL = fake.url
        settings.WHATSAPP_TOKEN = "t0ken"
        settings.BASE_BACKOFF_SECONDS = 0.0
        yield fake


@pytest.mark.django_db
def test_a_media_url_on_a_foreign_host_is_refused_and_never_sent_the_token(graph, settings):
    data = jpeg_bytes()
    graph.add_media("555", data, "image/jpeg")
    with LocalHTTPServer() as foreign:
        elsewhere = foreign.serve("/steal.jpg", data, content_type="image/jpeg").replace("127.0.0.1", "localhost")
        graph.script_metadata(
            "555",
            json_reply(
                200,
                {
                    "messaging_product": "whatsapp",
                    "url": elsewhere,
                    "mime_type": "image/jpeg",
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "file_size": str(len(data)),
                    "id": "555",
                },
            ),
        )

        result = download_media("555")

        assert result.status == FAILED
        assert "WHATSAPP_MEDIA_HOSTS" in result.reason
        assert foreign.requests == []
