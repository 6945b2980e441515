"""``manage.py fetch_whatsapp_media MEDIA_ID [--timestamp T] [--no-cache] [--json]``: the ``/media?id=`` flow.

Same outcomes as the endpoint: prints the short URL (``--json``: the endpoint's JSON on one
line, errors included) and exits 0 only when the media was fetched or already known.
"""

from __future__ import annotations

from django.core.management.base import CommandError

from chat.inbound import MediaUnavailable, attachment_for_media_id, error_payload, success_payload
from media_store.management.base import MediaCommand


class Command(MediaCommand):
    help = "Fetch a WhatsApp Cloud API media by ID (expiry check, negative cache, retries) and print its short URL."

    def add_arguments(self, parser) -> None:
        parser.add_argument("media_id", metavar="MEDIA_ID", help="the Cloud API media id")
        parser.add_argument("--timestamp", help="when the message was sent (unix seconds): expiry check")
        parser.add_argument(
            "--no-cache",
            action="store_false",
            dest="use_cache",
            help="ignore the id map and the negative cache (the result is still stored)",
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="one JSON object, keys as the API")

    def handle(self, *args, media_id: str, timestamp: str | None, use_cache: bool, as_json: bool, **options) -> None:
        try:
            attachment = attachment_for_media_id(media_id, timestamp, use_cache)
        except ValueError as error:
            raise CommandError(str(error)) from None
        except MediaUnavailable as unavailable:
            if as_json:
                self.write_json(error_payload(unavailable.status))
            raise CommandError(f"{media_id}: {unavailable.status}: {unavailable.result.reason}") from None
        if as_json:
            self.write_json(success_payload(attachment))
        else:
            self.stdout.write(
                f"{attachment.short_url}  {attachment.original_filename}  "
                f"{attachment.mime_type}  {attachment.file_size} bytes"
            )
