"""Every node sweeps its own disk tier by age, without Celery beat or an operator."""

from __future__ import annotations

import os
import time

from media_store.ops import sweeper
from tests.support.servers import GunicornServer

DAY = 86400


def old_file(cache_dir, name: str, days: float) -> str:
    path = cache_dir / "documents" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * 1000)
    past = time.time() - days * DAY
    os.utime(path, (past, past))
    return path


def test_a_due_sweep_removes_files_unused_for_longer_than_the_age_limit(settings, cache_dir):
    settings.MEDIA_CACHE_DAYS = 7
    stale, recent = old_file(cache_dir, "a" * 64 + ".bin", 8), old_file(cache_dir, "b" * 64 + ".bin", 1)

    ran = sweeper.sweep_if_due(now=time.time() + 2 * settings.MEDIA_DISK_SWEEP_SECONDS)

    assert ran is True
    assert (stale.exists(), recent.exists()) == (False, True)


def test_workers_sharing_a_folder_sweep_once_per_period(settings, cache_dir):
    settings.MEDIA_DISK_SWEEP_SECONDS = 600
    now = time.time() + 1200

    runs = [sweeper.sweep_if_due(now=now), sweeper.sweep_if_due(now=now + 10), sweeper.sweep_if_due(now=now + 601)]

    assert runs == [True, False, True]


def test_gunicorn_workers_sweep_their_own_disk_by_themselves(tmp_path):
    cache = tmp_path / "node-cache"
    stale = old_file(cache, "c" * 64 + ".bin", 30)
    fresh = old_file(cache, "d" * 64 + ".bin", 0)
    server = GunicornServer(
        {
            "SECRET_KEY": "sweep-test",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "MEDIA_CACHE_DIR": str(cache),
            "MEDIA_ORIGIN_DIR": str(tmp_path / "origin"),
            "MEDIA_STORAGE": "filesystem",
            "REDIS_URL": "",
            "CELERY_BROKER_URL": "",
            "MEDIA_DISK_SWEEP_SECONDS": "1",
            "WEB_CONCURRENCY": "2",
        },
        tmp_path / "gunicorn.log",
    )
    server.start()
    try:
        deadline = time.monotonic() + 20
        while stale.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.stop()

    assert not stale.exists(), server.log()
    assert fresh.exists()
    assert "media.sweep dir=" in server.log()
