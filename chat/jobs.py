"""Fetches that run after the answer: ``?async=1`` or ``Prefer: respond-async`` → ``202`` + a status URL.

``POST /api/media/download`` and ``GET /media?id=`` fetch from a remote server inside the
request; even with one overall deadline (``DOWNLOAD_TIMEOUT``) that is up to 30 s of a request
thread. A caller that cannot wait asks for the asynchronous mode: the request is validated,
a ``FetchJob`` row is written, the Celery task ``chat.run_fetch_job`` does the work (inline when
no broker is configured — the embedded default — so the job is done by the time the ``202``
is sent), and ``GET /api/media/jobs/<id>`` answers ``202 {"status": "pending"}`` until then,
and afterwards exactly what the synchronous call would have answered (``200`` with the final
JSON, or its error status and JSON). The row is the state, so any node can answer the status.

A task message can be lost without anyone noticing: published to a Redis primary that is frozen
and then replaced by Sentinel, or held by a worker that was killed. So the row, not the message,
decides who works on a job: a run first *claims* it (one conditional ``UPDATE``), and a claim
that was never made within ``MEDIA_JOB_RESCUE_SECONDS``, or whose worker has held it longer than
``LEASE_SECONDS``, is taken over by a web node's housekeeping thread (``rescue_stale``). A job
claimed ``MAX_ATTEMPTS`` times without finishing ends as ``500 abandoned`` rather than looping.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from rest_framework.response import Response

from chat.idempotency import Idempotent, answer
from media_store.conf import media_settings

logger = logging.getLogger("chat.jobs")

TRUE_VALUES = frozenset({"1", "true", "yes", "on"})
LEASE_SECONDS = 300.0  # a claim older than this belongs to a dead worker (a fetch is bounded by DOWNLOAD_TIMEOUT)
MAX_ATTEMPTS = 3
RESCUE_BATCH = 5  # jobs one housekeeping pass takes over at most


class FetchJob(models.Model):
    PENDING, DONE, FAILED = "pending", "done", "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=[("url", "url"), ("whatsapp", "whatsapp")])
    params = models.JSONField(help_text="The validated request (URLs with credentials removed are not needed here).")
    state = models.CharField(
        max_length=8, default=PENDING, choices=[(PENDING, PENDING), (DONE, DONE), (FAILED, FAILED)], db_index=True
    )
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker last started it.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times a worker started it.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "chat"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.state} {self.pk}"

    def finish(self, http_status: int, result: dict[str, Any]) -> bool:
        """Record the answer, if this run still holds the claim (False: another run took over)."""
        state = self.DONE if http_status < 400 else self.FAILED
        finished_at = timezone.now()
        updated = FetchJob.objects.filter(pk=self.pk, state=self.PENDING, claimed_at=self.claimed_at).update(
            state=state, http_status=http_status, result=result, finished_at=finished_at
        )
        if updated:
            self.state, self.http_status, self.result, self.finished_at = state, http_status, result, finished_at
        else:
            logger.warning("media.job_superseded id=%s: another run took this job over; its answer stands", self.pk)
        return bool(updated)


def claim(job_id, now=None) -> FetchJob | None:
    """Take a pending job that nobody holds (or whose holder's lease ran out); None if not ours."""
    now = now or timezone.now()
    expired = now - timedelta(seconds=LEASE_SECONDS)
    updated = (
        FetchJob.objects.filter(pk=job_id, state=FetchJob.PENDING)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=expired))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    return FetchJob.objects.get(pk=job_id) if updated else None


def wants_async(request) -> bool:
    """``?async=1`` (``true``/``yes``/``on``) or an RFC 7240 ``Prefer: respond-async`` header."""
    if request.query_params.get("async", "").strip().lower() in TRUE_VALUES:
        return True
    prefer = request.headers.get("Prefer", "")
    return any(part.strip().lower() == "respond-async" for part in prefer.split(","))


def status_url(request, job: FetchJob) -> str:
    return request.build_absolute_uri(reverse("media-job", args=[job.pk]))


def pending_response(request, job: FetchJob) -> Response:
    return Response(
        {"status": "pending", "job_id": str(job.pk), "status_url": status_url(request, job)},
        status=202,
        headers={"Location": status_url(request, job), "Preference-Applied": "respond-async"},
    )


def enqueue(request, kind: str, params: dict[str, Any], idempotent: Idempotent | None = None) -> Response:
    """Write the job, start the task (inline without a broker), answer ``202`` (once per key)."""

    def create(on_created) -> FetchJob:
        with transaction.atomic():
            job = FetchJob.objects.create(kind=kind, params=params)
            on_created(job)
        dispatch(job)
        return job

    return answer(idempotent, lambda job: pending_response(request, job), create)


def dispatch(job: FetchJob) -> None:
    from chat.tasks import run_fetch_job

    try:
        run_fetch_job.delay(str(job.pk))
    except Exception as error:  # a configured broker that is down: do the work here rather than lose it
        logger.warning("media.job_inline id=%s: the broker refused the task (%s); running it here", job.pk, error)
        run(job.pk)


def run(job_id) -> FetchJob:
    """Do a job's fetch and record the answer the synchronous endpoint would have given."""
    from chat.api.downloads import download_attachment
    from chat.inbound import MediaUnavailable, attachment_for_media_id, error_payload, success_payload
    from chat.serializers import AttachmentSerializer
    from media_store.exceptions import MediaError

    job = claim(job_id)
    if job is None:
        return FetchJob.objects.get(pk=job_id)  # done, or running elsewhere: that run's answer stands
    params = job.params
    try:
        if job.kind == "url":
            attachment = download_attachment(params["url"], params.get("filename"), params.get("media_type"))
            job.finish(201, AttachmentSerializer(attachment).data)
        else:
            attachment = attachment_for_media_id(params["id"], params.get("timestamp"))
            job.finish(200, success_payload(attachment))
    except MediaUnavailable as unavailable:
        job.finish(unavailable.http_status, error_payload(unavailable.status))
    except MediaError as error:
        job.finish(error.http_status, {"detail": str(error), "code": error.code})
    except Exception as error:
        logger.exception("media.job_failed id=%s", job.pk)
        job.finish(500, {"detail": f"internal error: {type(error).__name__}", "code": "internal"})
    return job


def rescue_stale(now=None) -> int:
    """Run, here, jobs no worker started within ``MEDIA_JOB_RESCUE_SECONDS`` or whose worker
    died holding them; end those started ``MAX_ATTEMPTS`` times. Returns how many it handled."""
    now = now or timezone.now()
    unclaimed_before = now - timedelta(seconds=media_settings.MEDIA_JOB_RESCUE_SECONDS)
    lease_expired = now - timedelta(seconds=LEASE_SECONDS)
    stale = FetchJob.objects.filter(state=FetchJob.PENDING).filter(
        Q(claimed_at__isnull=True, created_at__lt=unclaimed_before) | Q(claimed_at__lt=lease_expired)
    )
    handled = 0
    for job in stale.order_by("created_at")[:RESCUE_BATCH]:
        if job.attempts >= MAX_ATTEMPTS:
            detail = f"started {job.attempts} times and never finished"
            if job.finish(500, {"detail": detail, "code": "abandoned"}):
                logger.error("media.job_abandoned id=%s: %s", job.pk, detail)
        else:
            logger.warning(
                "media.job_rescued id=%s attempts=%d: no worker finished it; running it here", job.pk, job.attempts
            )
            run(job.pk)
        handled += 1
    return handled


def job_response(request, job: FetchJob) -> Response:
    if job.state == FetchJob.PENDING:
        return pending_response(request, job)
    return Response(job.result, status=200 if job.state == FetchJob.DONE else job.http_status)
