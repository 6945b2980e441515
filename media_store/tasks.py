"""Celery tasks of the engine. The beat schedule (settings.CELERY_BEAT_SCHEDULE) runs
``cleanup_old_media`` daily at 03:00; cron users run ``manage.py cleanup_media`` instead.

It cleans the disk tier of the machine whose worker runs it. Web nodes keep their own disks in
bounds by themselves (write-time eviction, and the sweep thread of ``ops.sweeper``)."""

from __future__ import annotations

from celery import shared_task

from media_store.ops.cleanup import clean_disk


@shared_task(name="media_store.tasks.cleanup_old_media")
def cleanup_old_media(days: float | None = None, max_bytes: int | None = None) -> dict:
    """Apply the disk-tier limits (defaults from settings) and return the report."""
    return clean_disk(days=days, max_bytes=max_bytes).as_dict()


@shared_task(name="media_store.tasks.make_variants")
def make_variants(sha256: str, names: list[str]) -> dict[str, str]:
    """``MEDIA_VARIANTS_EAGER``: make these variants of freshly ingested content (name → outcome).

    Not auto-retried: a variant that cannot be made is remembered by the negative cache, and
    one that failed transiently is simply made on its first request instead.
    """
    from media_store.variants.eager import make_now

    return make_now(sha256, names)
