"""Ingest into the real store: one Blob row and one S3 object per SHA-256, nothing left on failure."""

from __future__ import annotations

import hashlib
import threading

import pytest
from django.db import connection

from media_store import runtime
from media_store.exceptions import OriginUnavailable, PayloadTooLarge, RejectedMedia
from media_store.ingest.commit import mark_expired, new_staged_file, store_file, store_staged
from media_store.models import Blob
from tests.support.media import jpeg_bytes, mp4_bytes, ogg_opus_bytes, pdf_bytes, png_bytes, random_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def write(tmp_path):
    """Write bytes to a file under tmp_path and return its path."""

    def write_file(data: bytes, name: str = "upload.bin"):
        path = tmp_path / "incoming" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    return write_file


@pytest.fixture
def origin_keys(s3_client, settings, bucket):
    """Every object key under this test's S3 prefix, read with a plain S3 client."""

    def list_keys() -> list[str]:
        response = s3_client.list_objects_v2(Bucket=bucket, Prefix=settings.MEDIA_S3_PREFIX)
        return sorted(item["Key"] for item in response.get("Contents", []))

    return list_keys


@pytest.fixture
def cached_files(cache_dir):
    """Files in the disk tier outside its temp folder."""

    def list_cached() -> list[str]:
        if not cache_dir.exists():
            return []
        return sorted(
            str(path.relative_to(cache_dir))
            for path in cache_dir.rglob("*")
            if path.is_file() and ".tmp" not in path.relative_to(cache_dir).parts
        )

    return list_cached


# -- what a stored blob records ------------------------------------------------------------------


def test_storing_an_image_records_its_digests_type_and_dimensions(write, settings):
    data = png_bytes(width=64, height=48)
    sha256 = hashlib.sha256(data).hexdigest()

    blob, created = store_file(write(data, "photo.png"))

    assert created is True
    assert blob.sha256 == sha256
    assert blob.md5 == hashlib.md5(data).hexdigest()
    assert blob.size == len(data)
    assert (blob.mime_type, blob.media_type, blob.extension) == ("image/png", "image", ".png")
    assert (blob.width, blob.height) == (64, 48)
    assert blob.origin_key == f"{settings.MEDIA_S3_PREFIX}{sha256[:2]}/{sha256}"
    assert blob.expired_at is None
    assert Blob.objects.get(pk=sha256).info() == blob.info()


@pytest.mark.parametrize(
    ("make", "name", "expected"),
    [
        (jpeg_bytes, "photo.jpg", ("image/jpeg", "image", ".jpg")),
        (ogg_opus_bytes, "voice.ogg", ("audio/ogg", "audio", ".ogg")),
        (mp4_bytes, "clip.mp4", ("video/mp4", "video", ".mp4")),
        (pdf_bytes, "invoice.pdf", ("application/pdf", "document", ".pdf")),
    ],
)
def test_the_type_comes_from_the_bytes(write, make, name, expected):
    blob, _created = store_file(write(make(), name))

    assert (blob.mime_type, blob.media_type, blob.extension) == expected


def test_the_bytes_win_over_a_lying_name_and_declared_type(write):
    blob, _created = store_file(write(png_bytes(), "song.mp3"), declared_type="audio/mpeg")

    assert (blob.mime_type, blob.media_type, blob.extension) == ("image/png", "image", ".png")


def test_a_declared_type_refines_generic_bytes(write):
    blob, _created = store_file(write(random_bytes(500), "blob"), declared_type="audio/ogg")

    assert (blob.mime_type, blob.media_type, blob.extension) == ("audio/ogg", "audio", ".ogg")
    assert (blob.width, blob.height) == (None, None)


def test_the_object_lands_in_the_origin_with_its_content_type(write, s3_client, bucket):
    data = png_bytes()

    blob, _created = store_file(write(data, "photo.png"))

    head = s3_client.head_object(Bucket=bucket, Key=blob.origin_key)
    assert head["ContentType"] == "image/png"
    assert head["ContentLength"] == len(data)
    assert head["Metadata"] == {"sha256": blob.sha256}
    assert s3_client.get_object(Bucket=bucket, Key=blob.origin_key)["Body"].read() == data


def test_ingest_warms_the_disk_tier_and_leaves_no_temp_file(write, temp_files, cache_dir):
    data = ogg_opus_bytes()

    blob, _created = store_file(write(data, "voice.ogg"))

    assert (cache_dir / "audio" / f"{blob.sha256}.ogg").read_bytes() == data
    assert temp_files() == []
    assert runtime.get_store().fetch(blob.info()).tier == "disk"


def test_the_source_file_is_left_in_place(write):
    data = pdf_bytes()
    path = write(data, "invoice.pdf")

    store_file(path)

    assert path.read_bytes() == data


def test_a_staged_stream_is_stored_and_adopted_by_the_disk_tier(temp_files, cache_dir):
    data = mp4_bytes(payload=300_000)

    with new_staged_file() as staged:
        for start in range(0, len(data), 65536):
            staged.write(data[start : start + 65536])
        blob, created = store_staged(staged, filename="clip.mp4")
        assert staged.path is None  # moved into the disk tier, not copied

    assert created is True
    assert (blob.mime_type, blob.size) == ("video/mp4", len(data))
    assert (cache_dir / "videos" / f"{blob.sha256}.mp4").read_bytes() == data
    assert temp_files() == []


# -- dedup ---------------------------------------------------------------------------------------


def test_the_same_bytes_twice_make_one_blob_and_one_object(write, origin_keys):
    data = png_bytes(color=(1, 2, 3))

    first, first_created = store_file(write(data, "a.png"))
    second, second_created = store_file(write(data, "b.png"))

    assert (first_created, second_created) == (True, False)
    assert second.sha256 == first.sha256
    assert Blob.objects.count() == 1
    assert origin_keys() == [first.origin_key]


def test_a_dedup_hit_does_not_upload_again(write, s3_server, temp_files):
    data = png_bytes(color=(4, 5, 6))
    blob, _created = store_file(write(data, "a.png"))

    s3_server.start_recording()
    _again, created = store_file(write(data, "b.png"))
    entries = s3_server.stop_recording()

    assert created is False
    assert [entry["method"] for entry in entries if blob.origin_key in entry["url"]] == ["HEAD"]
    assert temp_files() == []


def test_a_dedup_hit_restores_an_object_deleted_from_the_origin(write, s3_client, bucket):
    data = jpeg_bytes()
    blob, _created = store_file(write(data, "a.jpg"))
    s3_client.delete_object(Bucket=bucket, Key=blob.origin_key)

    again, created = store_file(write(data, "b.jpg"))

    assert created is False
    head = s3_client.head_object(Bucket=bucket, Key=blob.origin_key)
    assert (head["ContentLength"], head["ContentType"]) == (len(data), "image/jpeg")
    assert again.expired_at is None


def test_a_dedup_hit_on_an_expired_blob_reuploads_and_clears_expired_at(write, s3_client, bucket):
    data = ogg_opus_bytes()
    blob, _created = store_file(write(data, "a.ogg"))
    s3_client.delete_object(Bucket=bucket, Key=blob.origin_key)
    mark_expired(blob.sha256)
    blob.refresh_from_db()
    assert blob.expired_at is not None

    _again, created = store_file(write(data, "b.ogg"))

    blob.refresh_from_db()
    assert created is False
    assert blob.expired_at is None
    assert s3_client.get_object(Bucket=bucket, Key=blob.origin_key)["Body"].read() == data


def test_a_dedup_hit_rewarms_a_disk_tier_that_lost_the_file(write, cache_dir, temp_files):
    data = png_bytes(color=(7, 8, 9))
    blob, _created = store_file(write(data, "a.png"))
    runtime.get_store().evict(blob.info())

    store_file(write(data, "b.png"))

    assert (cache_dir / blob.info().disk_name).read_bytes() == data
    assert temp_files() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_ingests_of_the_same_bytes_make_one_blob(write, origin_keys):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        # Threads share an in-memory test database through SQLite's shared cache, whose table
        # locks fail at once ("database table is locked") instead of waiting: not what a
        # file database (WAL, BEGIN IMMEDIATE, busy timeout) or PostgreSQL does.
        pytest.skip("needs a database that queues concurrent writers (PostgreSQL or a file)")
    data = mp4_bytes(payload=50_000)
    paths = [write(data, f"copy-{n}.mp4") for n in range(5)]
    outcomes: list[bool] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(paths))

    def ingest(path) -> None:
        try:
            barrier.wait(10)
            _blob, created = store_file(path)
            outcomes.append(created)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()  # this thread's own connection; the test database must be droppable

    threads = [threading.Thread(target=ingest, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert sorted(outcomes) == [False, False, False, False, True]
    assert Blob.objects.count() == 1
    assert len(origin_keys()) == 1


# -- refusals leave nothing behind ---------------------------------------------------------------


def test_empty_content_is_rejected_and_nothing_is_stored(write, temp_files, origin_keys):
    with pytest.raises(RejectedMedia, match="empty"):
        store_file(write(b"", "empty.bin"))

    assert Blob.objects.count() == 0
    assert temp_files() == []
    assert origin_keys() == []


def test_content_over_the_upload_limit_is_refused_while_streaming(write, settings, temp_files, origin_keys):
    settings.UPLOAD_MAX_BYTES = 1000

    with pytest.raises(PayloadTooLarge):
        store_file(write(random_bytes(1001), "big.bin"))

    assert Blob.objects.count() == 0
    assert temp_files() == []
    assert origin_keys() == []


def test_content_exactly_at_the_upload_limit_is_accepted(write, settings):
    settings.UPLOAD_MAX_BYTES = 1000

    blob, created = store_file(write(random_bytes(1000), "edge.bin"))

    assert (created, blob.size) == (True, 1000)


def test_a_staged_file_over_its_cap_removes_itself(temp_files):
    staged = new_staged_file(max_bytes=10)
    staged.write(b"12345")

    with pytest.raises(PayloadTooLarge):
        staged.write(b"678901")

    assert staged.path is None
    assert temp_files() == []


def test_a_decompression_bomb_is_refused(write, settings, temp_files, origin_keys):
    settings.MEDIA_MAX_IMAGE_PIXELS = 1000

    with pytest.raises(RejectedMedia, match="decompression bomb"):
        store_file(write(png_bytes(width=64, height=48), "bomb.png"))

    assert Blob.objects.count() == 0
    assert temp_files() == []
    assert origin_keys() == []


def test_an_image_at_the_pixel_limit_is_accepted(write, settings):
    settings.MEDIA_MAX_IMAGE_PIXELS = 64 * 48

    blob, _created = store_file(write(png_bytes(width=64, height=48), "ok.png"))

    assert (blob.width, blob.height) == (64, 48)


def test_an_unreachable_origin_fails_the_ingest_and_leaves_no_row(
    write, settings, closed_port, temp_files, cached_files
):
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{closed_port}"
    settings.MEDIA_ORIGIN_TIMEOUT = 1.0

    with pytest.raises(OriginUnavailable):
        store_file(write(png_bytes(), "photo.png"))

    assert Blob.objects.count() == 0
    assert temp_files() == []
    assert cached_files() == []


def test_an_origin_refusing_the_upload_fails_the_ingest_and_leaves_no_row(write, settings, temp_files, cached_files):
    settings.AWS_STORAGE_BUCKET_NAME = "no-such-bucket"

    with pytest.raises(OriginUnavailable):
        store_file(write(png_bytes(), "photo.png"))

    assert Blob.objects.count() == 0
    assert temp_files() == []
    assert cached_files() == []


def test_after_a_failed_ingest_the_same_bytes_can_be_stored(write, settings, closed_port, s3_server, origin_keys):
    data = ogg_opus_bytes()
    working_endpoint = settings.AWS_S3_ENDPOINT_URL
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{closed_port}"
    with pytest.raises(OriginUnavailable):
        store_file(write(data, "voice.ogg"))

    settings.AWS_S3_ENDPOINT_URL = working_endpoint
    blob, created = store_file(write(data, "voice.ogg"))

    assert created is True
    assert origin_keys() == [blob.origin_key]
