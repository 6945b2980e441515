"""Celery tasks of the engine. The beat schedule (settings.CELERY_BEAT_SCHEDULE) runs
``cleanup_old_media`` daily at 03:00; cron users run ``manage.py cleanup_media`` instead."""

from __future__ import annotations

from celery import shared_task

from media_store.ops.cleanup import clean_disk


@shared_task(name="media_store.tasks.cleanup_old_media")
def cleanup_old_media(days: float | None = None, max_bytes: int | None = None) -> dict:
    """Apply the disk-tier limits (defaults from settings) and return the report."""
    return clean_disk(days=days, max_bytes=max_bytes).as_dict()
