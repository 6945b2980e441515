"""``manage.py ingest_media PATH... [--filename NAME] [--json]``: store local files, print short URLs."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError

from chat.serializers import AttachmentSerializer
from chat.services import attach_file
from media_store.exceptions import MediaError
from media_store.management.base import MediaCommand


class Command(MediaCommand):
    help = "Store local files as attachments (deduplicated by content) and print their short URLs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="file(s) to ingest")
        parser.add_argument("--filename", help="name to store instead of the file's own (one PATH only)")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="one JSON object per line, keys as the API"
        )

    def handle(self, *args, paths: list[str], filename: str | None, as_json: bool, **options) -> None:
        if filename is not None and len(paths) != 1:
            raise CommandError("--filename can only be used with a single PATH")
        failures = 0
        for raw in paths:
            path = Path(raw)
            try:
                if not path.is_file():
                    raise MediaError("no such file")
                attachment = attach_file(path, filename=filename)
            except (MediaError, OSError) as error:
                failures += 1
                self._report_failure(raw, error, as_json=as_json)
                continue
            self._report(attachment, as_json=as_json)
        if failures:
            raise CommandError(f"{failures} of {len(paths)} file(s) could not be ingested")

    def _report(self, attachment, *, as_json: bool) -> None:
        if as_json:
            self.write_json(AttachmentSerializer(attachment).data)
        else:
            self.stdout.write(
                f"{attachment.short_url}  {attachment.original_filename}  "
                f"{attachment.mime_type}  {attachment.file_size} bytes"
            )

    def _report_failure(self, raw: str, error: Exception, *, as_json: bool) -> None:
        message = str(error) if isinstance(error, MediaError) else (error.strerror or str(error))
        if as_json:
            self.write_json({"path": raw, "error": message})
        self.stderr.write(f"{raw}: {message}")
