"""The origin tier: S3 over HTTP (moto's server) and a folder, behind one interface.

"Not found" is a value (None); an unreachable or misconfigured origin is OriginUnavailable.
"""

from __future__ import annotations

import time

import pytest

from media_store.exceptions import OriginUnavailable
from media_store.tiers.folder import FilesystemOrigin
from media_store.tiers.s3 import S3Origin
from tests.support.media import random_bytes


def s3_origin(endpoint: str, bucket: str, timeout: float = 10.0) -> S3Origin:
    return S3Origin(
        bucket=bucket,
        endpoint_url=endpoint,
        region="us-east-1",
        access_key="testing",
        secret_key="testing",
        timeout=timeout,
    )


@pytest.fixture(params=["s3", "filesystem"])
def origin(request, s3_server, bucket, tmp_path):
    if request.param == "s3":
        return s3_origin(s3_server.endpoint, bucket)
    (tmp_path / "origin").mkdir(exist_ok=True)  # `migrate` creates it in a real installation
    return FilesystemOrigin(tmp_path / "origin")


@pytest.fixture
def prefix(settings) -> str:
    return settings.MEDIA_S3_PREFIX  # unique per test


@pytest.fixture
def stored(origin, prefix, tmp_path):
    """One object (1.5 MiB: more than one read chunk) put through the origin's own ``put``."""
    data = random_bytes(1024 * 1024 + 512 * 1024)
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    key = f"{prefix}ab/object"
    origin.put(key, source, "video/mp4", {"sha256": "ab" * 32})
    return key, data


def read_stream(stream) -> bytes:
    try:
        return b"".join(stream)
    finally:
        stream.close()


# -- the shared surface --------------------------------------------------------------------------


def test_head_returns_the_size_of_a_stored_object(origin, stored):
    key, data = stored
    assert origin.head(key) == len(data)


def test_get_returns_the_whole_object(origin, stored):
    key, data = stored
    assert origin.get(key) == data


def test_open_streams_the_whole_object_in_chunks(origin, stored):
    key, data = stored
    stream = origin.open(key)
    chunks = list(stream)
    stream.close()

    assert b"".join(chunks) == data
    assert len(chunks) >= 2
    assert max(len(chunk) for chunk in chunks) <= 1024 * 1024


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, 0, slice(0, 1)),
        (10, 19, slice(10, 20)),
        (1024 * 1024 - 5, 1024 * 1024 + 5, slice(1024 * 1024 - 5, 1024 * 1024 + 6)),
        (1024 * 1024 + 512 * 1024 - 3, None, slice(1024 * 1024 + 512 * 1024 - 3, None)),
        (100, None, slice(100, None)),
    ],
)
def test_open_with_a_range_streams_exactly_those_bytes(origin, stored, start, end, expected):
    key, data = stored
    assert read_stream(origin.open(key, start, end)) == data[expected]


def test_a_missing_key_is_none_everywhere(origin, prefix):
    key = f"{prefix}zz/missing"

    assert origin.head(key) is None
    assert origin.get(key) is None
    assert origin.open(key) is None
    assert origin.open(key, 0, 10) is None


def test_delete_removes_the_object_and_tolerates_a_missing_one(origin, stored):
    key, _data = stored

    origin.delete(key)
    origin.delete(key)

    assert origin.head(key) is None
    assert origin.get(key) is None


def test_put_replaces_an_existing_object(origin, stored, tmp_path):
    key, _data = stored
    replacement = tmp_path / "replacement.bin"
    replacement.write_bytes(b"new content")

    origin.put(key, replacement, "application/octet-stream")

    assert origin.get(key) == b"new content"


def test_iter_objects_lists_keys_and_sizes_under_a_prefix(origin, prefix, tmp_path):
    source = tmp_path / "small.bin"
    for name, size in [("aa/one", 10), ("bb/two", 20), ("bb/three", 30)]:
        source.write_bytes(b"x" * size)
        origin.put(f"{prefix}{name}", source, "application/octet-stream")
    source.write_bytes(b"elsewhere")
    origin.put(f"other-{prefix}aa/four", source, "application/octet-stream")

    listed = sorted(origin.iter_objects(prefix))

    assert [(item.key, item.size) for item in listed] == [
        (f"{prefix}aa/one", 10),
        (f"{prefix}bb/three", 30),
        (f"{prefix}bb/two", 20),
    ]
    assert all(abs(item.modified - time.time()) < 120 for item in listed)


def test_iter_objects_of_an_empty_prefix_is_empty(origin, prefix):
    assert list(origin.iter_objects(f"{prefix}nothing-here/")) == []


def test_ping_succeeds_on_a_working_origin(origin):
    assert origin.ping() is None


# -- S3 specifics --------------------------------------------------------------------------------


def test_s3_put_sets_content_type_and_metadata(s3_server, s3_client, prefix, tmp_path, bucket):
    origin = s3_origin(s3_server.endpoint, bucket)
    source = tmp_path / "voice.ogg"
    source.write_bytes(b"OggS" + random_bytes(100))
    key = f"{prefix}cd/voice"

    origin.put(key, source, "audio/ogg", {"sha256": "cd" * 32})

    head = s3_client.head_object(Bucket=bucket, Key=key)
    assert head["ContentType"] == "audio/ogg"
    assert head["Metadata"] == {"sha256": "cd" * 32}
    assert head["ContentLength"] == 104


def test_s3_ping_on_a_missing_bucket_raises_origin_unavailable(s3_server):
    origin = s3_origin(s3_server.endpoint, "no-such-bucket")

    with pytest.raises(OriginUnavailable, match="no-such-bucket"):
        origin.ping()


def test_s3_get_and_list_on_a_missing_bucket_raise_origin_unavailable(s3_server, prefix):
    origin = s3_origin(s3_server.endpoint, "no-such-bucket")

    with pytest.raises(OriginUnavailable):
        origin.get(f"{prefix}ab/object")
    with pytest.raises(OriginUnavailable):
        origin.open(f"{prefix}ab/object", 0, 9)
    with pytest.raises(OriginUnavailable):
        list(origin.iter_objects(prefix))


def test_s3_head_on_a_missing_bucket_is_an_outage_not_a_missing_object(s3_server, prefix):
    """A wrong or deleted bucket must not look like "every object was deleted": HEAD /media/…
    would answer 404 and mark every blob expired instead of answering 503."""
    origin = s3_origin(s3_server.endpoint, "no-such-bucket")

    with pytest.raises(OriginUnavailable):
        origin.head(f"{prefix}ab/object")


def test_s3_put_to_a_missing_bucket_raises_origin_unavailable(s3_server, prefix, tmp_path):
    origin = s3_origin(s3_server.endpoint, "no-such-bucket")
    source = tmp_path / "x.bin"
    source.write_bytes(b"x")

    with pytest.raises(OriginUnavailable):
        origin.put(f"{prefix}ab/x", source, "application/octet-stream")


def test_s3_on_a_closed_port_raises_origin_unavailable_quickly(closed_port, prefix, tmp_path):
    origin = s3_origin(f"http://127.0.0.1:{closed_port}", "mediacache-test", timeout=1)
    source = tmp_path / "x.bin"
    source.write_bytes(b"x")
    key = f"{prefix}ab/x"
    calls = [
        origin.ping,
        lambda: origin.head(key),
        lambda: origin.get(key),
        lambda: origin.open(key, 0, 1),
        lambda: origin.put(key, source, "application/octet-stream"),
        lambda: origin.delete(key),
        lambda: list(origin.iter_objects(prefix)),
    ]

    for call in calls:
        started = time.monotonic()
        with pytest.raises(OriginUnavailable):
            call()
        assert time.monotonic() - started < 5


# -- filesystem specifics ------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["../escaped", "chat/../../escaped", "/etc/passwd", "ab/../../../x"])
def test_a_filesystem_key_escaping_the_root_is_refused(tmp_path, key):
    origin = FilesystemOrigin(tmp_path / "origin")
    source = tmp_path / "x.bin"
    source.write_bytes(b"x")

    for call in (
        lambda: origin.head(key),
        lambda: origin.get(key),
        lambda: origin.open(key),
        lambda: origin.put(key, source, "application/octet-stream"),
        lambda: origin.delete(key),
    ):
        with pytest.raises(ValueError, match="escapes the origin folder"):
            call()
    assert not (tmp_path / "escaped").exists()


def test_a_filesystem_put_leaves_no_temp_file_behind(tmp_path):
    origin = FilesystemOrigin(tmp_path / "origin")
    source = tmp_path / "x.bin"
    source.write_bytes(b"content")

    origin.put("chat/ab/object", source, "application/octet-stream")

    assert sorted(path.name for path in (tmp_path / "origin" / "chat" / "ab").iterdir()) == ["object"]
    assert [(item.key, item.size) for item in origin.iter_objects("chat/")] == [("chat/ab/object", 7)]


def test_a_filesystem_origin_rooted_at_a_file_is_unavailable(tmp_path):
    root = tmp_path / "not-a-folder"
    root.write_bytes(b"a file")
    origin = FilesystemOrigin(root)
    source = tmp_path / "x.bin"
    source.write_bytes(b"x")

    with pytest.raises(OriginUnavailable):
        origin.ping()
    with pytest.raises(OriginUnavailable):
        origin.put("chat/ab/x", source, "application/octet-stream")
    with pytest.raises(OriginUnavailable):
        origin.head("chat/ab/x")


def test_a_missing_filesystem_root_is_an_outage_not_missing_content(tmp_path):
    """An unmounted volume must not look like expired content (which would be marked so)."""
    origin = FilesystemOrigin(tmp_path / "unmounted")

    for check in (origin.ping, lambda: origin.head("chat/ab/x"), lambda: origin.get("chat/ab/x")):
        with pytest.raises(OriginUnavailable, match="missing"):
            check()
    with pytest.raises(OriginUnavailable, match="missing"):
        origin.open("chat/ab/x")
    assert not (tmp_path / "unmounted").exists()  # a health check never creates it
