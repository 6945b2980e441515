"""Celery tasks of the chat domain (``celery -A mediacache_project worker``).

``fetch_whatsapp_media`` lets a webhook handler answer WhatsApp within its deadline and fetch
the media afterwards. It is not auto-retried: ``download_media`` already retries transient
failures with backoff, and permanent ones must not be retried at all (COMPAT.md).
"""

from __future__ import annotations

from celery import shared_task

from chat.inbound import MediaUnavailable, attachment_for_media_id
from chat.models import Message


@shared_task(name="chat.fetch_whatsapp_media")
def fetch_whatsapp_media(media_id: str, timestamp: int | str | None = None, message_id: int | None = None) -> int | str:
    """The attachment's id, or the failure status (``"expired"``, ``"failed"``, ``"upstream"``).

    ``message_id``: an existing ``chat.Message`` to attach the media to (it must exist).
    """
    message = Message.objects.get(pk=message_id) if message_id is not None else None
    try:
        attachment = attachment_for_media_id(media_id, timestamp, message=message)
    except MediaUnavailable as unavailable:
        return unavailable.status
    return attachment.pk


@shared_task(name="chat.run_fetch_job")
def run_fetch_job(job_id: str) -> str:
    """An asynchronous ``POST /api/media/download`` or ``GET /media?id=`` (``chat.jobs``); returns its state."""
    from chat import jobs

    return jobs.run(job_id).state
