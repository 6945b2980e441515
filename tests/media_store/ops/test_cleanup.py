"""cleanup_media / POST /media/cleanup / the daily Celery task: the disk tier kept in bounds."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from chat.services import attach_file
from media_store import runtime
from media_store.ingest.commit import store_file
from media_store.management.commands.cleanup_media import parse_size
from media_store.models import Blob
from media_store.ops.cleanup import STALE_TEMP_SECONDS, clean_disk, unreferenced_blobs
from tests.support.media import random_bytes

pytestmark = pytest.mark.django_db

DAY = 86400


@pytest.fixture
def cached_file(settings, tmp_path):
    """A factory: put content in the disk tier and set when it was last read."""

    def make(size: int, *, read_days_ago: float, name: str = "f.bin") -> Path:
        source = tmp_path / f"src-{time.monotonic_ns()}-{name}"
        source.write_bytes(random_bytes(size))
        blob, _ = store_file(source)
        path = runtime.get_store().disk.path(blob.info())
        when = time.time() - read_days_ago * DAY
        os.utime(path, (when, when))
        return path

    return make


def test_files_not_read_for_the_age_limit_are_removed_by_last_access(cached_file):
    stale = cached_file(1000, read_days_ago=10)
    fresh = cached_file(2000, read_days_ago=1)
    old_but_read_today = cached_file(3000, read_days_ago=30)
    os.utime(old_but_read_today, (time.time(), time.time() - 30 * DAY))  # atime now, mtime a month ago

    report = clean_disk(days=7)

    assert not stale.exists()
    assert fresh.exists()
    assert old_but_read_today.exists()
    assert (report.removed_files, report.freed_bytes, report.expired_files) == (1, 1000, 1)
    assert (report.kept_files, report.kept_bytes) == (2, 5000)


def test_least_recently_used_files_are_evicted_until_under_the_size_limit(cached_file):
    oldest = cached_file(1000, read_days_ago=3)
    middle = cached_file(1000, read_days_ago=2)
    newest = cached_file(1000, read_days_ago=1)

    report = clean_disk(days=7, max_bytes=1500)

    assert [oldest.exists(), middle.exists(), newest.exists()] == [False, False, True]
    assert (report.evicted_files, report.freed_bytes, report.kept_bytes) == (2, 2000, 1000)


def test_a_file_being_served_is_never_removed(cached_file, settings):
    path = cached_file(1000, read_days_ago=30)
    blob = Blob.objects.get(sha256=path.stem)
    serving = runtime.get_store().disk.open(blob.info())  # what a response holds while it streams
    month_ago = time.time() - 30 * DAY
    os.utime(path, (month_ago, month_ago))  # opening recorded a read; make it look unread again

    try:
        report = clean_disk(days=7)
        still_there = path.exists()
    finally:
        serving.close()
    after = clean_disk(days=7)

    assert still_there
    assert (report.removed_files, report.skipped_in_use) == (0, 1)
    assert after.removed_files == 1
    assert not path.exists()


def test_stale_temp_files_and_empty_folders_go_fresh_temp_files_stay(settings):
    root = Path(settings.MEDIA_CACHE_DIR)
    temp = root / ".tmp"
    temp.mkdir(parents=True)
    stale, fresh = temp / "fill-old", temp / "fill-new"
    stale.write_bytes(b"x" * 10)
    fresh.write_bytes(b"y" * 10)
    old = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))
    (root / "images" / "leftover" / "deeper").mkdir(parents=True)

    report = clean_disk()

    assert (stale.exists(), fresh.exists()) == (False, True)
    assert report.temp_files == 1
    assert report.empty_folders == 2
    assert (root / "images").is_dir()  # the type folders themselves stay


def test_dry_run_reports_without_removing(cached_file):
    path = cached_file(1000, read_days_ago=30)

    report = clean_disk(days=7, dry_run=True)

    assert path.exists()
    assert (report.removed_files, report.freed_bytes, report.dry_run) == (1, 1000, True)


@pytest.mark.parametrize(("days", "max_bytes"), [(-1, None), (None, -1)])
def test_negative_limits_are_refused(days, max_bytes):
    with pytest.raises(ValueError, match="negative"):
        clean_disk(days=days, max_bytes=max_bytes)


def test_orphans_are_unreferenced_blobs_and_objects_without_rows(tmp_path, settings):
    def write(name: str, size: int) -> Path:
        path = tmp_path / name
        path.write_bytes(random_bytes(size))
        return path

    referenced = attach_file(write("kept.bin", 100)).blob
    unreferenced, _ = store_file(write("orphan.bin", 200))
    recent_unreferenced, _ = store_file(write("recent.bin", 300))
    Blob.objects.filter(pk__in=[referenced.pk, unreferenced.pk]).update(created_at=timezone.now() - timedelta(days=2))
    origin = runtime.get_origin()
    stray_key = f"{settings.MEDIA_S3_PREFIX}ff/{'f' * 64}"
    origin.put(stray_key, write("stray.bin", 400), "application/octet-stream")

    dry = clean_disk(orphans=True, dry_run=True)
    young_stray_kept = stray_key not in dry.orphans  # written moments ago: within the grace period

    assert list(unreferenced_blobs().values_list("pk", flat=True)) == [unreferenced.pk]
    assert dry.orphans == [unreferenced.origin_key]
    assert young_stray_kept
    report = clean_disk(orphans=True)
    assert report.orphans == [unreferenced.origin_key]
    assert report.orphan_bytes == 200
    assert origin.head(unreferenced.origin_key) is None
    assert not Blob.objects.filter(pk=unreferenced.pk).exists()
    assert origin.head(referenced.origin_key) == 100
    assert origin.head(recent_unreferenced.origin_key) == 300


def test_objects_without_rows_older_than_the_grace_period_are_orphans(tmp_path, settings, monkeypatch):
    origin = runtime.get_origin()
    stray_key = f"{settings.MEDIA_S3_PREFIX}ee/{'e' * 64}"
    source = tmp_path / "stray.bin"
    source.write_bytes(b"z" * 50)
    origin.put(stray_key, source, "application/octet-stream")
    monkeypatch.setattr(time, "time", lambda: os.path.getmtime(source) + 3 * DAY)

    report = clean_disk(orphans=True)

    assert report.orphans == [stray_key]
    assert origin.head(stray_key) is None


def test_the_command_reports_and_validates(cached_file):
    cached_file(1000, read_days_ago=30)
    out = StringIO()

    call_command("cleanup_media", "--days", "7", "--max-bytes", "10G", "--json", stdout=out)
    report = json.loads(out.getvalue())

    assert (report["removed_files"], report["freed_bytes"]) == (1, 1000)
    with pytest.raises(CommandError, match="not a size"):
        call_command("cleanup_media", "--max-bytes", "lots")
    with pytest.raises(CommandError, match="negative"):
        call_command("cleanup_media", "--days", "-3")


def test_the_command_text_output_lists_orphans(tmp_path):
    out = StringIO()

    call_command("cleanup_media", "--dry-run", "--orphans", stdout=out)

    assert out.getvalue().splitlines() == [
        "would remove 0 file(s), 0 bytes (0 unread for the age limit, 0 evicted for size, 0 stale temp); "
        "kept 0 file(s), 0 bytes",
        "would remove 0 origin orphan(s), 0 bytes",
    ]


@pytest.mark.parametrize(
    ("text", "size"), [("1024", 1024), ("10G", 10 * 1024**3), ("500MB", 500 * 1024**2), ("1.5GiB", 1610612736)]
)
def test_sizes_are_parsed(text, size):
    assert parse_size(text) == size


def test_the_endpoint_needs_an_operator_and_answers_the_contract_json(client, admin_client, cached_file, settings):
    cached_file(1000, read_days_ago=30)
    settings.MEDIA_API_TOKEN = "secret-token"

    anonymous = client.post("/media/cleanup")
    response = client.post("/media/cleanup", HTTP_AUTHORIZATION="Bearer secret-token")
    bad = admin_client.post("/media/cleanup", {"days": -1}, content_type="application/json")

    assert anonymous.status_code == 401
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("status", "message", "removed_files", "freed_bytes")} == {
        "status": "success",
        "message": "Old media cleanup completed",
        "removed_files": 1,
        "freed_bytes": 1000,
    }
    assert bad.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_the_daily_task_runs_on_a_real_worker_over_the_real_redis_broker(cached_file, redis_url, settings):
    from celery.contrib.testing.worker import start_worker

    from media_store.tasks import cleanup_old_media
    from tests.support.celery import celery_over

    stale = cached_file(1000, read_days_ago=30)
    with celery_over(redis_url) as app, start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = cleanup_old_media.delay(days=7).get(timeout=30)

    assert result["removed_files"] == 1
    assert not stale.exists()
    schedule = settings.CELERY_BEAT_SCHEDULE["cleanup-old-media"]
    assert schedule["task"] == "media_store.tasks.cleanup_old_media"
    assert (schedule["schedule"].hour, schedule["schedule"].minute) == ({3}, {0})


def test_an_orphan_adopted_after_the_sweep_listed_it_is_kept(tmp_path, monkeypatch):
    from media_store.ops import cleanup

    path = tmp_path / "adopted.bin"
    path.write_bytes(random_bytes(300))
    blob, _ = store_file(path)
    Blob.objects.filter(pk=blob.pk).update(created_at=timezone.now() - timedelta(days=2))
    listed = cleanup.unreferenced_blobs

    def listing_then_adoption(*args, **kwargs):
        queryset = listed(*args, **kwargs)
        if adopted:
            return queryset  # the re-check under the row lock
        snapshot = list(queryset.values_list("pk", flat=True))  # what the sweep listed…
        adopted.append(attach_file(path))  # …then an ingest of the same bytes adopts the blob
        return Blob.objects.filter(pk__in=snapshot)

    adopted = []
    monkeypatch.setattr(cleanup, "unreferenced_blobs", listing_then_adoption)

    report = clean_disk(orphans=True)

    assert report.orphans == []
    assert runtime.get_origin().head(blob.origin_key) == 300
    assert Blob.objects.filter(pk=blob.pk).exists()
