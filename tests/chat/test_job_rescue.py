"""Asynchronous jobs whose task message was lost, or whose worker died, still finish.

The row decides who works on a job (``chat.jobs.claim``); ``rescue_stale`` takes over jobs
nobody claimed within ``MEDIA_JOB_RESCUE_SECONDS`` and jobs whose claim outlived its lease.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from chat import housekeeping, jobs
from chat.idempotency import IdempotencyKey
from chat.jobs import FetchJob
from chat.models import MessageAttachment
from tests.support.media import png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def png_url(server, allow_private) -> str:
    return server.serve("/rescued.png", png_bytes(), content_type="image/png")


def a_job(url: str, *, age: float = 0.0, claimed: float | None = None, attempts: int = 0) -> FetchJob:
    now = timezone.now()
    return FetchJob.objects.create(
        kind="url",
        params={"url": url, "filename": None, "media_type": None},
        created_at=now - timedelta(seconds=age),
        claimed_at=None if claimed is None else now - timedelta(seconds=claimed),
        attempts=attempts,
    )


def test_a_job_is_claimed_once(png_url):
    job = a_job(png_url)

    first, second = jobs.claim(job.pk), jobs.claim(job.pk)

    assert first is not None
    assert first.attempts == 1
    assert second is None


def test_a_job_delivered_twice_is_run_once(png_url, server):
    job = a_job(png_url)

    jobs.run(job.pk)
    again = jobs.run(job.pk)  # acks_late redelivery, or a rescue racing the worker

    assert again.state == FetchJob.DONE
    assert MessageAttachment.objects.count() == 1
    assert len(server.requests_for("/rescued.png")) == 1


def test_a_job_nobody_started_is_run_by_the_rescue(png_url, settings):
    settings.MEDIA_JOB_RESCUE_SECONDS = 10
    lost = a_job(png_url, age=11)

    handled = jobs.rescue_stale()

    lost.refresh_from_db()
    assert handled == 1
    assert (lost.state, lost.http_status, lost.attempts) == (FetchJob.DONE, 201, 1)
    assert lost.result["sha256"] == MessageAttachment.objects.get().sha256


def test_a_young_job_and_one_a_live_worker_holds_are_left_alone(png_url, settings):
    settings.MEDIA_JOB_RESCUE_SECONDS = 10
    young = a_job(png_url, age=2)
    running = a_job(png_url, age=60, claimed=30, attempts=1)

    assert jobs.rescue_stale() == 0
    assert FetchJob.objects.filter(pk__in=[young.pk, running.pk], state=FetchJob.PENDING).count() == 2


def test_a_job_whose_worker_died_is_run_again_after_the_lease(png_url):
    held = a_job(png_url, age=jobs.LEASE_SECONDS + 60, claimed=jobs.LEASE_SECONDS + 1, attempts=1)

    assert jobs.rescue_stale() == 1

    held.refresh_from_db()
    assert (held.state, held.attempts) == (FetchJob.DONE, 2)


def test_a_job_started_too_often_is_abandoned_not_retried_forever(png_url, server):
    poisoned = a_job(png_url, age=3600, claimed=jobs.LEASE_SECONDS + 1, attempts=jobs.MAX_ATTEMPTS)

    assert jobs.rescue_stale() == 1

    poisoned.refresh_from_db()
    assert (poisoned.state, poisoned.http_status) == (FetchJob.FAILED, 500)
    assert poisoned.result["code"] == "abandoned"
    assert server.requests_for("/rescued.png") == []


def test_a_run_that_lost_its_claim_does_not_overwrite_the_answer(png_url):
    job = jobs.claim(a_job(png_url).pk)
    FetchJob.objects.filter(pk=job.pk).update(claimed_at=timezone.now() + timedelta(seconds=1))  # taken over

    assert job.finish(201, {"late": True}) is False

    job.refresh_from_db()
    assert (job.state, job.result) == (FetchJob.PENDING, None)


def test_rescue_is_off_at_zero(png_url, settings):
    settings.MEDIA_JOB_RESCUE_SECONDS = 0
    a_job(png_url, age=60)

    housekeeping.Housekeeper(interval=1).tick(now=0.0)

    assert FetchJob.objects.get().state == FetchJob.PENDING


def test_housekeeping_prunes_old_finished_jobs_and_expired_keys_only(png_url, settings):
    settings.MEDIA_JOB_RETENTION_DAYS = 7
    settings.MEDIA_IDEMPOTENCY_HOURS = 24
    now = timezone.now()
    old_done = a_job(png_url)
    FetchJob.objects.filter(pk=old_done.pk).update(state=FetchJob.DONE, finished_at=now - timedelta(days=8))
    recent_done = a_job(png_url)
    FetchJob.objects.filter(pk=recent_done.pk).update(state=FetchJob.DONE, finished_at=now - timedelta(days=1))
    old_pending = a_job(png_url, age=9 * 86400, claimed=60, attempts=1)  # still someone's: never pruned
    for key, hours in (("old", 25), ("fresh", 1)):
        IdempotencyKey.objects.create(
            key=key, fingerprint="f" * 64, http_status=201, response={}, created_at=now - timedelta(hours=hours)
        )

    assert housekeeping.prune() == {"jobs": 1, "idempotency_keys": 1}
    assert set(FetchJob.objects.values_list("pk", flat=True)) == {recent_done.pk, old_pending.pk}
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


def test_a_housekeeping_pass_rescues_then_prunes_once_per_period(png_url, settings, monkeypatch):
    settings.MEDIA_JOB_RESCUE_SECONDS = 5
    a_job(png_url, age=6)
    prunes: list[int] = []
    monkeypatch.setattr(housekeeping, "prune", lambda: prunes.append(1))
    keeper = housekeeping.Housekeeper(interval=1)

    keeper.tick(now=1000.0)
    keeper.tick(now=1001.0)
    keeper.tick(now=1000.0 + housekeeping.PRUNE_EVERY_SECONDS)

    assert FetchJob.objects.get().state == FetchJob.DONE
    assert len(prunes) == 2


def test_one_worker_per_cache_folder_is_elected_and_another_takes_over_when_it_dies(settings, tmp_path):
    settings.MEDIA_CACHE_DIR = str(tmp_path / "node-cache")
    first, second = housekeeping.Housekeeper(interval=1), housekeeping.Housekeeper(interval=1)

    assert first.elected() is True
    assert second.elected() is False  # the same node: the first one does it
    os.close(first._lock_fd)  # what the kernel does when the first worker's process exits
    assert second.elected() is True


def test_a_worker_that_cannot_open_the_lock_file_works_anyway(settings, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings.MEDIA_CACHE_DIR = str(blocker / "cache")  # under a file: cannot be made

    assert housekeeping.Housekeeper(interval=1).elected() is True
    assert "media.housekeeping_unelected" in caplog.text


def test_a_database_outage_is_one_warning_per_interval_not_a_traceback_per_pass(settings, caplog):
    settings.MEDIA_LOG_INTERVAL_SECONDS = 60
    keeper = housekeeping.Housekeeper(interval=1)
    outage = OperationalError("connection failed: server closed the connection\nDETAIL: more")

    keeper._warn_outage(outage)
    keeper._warn_outage(outage)

    warnings = [r for r in caplog.records if "media.housekeeping_skipped" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].getMessage().endswith("(connection failed: server closed the connection)")
    assert warnings[0].exc_info is None
    assert housekeeping.first_line(OperationalError()) == "OperationalError"
