"""Deleting attachments: the row goes, the token stops resolving, the content may follow.

The token answers 404 at once in this process, within ``MEDIA_TOKEN_CACHE_SECONDS`` in the
other workers (their token maps expire), and within ``MEDIA_EDGE_TTL`` through the edge (it
revalidates with the app, which then answers from the database). Content no other attachment
refers to is removed from the origin by the orphan sweep (``cleanup_media``) after its grace
period; ``purge`` also drops its cached copies (process, hot and disk tiers) right away.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from chat.models import MessageAttachment
from chat.resolver import get_resolver
from media_store import runtime


def delete_attachments(attachments: Iterable[MessageAttachment], *, purge: bool = False) -> int:
    """Delete the attachments; returns how many. ``purge``: evict now-unreferenced content too."""
    attachments = list(attachments)
    blobs = {attachment.blob_id: attachment.blob for attachment in attachments if attachment.blob_id}
    with transaction.atomic():
        _, counts = MessageAttachment.objects.filter(pk__in=[a.pk for a in attachments]).delete()
    resolver = get_resolver()
    for attachment in attachments:
        if attachment.media_hash:
            resolver.forget(attachment.media_hash)
    if purge:
        still_used = set(MessageAttachment.objects.filter(blob_id__in=list(blobs)).values_list("blob_id", flat=True))
        store = runtime.get_store()
        for blob_id, blob in blobs.items():
            if blob_id not in still_used:
                store.evict(blob.info())
    return counts.get(MessageAttachment._meta.label, 0)
