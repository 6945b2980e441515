"""``manage.py apply_s3_lifecycle [--days N] [--prefix P]``: expire stored media on S3 after N days."""

from __future__ import annotations

import json

from django.core.management.base import CommandError

from media_store.exceptions import MediaError
from media_store.management.base import MediaCommand
from media_store.ops.lifecycle import apply_expiration


class Command(MediaCommand):
    help = "Put (merge) the bucket lifecycle rule that expires stored media, then print the bucket's rules."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days", type=int, help="expire objects this many days after upload (MEDIA_S3_RETENTION_DAYS)"
        )
        parser.add_argument("--prefix", help="key prefix the rule applies to (MEDIA_S3_PREFIX)")

    def handle(self, *args, days: int | None, prefix: str | None, **options) -> None:
        try:
            rules = apply_expiration(days=days, prefix=prefix)
        except (ValueError, MediaError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(rules, indent=2, default=str))
