"""``manage.py analyse_media [--batch-size N] [--retry-failed] [--dry-run]``."""

from __future__ import annotations

from django.core.management.base import CommandError

from media_store.management.base import MediaCommand
from media_store.ops.analyse import DEFAULT_BATCH_SIZE, analyse_pending
from media_store.ops.progress import progress_bar


class Command(MediaCommand):
    help = "Analyse stored content that has no analysis yet (duration, codecs, …); batched and resumable."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows read per query")
        parser.add_argument("--retry-failed", action="store_true", help="also analyse content whose analysis failed")
        parser.add_argument("--dry-run", action="store_true", help="count the content to analyse, change nothing")

    def handle(self, *args, batch_size: int, retry_failed: bool, dry_run: bool, **options) -> None:
        try:
            with progress_bar(desc="analyse", unit="blobs", stream=self.stderr) as bar:
                report = analyse_pending(
                    batch_size=batch_size, retry_failed=retry_failed, dry_run=dry_run, progress=bar
                )
        except ValueError as error:
            raise CommandError(str(error)) from None
        if dry_run:
            self.stdout.write(f"dry run: {report.candidates} stored object(s) to analyse")
            return
        self.stdout.write(
            f"analysed {report.analysed}, failed {report.failed}, origin unavailable {report.unavailable} "
            f"({report.batches} batch(es), {report.seconds:.1f}s)"
        )
        if report.unavailable:
            raise CommandError(f"{report.unavailable} object(s) could not be read from the origin; run again later")
