"""``manage.py media_stats [--json]``: the statistics of ``GET /media/stats``."""

from __future__ import annotations

from media_store.management.base import MediaCommand
from media_store.ops.reports import media_statistics, report_sections


class Command(MediaCommand):
    help = "Show the media statistics (WhatsApp fetches, hot tier, disk, origin, serving)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", dest="as_json", help="one JSON object, as /media/stats")

    def handle(self, *args, as_json: bool, **options) -> None:
        report = media_statistics()
        if as_json:
            self.write_json(report)
            return
        for title, rows in report_sections(report):
            self.stdout.write(title)
            width = max((len(name) for name, _ in rows), default=0)
            for name, value in rows:
                self.stdout.write(f"  {name.ljust(width)}  {value}")
            self.stdout.write("")
