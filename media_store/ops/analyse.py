"""Analyse stored content that has no analysis yet (content ingested before analysis existed,
or whose analysis failed): the service behind ``manage.py analyse_media``.

Batched by digest order with keyset pagination, so memory is flat and a run stopped half-way
(Ctrl-C, a deploy) resumes where it stopped: every analysed row leaves the "pending" set.
Each blob is read through the store (hot → disk → origin) into a verified temp copy; content
gone from the origin is recorded as such and not retried; an unreachable origin leaves the
row pending for the next run.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Q, QuerySet

from media_store.content.analysis import Analysis, analyse
from media_store.exceptions import MediaNotFound, OriginUnavailable
from media_store.ingest.commit import staging_dir
from media_store.models import Blob
from media_store.ops.progress import NO_PROGRESS, Progress
from media_store.variants import inputs

logger = logging.getLogger("media_store.ops.analyse")

DEFAULT_BATCH_SIZE = 100


@dataclass
class AnalyseReport:
    candidates: int = 0
    analysed: int = 0
    failed: int = 0
    unavailable: int = 0
    batches: int = 0
    seconds: float = 0.0


def pending(retry_failed: bool = False) -> QuerySet[Blob]:
    condition = Q(analysed_at__isnull=True)
    if retry_failed:
        condition |= ~Q(analysis_error="")
    return Blob.objects.filter(condition)


def analyse_stored(blob: Blob) -> Analysis:
    """The analysis of one stored blob (raises MediaNotFound / OriginUnavailable)."""
    if blob.media_type not in ("audio", "video", "image"):
        return Analysis()
    staging = staging_dir()
    staging.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="analyse-", dir=staging))
    try:
        return analyse(inputs.local_copy(blob.info(), folder), blob.media_type)
    finally:
        inputs.clear(folder)


def analyse_pending(
    *, batch_size: int = DEFAULT_BATCH_SIZE, retry_failed: bool = False, dry_run: bool = False,
    progress: Progress = NO_PROGRESS,
) -> AnalyseReport:  # fmt: skip
    if batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, not {batch_size}")
    started = time.monotonic()
    queryset = pending(retry_failed)
    report = AnalyseReport(candidates=queryset.count())
    if dry_run:
        return report
    progress.set_total(report.candidates)
    last = ""
    while True:
        batch = list(queryset.filter(sha256__gt=last).order_by("sha256")[:batch_size])
        if not batch:
            break
        report.batches += 1
        for blob in batch:
            _analyse_one(blob, report)
            progress.advance()
        last = batch[-1].sha256
    report.seconds = time.monotonic() - started
    return report


def _analyse_one(blob: Blob, report: AnalyseReport) -> None:
    try:
        analysis = analyse_stored(blob)
    except MediaNotFound:
        analysis = Analysis(error="the content is gone from the origin")
    except OriginUnavailable as error:
        logger.warning("media.analyse_skipped hash=%s: %s (left for the next run)", blob.sha256, error)
        report.unavailable += 1
        return
    Blob.objects.filter(pk=blob.pk).update(**analysis.fields())
    if analysis.error:
        report.failed += 1
    else:
        report.analysed += 1
