"""``manage.py verify_media [DIGEST] [--repair]`` and ``media_store.ops.verify`` on real tiers.

Copies are damaged behind the engine's back — a disk file overwritten, a Redis value replaced,
an S3 object deleted or rewritten with a plain S3 client — and the command must find each,
repair it from a good copy, and then report everything ok.
"""

from __future__ import annotations

import copy
import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from media_store.exceptions import OriginUnavailable
from media_store.models import Blob
from media_store.ops.verify import CORRUPT, MISSING, OK, UNAVAILABLE, verify_blob
from mediacache_project.services import caches_for
from tests.support.media import jpeg_bytes, mp4_bytes, ogg_opus_bytes, pdf_bytes, png_bytes, random_bytes

pytestmark = pytest.mark.django_db


def verify(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("verify_media", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def verify_failing(*args: str) -> tuple[str, CommandError]:
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("verify_media", *args, stdout=out, stderr=StringIO())
    return out.getvalue(), raised.value


def hot_key(settings, sha256: str) -> str:
    return f"{settings.MEDIA_REDIS_KEY_PREFIX}:blob:{{{sha256}}}"


def flipped(data: bytes) -> bytes:
    """Same length, different bytes (a size check alone cannot see it)."""
    return bytes([data[0] ^ 0xFF]) + data[1:]


@pytest.fixture
def three(ingest, store):
    """Three blobs, each with a good origin copy, a good disk copy and a good hot copy."""
    blobs = [ingest(png_bytes(), "a.png"), ingest(ogg_opus_bytes(), "b.ogg"), ingest(pdf_bytes(), "c.pdf")]
    for blob in blobs:
        store.fetch(blob.info())  # a disk hit promotes the object into Redis
    return sorted(blobs, key=lambda blob: blob.sha256)


def read_origin(s3_client, bucket, blob) -> bytes:
    return s3_client.get_object(Bucket=bucket, Key=blob.origin_key)["Body"].read()


def test_good_copies_are_reported_ok(three):
    out, err = verify()

    assert out.splitlines() == [f"{blob.sha256}  origin=ok disk=ok hot=ok" for blob in three] + [
        "3 blobs checked: 3 good, 0 with bad copies; 0 copies repaired, 0 bad copies remaining"
    ]
    assert err == ""


def test_corrupt_and_missing_copies_are_found_then_repaired(three, store, raw_redis, settings, s3_client, bucket):
    disk_bad, hot_bad, origin_gone = three
    disk_path = store.disk.path(disk_bad.info())
    good_disk_bytes = disk_path.read_bytes()
    disk_path.write_bytes(flipped(good_disk_bytes))
    good_hot_bytes = raw_redis.get(hot_key(settings, hot_bad.sha256))
    raw_redis.set(hot_key(settings, hot_bad.sha256), flipped(good_hot_bytes))
    good_origin_bytes = read_origin(s3_client, bucket, origin_gone)
    s3_client.delete_object(Bucket=bucket, Key=origin_gone.origin_key)

    out, error = verify_failing()

    assert out.splitlines() == [
        f"{disk_bad.sha256}  origin=ok disk=corrupt hot=ok",
        f"{hot_bad.sha256}  origin=ok disk=ok hot=corrupt",
        f"{origin_gone.sha256}  origin=missing disk=ok hot=ok",
        "3 blobs checked: 0 good, 3 with bad copies; 0 copies repaired, 3 bad copies remaining",
    ]
    assert str(error) == "3 bad copies remaining (run with --repair)"
    assert disk_path.read_bytes() == flipped(good_disk_bytes)  # checking changes nothing

    repaired, _err = verify("--repair")

    assert repaired.splitlines() == [
        f"{disk_bad.sha256}  origin=ok disk=corrupt (repaired) hot=ok",
        f"{hot_bad.sha256}  origin=ok disk=ok hot=corrupt (repaired)",
        f"{origin_gone.sha256}  origin=missing (repaired) disk=ok hot=ok",
        "3 blobs checked: 0 good, 3 with bad copies; 3 copies repaired, 0 bad copies remaining",
    ]
    assert disk_path.read_bytes() == good_disk_bytes
    assert raw_redis.get(hot_key(settings, hot_bad.sha256)) == good_hot_bytes
    assert read_origin(s3_client, bucket, origin_gone) == good_origin_bytes

    again, _err = verify()
    assert again.splitlines() == [f"{blob.sha256}  origin=ok disk=ok hot=ok" for blob in three] + [
        "3 blobs checked: 3 good, 0 with bad copies; 0 copies repaired, 0 bad copies remaining"
    ]


def test_a_corrupt_origin_copy_is_replaced_from_the_disk(ingest, store, s3_client, bucket):
    data = jpeg_bytes()
    blob = ingest(data, "photo.jpg")
    s3_client.put_object(Bucket=bucket, Key=blob.origin_key, Body=flipped(data))

    out, _err = verify("--repair", blob.sha256)

    assert out.splitlines()[0] == f"{blob.sha256}  origin=corrupt (repaired) disk=ok hot=missing"
    assert read_origin(s3_client, bucket, blob) == data


def test_an_expired_blob_restored_from_a_cached_copy_is_live_again(ingest, s3_client, bucket):
    blob = ingest(pdf_bytes(), "doc.pdf")
    s3_client.delete_object(Bucket=bucket, Key=blob.origin_key)
    Blob.objects.filter(pk=blob.pk).update(expired_at=timezone.now())

    verify("--repair")

    assert Blob.objects.get(pk=blob.pk).expired_at is None


def test_with_the_origin_gone_a_corrupt_disk_copy_is_rebuilt_from_redis_then_uploaded(
    ingest, store, raw_redis, settings, s3_client, bucket
):
    data = png_bytes(color=(9, 9, 9))
    blob = ingest(data, "x.png")
    store.fetch(blob.info())
    s3_client.delete_object(Bucket=bucket, Key=blob.origin_key)
    store.disk.path(blob.info()).write_bytes(flipped(data))

    out, _err = verify("--repair")

    assert out.splitlines()[0] == f"{blob.sha256}  origin=missing (repaired) disk=corrupt (repaired) hot=ok"
    assert store.disk.path(blob.info()).read_bytes() == data
    assert read_origin(s3_client, bucket, blob) == data


def test_the_origin_is_restored_from_redis_alone(ingest, store, s3_client, bucket):
    data = ogg_opus_bytes()
    blob = ingest(data, "v.ogg")
    store.fetch(blob.info())
    store.disk.delete(blob.info())
    s3_client.delete_object(Bucket=bucket, Key=blob.origin_key)

    out, _err = verify("--repair")

    assert out.splitlines()[0] == f"{blob.sha256}  origin=missing (repaired) disk=missing hot=ok"
    assert read_origin(s3_client, bucket, blob) == data


def test_content_with_no_good_copy_left_is_reported_and_fails(ingest, store, s3_client, bucket):
    blob = ingest(random_bytes(2000), "lost.bin")
    s3_client.delete_object(Bucket=bucket, Key=blob.origin_key)
    store.disk.path(blob.info()).write_bytes(random_bytes(2000))

    out, error = verify_failing("--repair")

    assert out.splitlines() == [
        f"{blob.sha256}  origin=missing disk=corrupt hot=missing",
        "1 blob checked: 0 good, 1 with bad copies; 0 copies repaired, 2 bad copies remaining",
    ]
    assert str(error) == "2 bad copies remaining"


def test_a_missing_cached_copy_is_fine(ingest, store):
    blob = ingest(pdf_bytes(), "doc.pdf")
    store.disk.delete(blob.info())

    out, _err = verify()

    assert out.splitlines()[0] == f"{blob.sha256}  origin=ok disk=missing hot=missing"


def test_objects_too_large_for_the_hot_tier_are_not_looked_up_there(ingest, store, settings, raw_redis):
    settings.MEDIA_REDIS_MAX_OBJECT_BYTES = 1000
    blob = ingest(random_bytes(5000), "big.bin")
    raw_redis.set(hot_key(settings, blob.sha256), b"junk")

    out, _err = verify()

    assert out.splitlines()[0] == f"{blob.sha256}  origin=ok disk=ok hot=missing"


def test_an_unreadable_tier_is_unavailable_and_fails_the_run(ingest, store):
    blob = ingest(jpeg_bytes(), "p.jpg")
    path = store.disk.path(blob.info())
    path.unlink()
    path.mkdir()  # opening it for reading fails with an OS error other than "not found"

    out, error = verify_failing()

    assert out.splitlines()[0] == f"{blob.sha256}  origin=ok disk=unavailable hot=missing"
    assert str(error) == "1 bad copy remaining (run with --repair)"


def test_an_unreachable_origin_and_redis_are_unavailable(ingest, store, settings, redis_servers, closed_port):
    blob = ingest(png_bytes(), "a.png")
    private = redis_servers()
    settings.REDIS_URL = private.url
    settings.CACHES = caches_for(private.url)
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{closed_port}"
    settings.MEDIA_ORIGIN_TIMEOUT = 1.0
    private.stop()

    out, error = verify_failing()

    assert out.splitlines()[0] == f"{blob.sha256}  origin=unavailable disk=ok hot=unavailable"
    assert str(error) == "2 bad copies remaining (run with --repair)"


def test_quiet_verbosity_prints_only_blobs_with_problems(three, store):
    store.disk.delete(three[0].info())
    store.disk.path(three[1].info()).write_bytes(b"x" * three[1].size)

    out, _error = verify_failing("-v", "0")

    assert out.splitlines() == [
        f"{three[1].sha256}  origin=ok disk=corrupt hot=ok",
        "3 blobs checked: 2 good, 1 with bad copies; 0 copies repaired, 1 bad copy remaining",
    ]


def test_one_digest_checks_one_blob(three):
    out, _err = verify(three[1].sha256.upper())

    assert out.splitlines() == [
        f"{three[1].sha256}  origin=ok disk=ok hot=ok",
        "1 blob checked: 1 good, 0 with bad copies; 0 copies repaired, 0 bad copies remaining",
    ]


@pytest.mark.parametrize(
    ("digest", "message"),
    [
        ("abc", "'abc' is not a SHA-256 digest (64 hexadecimal characters)"),
        ("g" * 64, f"'{'g' * 64}' is not a SHA-256 digest (64 hexadecimal characters)"),
        ("0" * 64, f"no stored media with SHA-256 {'0' * 64}"),
    ],
)
def test_a_bad_or_unknown_digest_is_one_clear_error(three, digest, message):
    _out, error = verify_failing(digest)

    assert str(error) == message


def test_the_service_reports_states_before_and_after_repair(ingest, store):
    data = pdf_bytes()
    blob = ingest(data, "d.pdf")
    store.disk.path(blob.info()).write_bytes(flipped(data))

    checked = verify_blob(blob, store)
    repaired = verify_blob(blob, store, repair=True)

    assert (checked.found, checked.states, checked.repaired) == (
        {"origin": OK, "disk": CORRUPT, "hot": MISSING},
        {"origin": OK, "disk": CORRUPT, "hot": MISSING},
        [],
    )
    assert checked.bad_tiers == ["disk"]
    assert (repaired.states, repaired.repaired, repaired.bad_tiers) == (
        {"origin": OK, "disk": OK, "hot": MISSING},
        ["disk"],
        [],
    )
    assert hashlib.sha256(store.disk.path(blob.info()).read_bytes()).hexdigest() == blob.sha256
    assert UNAVAILABLE not in repaired.found.values()


# -- repairs that cannot complete ------------------------------------------------------------------


class ReadOnlyOrigin:
    """The real origin, except that writes fail (a bucket policy denying PutObject)."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def put(self, *args, **kwargs) -> None:
        raise OriginUnavailable("s3 put: AccessDenied")


class ChangedAfterCheck:
    """The real tier, but ``method`` answers ``later(...)`` from its second call on: another
    writer changing the copy between our check and our repair."""

    def __init__(self, inner, method: str, later) -> None:
        self.inner, self.method, self.later, self.calls = inner, method, later, 0

    def __getattr__(self, name: str):
        real = getattr(self.inner, name)
        if name != self.method:
            return real

        def call(*args, **kwargs):
            self.calls += 1
            return real(*args, **kwargs) if self.calls == 1 else self.later(*args, **kwargs)

        return call


def with_tier(store, **tiers):
    changed = copy.copy(store)
    for name, tier in tiers.items():
        setattr(changed, name, tier)
    return changed


def test_without_caching_only_the_origin_is_checked(ingest, settings):
    blob = ingest(pdf_bytes(), "doc.pdf")
    settings.ENABLE_CACHING = False

    out, _err = verify()

    assert out.splitlines()[0] == f"{blob.sha256}  origin=ok disk=missing hot=missing"


def test_with_the_origin_gone_a_corrupt_hot_copy_is_refilled_from_the_disk(
    ingest, store, raw_redis, settings, s3_client, bucket
):
    data = png_bytes(color=(7, 7, 7))
    blob = ingest(data, "x.png")
    store.fetch(blob.info())
    raw_redis.set(hot_key(settings, blob.sha256), flipped(data))
    s3_client.delete_object(Bucket=bucket, Key=blob.origin_key)

    out, _err = verify("--repair")

    assert out.splitlines()[0] == f"{blob.sha256}  origin=missing (repaired) disk=ok hot=corrupt (repaired)"
    assert raw_redis.get(hot_key(settings, blob.sha256)) == data
    assert read_origin(s3_client, bucket, blob) == data


def test_a_corrupt_disk_copy_that_cannot_be_rewritten_is_at_least_removed(ingest, store, cache_dir):
    data = jpeg_bytes()
    blob = ingest(data, "p.jpg")
    store.disk.path(blob.info()).write_bytes(flipped(data))
    (cache_dir / ".tmp").rmdir()
    (cache_dir / ".tmp").write_bytes(b"")  # the disk tier cannot create temp files: a full or broken disk

    out, _err = verify("--repair")

    assert out.splitlines() == [
        f"{blob.sha256}  origin=ok disk=corrupt (now missing) hot=missing",
        "1 blob checked: 0 good, 1 with bad copies; 0 copies repaired, 0 bad copies remaining",
    ]
    assert not store.disk.path(blob.info()).exists()


def test_an_origin_that_refuses_the_upload_leaves_the_copy_missing(ingest, store, s3_client, bucket):
    blob = ingest(pdf_bytes(), "doc.pdf")
    s3_client.delete_object(Bucket=bucket, Key=blob.origin_key)

    report = verify_blob(blob, with_tier(store, origin=ReadOnlyOrigin(store.origin)), repair=True)

    assert (report.states, report.repaired, report.bad_tiers) == (
        {"origin": MISSING, "disk": OK, "hot": MISSING},
        [],
        ["origin"],
    )


def test_an_origin_copy_that_vanishes_before_the_refill_is_not_written_to_disk(ingest, store):
    data = mp4_bytes()
    blob = ingest(data, "clip.mp4")
    store.disk.path(blob.info()).write_bytes(flipped(data))
    vanishing = ChangedAfterCheck(store.origin, "open", lambda *args: None)

    report = verify_blob(blob, with_tier(store, origin=vanishing), repair=True)

    assert report.states["disk"] == MISSING
    assert report.repaired == []
    assert not store.disk.path(blob.info()).exists()


def test_a_hot_copy_changed_before_the_reupload_is_not_uploaded(ingest, store, s3_client, bucket):
    data = ogg_opus_bytes()
    blob = ingest(data, "v.ogg")
    store.fetch(blob.info())
    store.disk.delete(blob.info())
    s3_client.delete_object(Bucket=bucket, Key=blob.origin_key)
    racing = ChangedAfterCheck(store.hot, "get", lambda sha256: flipped(data))

    report = verify_blob(blob, with_tier(store, hot=racing), repair=True)

    assert report.states["origin"] == MISSING
    assert s3_client.list_objects_v2(Bucket=bucket, Prefix=blob.origin_key).get("KeyCount") == 0
