"""Issue 11, items 3-5: the origin upload runs outside the database transaction; a dedup hit
restarts an aging object's expiry; the orphan sweep cannot delete content an ingest claims.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections

from media_store import runtime
from media_store.ingest.commit import committing, new_staged_file, store_file
from media_store.models import Blob
from media_store.ops.cleanup import CleanupReport, delete_orphans
from media_store.ops.lifecycle import apply_expiration, expiry_date
from tests.support.media import random_bytes


def staged_of(data: bytes):
    staged = new_staged_file()
    staged.write_all([data])
    return staged


def age_origin_file(settings, key: str, days: float) -> None:
    past = time.time() - days * 86400
    os.utime(settings.MEDIA_ORIGIN_DIR / key, (past, past))


# -- item 3: a deduplicated upload does not inherit an old object's expiry ---------------------


@pytest.mark.django_db
def test_a_dedup_hit_on_aging_content_restarts_its_expiry_under_the_buckets_rule(ingest, reuse_when_aging):
    apply_expiration(days=30)
    data = random_bytes(4096)
    blob = ingest(data)

    reuse = reuse_when_aging(blob, lambda: ingest(data))

    again = reuse.answer
    assert again.pk == blob.pk
    assert reuse.days == 30
    assert reuse.second >= reuse.reused_at > reuse.first
    assert expiry_date(reuse.second, reuse.days) == expiry_date(reuse.reused_at, 30)
    assert expiry_date(reuse.second, reuse.days) - reuse.reused_at > timedelta(days=29)


@pytest.mark.django_db
def test_a_dedup_hit_on_fresh_content_copies_nothing(ingest, s3_client, bucket):
    data = random_bytes(4096)
    blob = ingest(data)
    first = s3_client.head_object(Bucket=bucket, Key=blob.origin_key)
    time.sleep(1.1)

    ingest(data)

    second = s3_client.head_object(Bucket=bucket, Key=blob.origin_key)
    assert second["LastModified"] == first["LastModified"]
    assert second["Metadata"] == first["Metadata"] == {"sha256": blob.sha256}


def test_expiry_is_rounded_up_to_the_next_midnight_utc():
    written = datetime(2026, 1, 1, 15, 30, tzinfo=UTC)

    assert expiry_date(written, 30) == datetime(2026, 2, 1, tzinfo=UTC)
    assert expiry_date(datetime(2026, 1, 1, tzinfo=UTC), 1) == datetime(2026, 1, 2, tzinfo=UTC)


# -- item 4: the upload happens outside the database transaction -------------------------------


class PausedPut:
    """Wraps the real origin's ``put``: holds it open until released, as a slow S3 PUT would."""

    def __init__(self, origin) -> None:
        self.real = origin.put
        self.started = threading.Event()
        self.release = threading.Event()
        self.in_transaction: bool | None = None

    def __call__(self, *args, **kwargs):
        self.in_transaction = connection.in_atomic_block
        self.started.set()
        assert self.release.wait(20)
        return self.real(*args, **kwargs)


@pytest.mark.django_db(transaction=True)
def test_other_writers_are_not_blocked_while_an_upload_runs(settings, tmp_path):
    store = runtime.get_store()
    paused = store.origin.put = PausedPut(store.origin)
    source = tmp_path / "upload.bin"
    source.write_bytes(data := random_bytes(64 * 1024))
    results: list = []

    def upload() -> None:
        try:
            results.append(store_file(source)[0])
        finally:
            connections.close_all()

    worker = threading.Thread(target=upload)
    worker.start()
    try:
        assert paused.started.wait(20)
        # another writer, meanwhile: on SQLite it would find the database locked, on PostgreSQL
        # the uploader's connection would sit "idle in transaction"
        other = Blob.objects.create(
            sha256="f" * 64,
            md5="0" * 32,
            size=1,
            mime_type="x/y",
            media_type="document",
            extension=".bin",
            origin_key="elsewhere",
        )
        idle_in_transaction = _idle_in_transaction_connections()
    finally:
        paused.release.set()
        worker.join(30)

    assert paused.in_transaction is False
    assert idle_in_transaction == 0
    assert other.pk == "f" * 64
    assert results[0].size == len(data)
    assert store.origin.head(results[0].origin_key) == len(data)


def _idle_in_transaction_connections() -> int:
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = %s",
            ["idle in transaction"],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_failure_after_the_upload_leaves_an_object_the_sweep_removes_never_a_row(settings):
    settings.MEDIA_STORAGE = "filesystem"
    data = random_bytes(8192)
    seen: list = []

    def attach_fails() -> None:
        with committing(staged_of(data)) as result:
            seen.append(result)
            raise RuntimeError("attachment failed")

    with pytest.raises(RuntimeError, match="attachment failed"):
        attach_fails()
    blob, created = seen[0]
    assert created is True

    store = runtime.get_store()
    assert not Blob.objects.filter(pk=blob.pk).exists()
    assert store.origin.head(blob.origin_key) == len(data)

    age_origin_file(settings, blob.origin_key, days=2)
    report = CleanupReport()
    delete_orphans(report, dry_run=False)

    assert report.orphans == [blob.origin_key]
    assert store.origin.head(blob.origin_key) is None


# -- item 5: the orphan sweep cannot delete live content --------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_ingest_racing_the_orphan_sweep_keeps_its_object(settings):
    settings.MEDIA_STORAGE = "filesystem"
    data = random_bytes(8192)
    with pytest.raises(RuntimeError), committing(staged_of(data)) as (blob, _created):
        raise RuntimeError("crash after the upload")  # an old orphan object of these very bytes
    age_origin_file(settings, blob.origin_key, days=2)
    store = runtime.get_store()
    real_delete = store.origin.delete
    racing: list[threading.Thread] = []

    def delete_while_an_ingest_starts(key: str) -> None:
        # the sweep has listed the object and found no row; now the same bytes arrive
        def ingest_again() -> None:
            try:
                with committing(staged_of(data)):
                    pass
            finally:
                connections.close_all()

        racing.append(threading.Thread(target=ingest_again))
        racing[0].start()
        racing[0].join(1.0)  # without the lock the ingest completes here, before our delete
        real_delete(key)

    store.origin.delete = delete_while_an_ingest_starts
    report = CleanupReport()
    delete_orphans(report, dry_run=False)
    racing[0].join(30)

    assert Blob.objects.filter(pk=blob.pk).exists()
    assert store.origin.head(blob.origin_key) == len(data)


@pytest.mark.django_db
def test_the_sweep_looks_rows_up_by_digest_with_one_indexed_query_per_batch(settings, django_assert_num_queries):
    settings.MEDIA_STORAGE = "filesystem"
    keys = []
    for _ in range(3):
        blob = Blob.objects.get(pk=store_file_bytes(settings, random_bytes(2048)))
        age_origin_file(settings, blob.origin_key, days=2)
        keys.append(blob.origin_key)

    with django_assert_num_queries(2) as queries:  # unreferenced blobs (none old), then one batch lookup
        delete_orphans(CleanupReport(), dry_run=True)

    assert '"media_store_blob"."sha256" IN' in queries.captured_queries[-1]["sql"]
    assert all(runtime.get_store().origin.head(key) for key in keys)


def store_file_bytes(settings, data: bytes) -> str:
    path = settings.MEDIA_ORIGIN_DIR.parent / f"src-{len(os.listdir(settings.MEDIA_ORIGIN_DIR.parent))}"
    path.write_bytes(data)
    return store_file(path)[0].pk
