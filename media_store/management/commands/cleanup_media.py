"""``manage.py cleanup_media [--days N] [--max-bytes B] [--dry-run] [--orphans] [--json]``."""

from __future__ import annotations

import re

from django.core.management.base import CommandError

from media_store.exceptions import OriginUnavailable
from media_store.management.base import MediaCommand
from media_store.ops.cleanup import clean_disk

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int:
    """``10737418240``, ``10G``, ``500MB``, ``1.5GiB`` → bytes."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (use bytes, or a number with K, M, G or T)")
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.upper()])


class Command(MediaCommand):
    help = "Clean the disk tier by last access and size, drop stale temp files (and, optionally, origin orphans)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=float, help="remove files not read for this many days (MEDIA_CACHE_DAYS)")
        parser.add_argument(
            "--max-bytes", help="then evict LRU files until under this size, e.g. 10G (MEDIA_DISK_MAX_BYTES)"
        )
        parser.add_argument("--dry-run", action="store_true", help="report what would be removed, remove nothing")
        parser.add_argument(
            "--orphans", action="store_true", help="also delete origin objects nothing refers to (try --dry-run first)"
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the report as one JSON object")

    def handle(self, *args, days, max_bytes, dry_run, orphans, as_json, **options) -> None:
        try:
            limit = None if max_bytes is None else parse_size(max_bytes)
            report = clean_disk(days=days, max_bytes=limit, dry_run=dry_run, orphans=orphans)
        except ValueError as error:
            raise CommandError(str(error)) from None
        except OriginUnavailable as error:
            raise CommandError(f"origin unavailable: {error}") from None
        if as_json:
            self.write_json(report.as_dict())
            return
        verb = "would remove" if dry_run else "removed"
        self.stdout.write(
            f"{verb} {report.removed_files} file(s), {report.freed_bytes} bytes "
            f"({report.expired_files} unread for the age limit, {report.evicted_files} evicted for size, "
            f"{report.temp_files} stale temp); kept {report.kept_files} file(s), {report.kept_bytes} bytes"
        )
        if report.skipped_in_use:
            self.stdout.write(f"skipped {report.skipped_in_use} file(s) being served")
        if orphans:
            self.stdout.write(f"{verb} {len(report.orphans)} origin orphan(s), {report.orphan_bytes} bytes")
            for key in report.orphans:
                self.stdout.write(f"  {key}")
