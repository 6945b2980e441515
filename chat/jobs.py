"""Fetches that run after the answer: ``?async=1`` or ``Prefer: respond-async`` → ``202`` + a status URL.

``POST /api/media/download`` and ``GET /media?id=`` fetch from a remote server inside the
request; even with one overall deadline (``DOWNLOAD_TIMEOUT``) that is up to 30 s of a request
thread. A caller that cannot wait asks for the asynchronous mode: the request is validated,
a ``FetchJob`` row is written, the Celery task ``chat.run_fetch_job`` does the work (inline when
no broker is configured — the embedded default — so the job is done by the time the ``202``
is sent), and ``GET /api/media/jobs/<id>`` answers ``202 {"status": "pending"}`` until then,
and afterwards exactly what the synchronous call would have answered (``200`` with the final
JSON, or its error status and JSON). The row is the state, so any node can answer the status.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.db import models
from django.urls import reverse
from django.utils import timezone
from rest_framework.response import Response

logger = logging.getLogger("chat.jobs")

TRUE_VALUES = frozenset({"1", "true", "yes", "on"})


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
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "chat"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.state} {self.pk}"

    def finish(self, http_status: int, result: dict[str, Any]) -> None:
        self.state = self.DONE if http_status < 400 else self.FAILED
        self.http_status, self.result, self.finished_at = http_status, result, timezone.now()
        self.save(update_fields=["state", "http_status", "result", "finished_at"])


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


def enqueue(request, kind: str, params: dict[str, Any]) -> Response:
    """Write the job, start the task (inline without a broker), answer ``202``."""
    from chat.tasks import run_fetch_job

    job = FetchJob.objects.create(kind=kind, params=params)
    try:
        run_fetch_job.delay(str(job.pk))
    except Exception as error:  # a configured broker that is down: do the work here rather than lose it
        logger.warning("media.job_inline id=%s: the broker refused the task (%s); running it here", job.pk, error)
        run(job.pk)
    job.refresh_from_db()
    return pending_response(request, job)


def run(job_id) -> FetchJob:
    """Do a job's fetch and record the answer the synchronous endpoint would have given."""
    from chat.api.downloads import download_attachment
    from chat.inbound import MediaUnavailable, attachment_for_media_id, error_payload, success_payload
    from chat.serializers import AttachmentSerializer
    from media_store.exceptions import MediaError

    job = FetchJob.objects.get(pk=job_id)
    if job.state != FetchJob.PENDING:
        return job  # delivered twice (acks_late): the first run's answer stands
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


def job_response(request, job: FetchJob) -> Response:
    if job.state == FetchJob.PENDING:
        return pending_response(request, job)
    return Response(job.result, status=200 if job.state == FetchJob.DONE else job.http_status)
