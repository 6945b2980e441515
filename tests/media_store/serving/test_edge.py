"""What the app answers the edge (in-process): X-Accel-Redirect hand-overs, the client's own
conditionals, what the edge may keep, and that nobody else can ask for any of it."""

from __future__ import annotations

import pytest

from chat.services import attach_file
from media_store import runtime
from media_store.serving.edge import CONTENT_SECURITY_POLICY, edge_secret
from tests.support.media import random_bytes

pytestmark = pytest.mark.django_db

CACHE_FOREVER = "public, max-age=31536000, immutable"


@pytest.fixture
def large(tmp_path, settings):
    """A 100 kB attachment above MEDIA_REDIS_MAX_OBJECT_BYTES, already in the disk tier."""
    settings.MEDIA_REDIS_MAX_OBJECT_BYTES = 1024
    path = tmp_path / "large.bin"
    path.write_bytes(random_bytes(100_000))
    attachment = attach_file(path)
    runtime.get_store().warm(attachment.blob.info())
    return attachment


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.bin"
    path.write_bytes(random_bytes(5000))
    return attach_file(path)


def through_edge(**headers) -> dict:
    """As the edge's caching location asks (Range and conditionals moved to X-Client-*)."""
    return {"HTTP_X_MEDIACACHE_EDGE": edge_secret(), **headers}


def handing_over(**headers) -> dict:
    """As the edge asks when it follows a large object's pointer (the client's headers as they are)."""
    return through_edge(HTTP_X_MEDIACACHE_HANDOVER="1", **headers)


def test_a_large_object_is_a_pointer_in_the_edge_cache_and_costs_no_read(client, large):
    store, info = runtime.get_store(), large.blob.info()
    store.evict(info)  # only the origin has it: serving it would fill the disk tier

    response = client.get(f"/media/{large.media_hash}", **through_edge())
    revalidated = client.get(f"/media/{large.media_hash}", **through_edge(HTTP_IF_NONE_MATCH=f'"{large.blob.sha256}"'))

    assert response.status_code == 307
    assert response["X-Mediacache-Pointer"] == "1"
    assert response["Location"] == f"/media/{large.media_hash}"
    assert response["ETag"] == f'"{large.blob.sha256}"'
    assert response["Cache-Control"] == "no-store"
    assert response.content == b""
    assert revalidated.status_code == 304
    assert store.presence(info)["disk"] == "no"


def test_a_disk_file_is_handed_to_the_edge_with_every_header_to_restore(client, large):
    response = client.get(f"/media/{large.media_hash}", **handing_over())

    blob = large.blob
    assert response.status_code == 200
    assert response.content == b""
    assert response["X-Accel-Redirect"] == f"/_disk/documents/{blob.sha256}.bin"
    assert response["ETag"] == f'"{blob.sha256}"'
    assert response["Cache-Control"] == CACHE_FOREVER
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == f'attachment; filename="{blob.sha256[:16]}.bin"'
    assert (response["X-Cache"], response["X-Cache-Tier"]) == ("HIT", "disk")
    assert "Content-Length" not in response or response["Content-Length"] == "0"


@pytest.mark.parametrize("secret", [None, "", "0" * 40], ids=["absent", "empty", "wrong"])
def test_without_the_edge_secret_nobody_gets_a_hand_over(client, large, secret):
    headers = {} if secret is None else {"HTTP_X_MEDIACACHE_EDGE": secret}

    response = client.get(f"/media/{large.media_hash}", HTTP_X_MEDIACACHE_HANDOVER="1", **headers)

    assert response.status_code == 200
    assert "X-Accel-Redirect" not in response
    assert len(b"".join(response.streaming_content)) == 100_000


def test_the_secret_follows_the_secret_key(settings):
    first = edge_secret()
    settings.SECRET_KEY = "another-secret-key"

    assert edge_secret() != first
    assert len(first) == 40


def test_the_hand_over_can_be_switched_off(client, large, settings):
    settings.MEDIA_ACCEL_REDIRECT = False

    response = client.get(f"/media/{large.media_hash}", **handing_over())

    assert "X-Accel-Redirect" not in response
    assert len(b"".join(response.streaming_content)) == 100_000


def test_the_clients_own_conditionals_decide_a_hand_over(client, large):
    etag = f'"{large.blob.sha256}"'

    not_modified = client.get(f"/media/{large.media_hash}", **handing_over(HTTP_IF_NONE_MATCH=etag))
    unsatisfiable = client.get(f"/media/{large.media_hash}", **handing_over(HTTP_RANGE="bytes=200000-"))
    failed = client.get(f"/media/{large.media_hash}", **handing_over(HTTP_IF_MATCH='"other"'))

    assert not_modified.status_code == 304
    assert (unsatisfiable.status_code, unsatisfiable["Content-Range"]) == (416, "bytes */100000")
    assert failed.status_code == 412


def test_if_match_is_answered_by_the_app_itself_not_handed_over(client, large):
    # nginx would refuse a matching If-Match without its own ETag: the app sends the range
    etag = f'"{large.blob.sha256}"'

    response = client.get(f"/media/{large.media_hash}", **handing_over(HTTP_IF_MATCH=etag, HTTP_RANGE="bytes=0-9"))

    assert "X-Accel-Redirect" not in response
    assert response.status_code == 206
    assert response["Content-Range"] == "bytes 0-9/100000"
    assert len(b"".join(response.streaming_content)) == 10


def test_a_head_the_edge_does_not_store_uses_the_clients_own_conditionals(client, small):
    etag = f'"{small.blob.sha256}"'

    response = client.head(f"/media/{small.media_hash}", **through_edge(HTTP_X_CLIENT_IF_NONE_MATCH=etag))

    assert response.status_code == 304


def test_what_the_edge_keeps_is_sent_whole_whatever_the_client_asked(client, small):
    # nginx cuts the Range from its cached copy; the app must give it the whole object
    response = client.get(f"/media/{small.media_hash}", **through_edge(HTTP_X_CLIENT_RANGE="bytes=0-9"))

    assert response.status_code == 200
    assert len(response.content) == 5000


def test_the_edge_revalidating_gets_a_304_and_sees_a_deletion_at_once(client, small):
    etag = f'"{small.blob.sha256}"'
    path = f"/media/{small.media_hash}"
    assert client.get(path).status_code == 200  # the token is now in this worker's memory

    revalidated = client.get(path, **through_edge(HTTP_IF_NONE_MATCH=etag))
    small.delete()  # as another worker would: this worker's token map still holds it
    after_delete = client.get(path, **through_edge(HTTP_IF_NONE_MATCH=etag))

    assert revalidated.status_code == 304
    assert after_delete.status_code == 404


def test_a_client_sending_x_client_headers_directly_is_ignored(client, small):
    response = client.get(f"/media/{small.media_hash}", HTTP_X_CLIENT_RANGE="bytes=0-9")

    assert response.status_code == 200
    assert len(response.content) == 5000


def test_every_media_answer_carries_the_content_security_policy(client, small):
    path = f"/media/{small.media_hash}"
    answers = [
        client.get(path),
        client.head(path),
        client.get(path, HTTP_IF_NONE_MATCH=f'"{small.blob.sha256}"'),
        client.get(path, HTTP_RANGE="bytes=99999-"),
        client.get(f"/media/{'0' * 32}"),
        client.post(path),
        client.get("/media/not-a-token"),
    ]

    assert [a.status_code for a in answers] == [200, 200, 304, 416, 404, 405, 404]
    assert {a["Content-Security-Policy"] for a in answers} == {CONTENT_SECURITY_POLICY}
