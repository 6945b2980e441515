"""``manage.py backfill_media_hashes [--batch-size N] [--dry-run]``."""

from __future__ import annotations

from django.core.management.base import CommandError

from chat.backfill import DEFAULT_BATCH_SIZE, backfill_media_hashes
from media_store.management.base import MediaCommand
from media_store.ops.progress import progress_bar


class Command(MediaCommand):
    help = "Fill media_hash and short_url on attachments that lack them (idempotent, resumable)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows per transaction")
        parser.add_argument("--dry-run", action="store_true", help="count the rows that need a token, change none")

    def handle(self, *args, batch_size: int, dry_run: bool, **options) -> None:
        try:
            with progress_bar(desc="backfill", unit="rows", stream=self.stderr) as bar:
                report = backfill_media_hashes(batch_size=batch_size, dry_run=dry_run, progress=bar)
        except ValueError as error:
            raise CommandError(str(error)) from None
        if dry_run:
            self.stdout.write(f"dry run: {report.candidates} attachment(s) need a media_hash/short_url")
            return
        self.stdout.write(
            f"backfilled {report.updated} attachment(s) in {report.batches} batch(es), "
            f"{report.seconds:.1f}s ({report.rows_per_second:.0f} rows/s)"
        )
