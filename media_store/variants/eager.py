"""``MEDIA_VARIANTS_EAGER``: make chosen variants right after ingest, so the gateway's first
fetch of ``/media/<hash>/voice.ogg`` is a cache hit instead of a transcode it waits for.

The work is a Celery task queued when the Blob row commits (``transaction.on_commit``): with a
broker a worker makes it; without one (the embedded default) Celery runs it inline. Variants
the content cannot have (``voice.ogg`` of a photo) are skipped at planning, without a run.
"""

from __future__ import annotations

import logging

from django.db import transaction

from media_store.conf import media_settings
from media_store.exceptions import MediaError
from media_store.models import Blob
from media_store.variants.base import Source
from media_store.variants.recipes import recipe_for

logger = logging.getLogger("media_store.variants.eager")


def applicable(blob: Blob, names: list[str]) -> list[str]:
    """The names among ``names`` that this content can have (planning only, no transcoding)."""
    wanted = []
    for name in names:
        try:
            recipe_for(name).plan(Source.from_blob(blob))
        except MediaError:
            continue
        wanted.append(name)
    return wanted


def schedule(blob: Blob) -> None:
    names = applicable(blob, list(media_settings.MEDIA_VARIANTS_EAGER))
    if not names:
        return
    from media_store.tasks import make_variants

    transaction.on_commit(lambda: make_variants.delay(blob.sha256, names))


def make_now(sha256: str, names: list[str]) -> dict[str, str]:
    """Make each variant; returns name → ``"ok"`` or the reason it could not be made."""
    from media_store.variants.service import variant

    blob = Blob.objects.filter(sha256=sha256).first()
    if blob is None:
        return dict.fromkeys(names, "the content is not stored")
    outcome = {}
    for name in names:
        try:
            variant(blob.info(), name)
            outcome[name] = "ok"
        except MediaError as error:
            logger.warning("media.eager_variant_failed hash=%s variant=%s: %s", sha256, name, error)
            outcome[name] = str(error)
    return outcome
