"""``manage.py download_media URL... [--workers 5] [--json]``: download, dedup and store URLs in parallel.

Each downloaded URL becomes an attachment (like ``ingest_media``). Output: one line per URL
on stdout in input order (``--json``: the attachment keys plus ``url``; a failure is
``{"url", "error"}``), then a summary ``n ok, n deduplicated, n failed`` where *ok* stored
new content and *deduplicated* found its bytes already stored. The summary and the failure
reasons go to stdout, or to stderr with ``--json`` so that stdout stays pure JSON lines.
Exits 1 when any URL failed. URLs are printed with any user:password removed.
"""

from __future__ import annotations

from django.core.management.base import CommandError

from chat.serializers import AttachmentSerializer
from chat.services import attach_blob
from media_store.fetch.ssrf import redact
from media_store.fetch.urls import Outcome, download_blobs, failure, filename_from_url
from media_store.management.base import MediaCommand
from media_store.ops.progress import progress_bar

MAX_WORKERS = 32


def worker_count(value: str | int) -> int:
    """Checked here rather than by argparse, so that a bad value is one line (no usage block)."""
    try:
        workers = int(value)
    except ValueError:
        raise CommandError(f"--workers expects a whole number, not {value!r}") from None
    if not 1 <= workers <= MAX_WORKERS:
        raise CommandError(f"--workers must be between 1 and {MAX_WORKERS}, not {workers}")
    return workers


class Command(MediaCommand):
    help = "Download URLs in parallel, store them (deduplicated by content) and print their short URLs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("urls", nargs="+", metavar="URL", help="http(s) URL(s) to download")
        parser.add_argument(
            "--workers", default=5, metavar="N", help=f"parallel downloads, 1-{MAX_WORKERS} (default 5)"
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="one JSON object per line, keys as the API plus url"
        )

    def handle(self, *args, urls: list[str], workers: str | int, as_json: bool, **options) -> None:
        max_workers = worker_count(workers)
        with progress_bar(desc="download", unit="url", stream=self.stderr, total=len(urls)) as bar:
            outcomes = download_blobs(urls, max_workers=max_workers, on_result=lambda _outcome: bar.advance())
        counts = {"ok": 0, "deduplicated": 0, "failed": 0}
        for outcome in outcomes:
            if outcome.blob is None:
                counts["failed"] += 1
                self._report_failure(outcome, as_json=as_json)
                continue
            counts["ok" if outcome.created else "deduplicated"] += 1
            self._report(outcome, as_json=as_json)
        summary = self.stderr if as_json else self.stdout
        summary.write(", ".join(f"{count} {name}" for name, count in counts.items()))
        for outcome in outcomes:
            if outcome.blob is None:
                summary.write(f"  failed: {redact(outcome.url)}: {failure(outcome)['error']}")
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} of {len(urls)} URL(s) could not be downloaded")

    def _report(self, outcome: Outcome, *, as_json: bool) -> None:
        attachment = attach_blob(outcome.blob, filename=filename_from_url(outcome.url))
        if as_json:
            self.write_json({**AttachmentSerializer(attachment).data, "url": redact(outcome.url)})
            return
        note = "  (deduplicated)" if not outcome.created else ""
        self.stdout.write(
            f"{attachment.short_url}  {attachment.original_filename}  {attachment.mime_type}  "
            f"{attachment.file_size} bytes  {redact(outcome.url)}{note}"
        )

    def _report_failure(self, outcome: Outcome, *, as_json: bool) -> None:
        if as_json:
            self.write_json({**failure(outcome), "url": redact(outcome.url)})
