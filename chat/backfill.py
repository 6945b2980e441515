"""Fill ``media_hash``/``short_url`` on attachments that lack them, and rebuild short URLs.

Both walk the table in primary-key order, one batch per transaction, selecting only rows that
still need work — so a run killed half-way resumes where it stopped, a second run changes
nothing, and memory stays flat (a batch of ids and tokens at a time). Rows are locked per
batch (``SELECT … FOR UPDATE SKIP LOCKED`` where the database has it) and updated only where
they still lack a token, so the running app's own saves are never overwritten.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Value
from django.db.models.functions import Concat

from chat.models import MessageAttachment, short_url_for, short_url_prefix
from media_store.content.digests import new_token
from media_store.ops.progress import NO_PROGRESS, Progress

DEFAULT_BATCH_SIZE = 1000


@dataclass
class BatchReport:
    candidates: int = 0  # rows needing work when the run started
    updated: int = 0
    batches: int = 0
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def rows_per_second(self) -> float:
        return self.updated / self.seconds if self.seconds else 0.0


def missing_tokens() -> Q:
    return Q(media_hash__isnull=True) | Q(media_hash="") | Q(short_url__isnull=True) | Q(short_url="")


def backfill_media_hashes(
    *, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False, progress: Progress = NO_PROGRESS
) -> BatchReport:
    """Give every attachment without a token a fresh 128-bit one and its short URL."""
    pending = MessageAttachment.objects.filter(missing_tokens())
    return _walk(pending, ("pk", "media_hash"), _fill_batch, batch_size=batch_size, dry_run=dry_run, progress=progress)


def rebuild_short_urls(
    *, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False, progress: Progress = NO_PROGRESS
) -> BatchReport:
    """Point every ``short_url`` at the current ``PUBLIC_BASE_URL`` (after a domain change)."""
    expected = Concat(Value(short_url_prefix()), "media_hash")
    stale = (
        MessageAttachment.objects.exclude(media_hash__isnull=True).exclude(media_hash="").exclude(short_url=expected)
    )

    def rewrite(rows: list[tuple[int]]) -> int:
        return MessageAttachment.objects.filter(pk__in=[pk for (pk,) in rows]).update(short_url=expected)

    return _walk(stale, ("pk",), rewrite, batch_size=batch_size, dry_run=dry_run, progress=progress)


def _walk(pending, fields: tuple[str, ...], work, *, batch_size: int, dry_run: bool, progress: Progress) -> BatchReport:
    """Run ``work(rows)`` on the ``pending`` rows, a batch per transaction, in primary-key order.

    Each batch re-selects from ``pending`` past the last key seen, so rows fixed meanwhile (by
    the app, or by another run) are skipped and a killed run resumes where it stopped.
    """
    if not 1 <= batch_size <= 100_000:
        raise ValueError(f"batch size must be between 1 and 100000, not {batch_size}")
    report = BatchReport(dry_run=dry_run, candidates=pending.count())
    if dry_run:
        return report
    progress.set_total(report.candidates)
    started = time.monotonic()
    last_pk = 0
    while True:
        with transaction.atomic():
            rows = list(_lock(pending.filter(pk__gt=last_pk)).order_by("pk").values_list(*fields)[:batch_size])
            if not rows:
                break
            last_pk = rows[-1][0]
            report.updated += work(rows)
        report.batches += 1
        progress.advance(len(rows))
    report.seconds = time.monotonic() - started
    return report


def _fill_batch(rows: list[tuple[int, str | None]]) -> int:
    """Tokens for the rows without one, short URLs for all; retried on a (2^-128) collision.

    One prepared ``UPDATE … WHERE id = %s`` run with ``executemany`` (a pipeline on
    PostgreSQL): several times faster than ``bulk_update``'s ``CASE WHEN id = …`` per column,
    whose cost grows with the square of the batch. The ``WHERE`` also re-checks that the row
    still lacks its URL, so a concurrent save() by the app is never overwritten.
    """
    for _attempt in range(3):
        params = []
        for pk, token in rows:
            token = token or new_token()
            params.append((token, short_url_for(token), pk))
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(_update_sql(), params)
                return cursor.rowcount
        except IntegrityError:
            continue
    raise IntegrityError("could not find unused tokens for a batch after 3 attempts")


def _update_sql() -> str:
    meta = MessageAttachment._meta
    quote = connection.ops.quote_name
    table, token, url, pk = (
        quote(meta.db_table),
        quote(meta.get_field("media_hash").column),
        quote(meta.get_field("short_url").column),
        quote(meta.pk.column),
    )
    missing = f"({token} IS NULL OR {token} = '' OR {url} IS NULL OR {url} = '')"
    return f"UPDATE {table} SET {token} = %s, {url} = %s WHERE {pk} = %s AND {missing}"


def _lock(queryset):
    """Lock the batch against concurrent writers where the database supports it (PostgreSQL)."""
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset
