"""``manage.py rebuild_short_urls [--batch-size N] [--dry-run]``: after PUBLIC_BASE_URL changes."""

from __future__ import annotations

from django.core.management.base import CommandError

from chat.backfill import DEFAULT_BATCH_SIZE, rebuild_short_urls
from media_store.conf import media_settings
from media_store.management.base import MediaCommand
from media_store.ops.progress import progress_bar


class Command(MediaCommand):
    help = "Rewrite every short_url to use the current PUBLIC_BASE_URL (tokens are kept)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows per transaction")
        parser.add_argument("--dry-run", action="store_true", help="count the stale short URLs, change none")

    def handle(self, *args, batch_size: int, dry_run: bool, **options) -> None:
        try:
            with progress_bar(desc="short URLs", unit="rows", stream=self.stderr) as bar:
                report = rebuild_short_urls(batch_size=batch_size, dry_run=dry_run, progress=bar)
        except ValueError as error:
            raise CommandError(str(error)) from None
        base = media_settings.PUBLIC_BASE_URL
        if dry_run:
            self.stdout.write(f"dry run: {report.candidates} short URL(s) do not start with {base}")
            return
        self.stdout.write(f"rebuilt {report.updated} short URL(s) on {base} in {report.seconds:.1f}s")
