"""``manage.py verify_media [DIGEST] [--repair]``: hash every copy of stored content, report, repair.

One line per blob (``-v 0``: only blobs with a problem): ``<sha256>  origin=ok disk=corrupt
(repaired) hot=missing``, then a summary. Exits 1 while a bad copy remains: a corrupt copy, a
missing origin copy, or a tier that could not be read. See ``media_store.ops.verify``.
"""

from __future__ import annotations

from django.core.management.base import CommandError

from media_store import runtime
from media_store.content.digests import is_sha256
from media_store.management.base import MediaCommand
from media_store.models import Blob
from media_store.ops.progress import progress_bar
from media_store.ops.verify import TIERS, BlobReport, verify_blobs


class Command(MediaCommand):
    help = "Check the origin, disk and hot copies of stored media against their SHA-256; --repair fixes bad copies."

    def add_arguments(self, parser) -> None:
        parser.add_argument("digest", nargs="?", metavar="DIGEST", help="SHA-256 of one blob (default: every blob)")
        parser.add_argument(
            "--repair",
            action="store_true",
            help="replace corrupt cached copies from a good copy and re-upload a missing or corrupt origin copy",
        )

    def handle(self, *args, digest: str | None, repair: bool, verbosity: int, **options) -> None:
        blobs = self._select(digest)
        total = blobs.count()
        store = runtime.get_store()
        checked = problems = repaired = remaining = 0
        with progress_bar(desc="verify", unit="blob", stream=self.stderr, total=total) as bar:
            for report in verify_blobs(blobs.iterator(chunk_size=500), store, repair=repair):
                checked += 1
                problems += report.had_problem
                repaired += len(report.repaired)
                remaining += len(report.bad_tiers)
                if verbosity >= 1 or report.had_problem:
                    self.stdout.write(_line(report))
                bar.advance()
        self.stdout.write(
            f"{_count(checked, 'blob')} checked: {checked - problems} good, {problems} with bad copies; "
            f"{_count(repaired, 'copy')} repaired, {_count(remaining, 'bad copy')} remaining"
        )
        if remaining:
            hint = "" if repair else " (run with --repair)"
            raise CommandError(f"{_count(remaining, 'bad copy')} remaining{hint}")

    @staticmethod
    def _select(digest: str | None):
        blobs = Blob.objects.order_by("sha256")
        if digest is None:
            return blobs
        value = digest.strip().lower()
        if not is_sha256(value):
            raise CommandError(f"{digest!r} is not a SHA-256 digest (64 hexadecimal characters)")
        if not blobs.filter(sha256=value).exists():
            raise CommandError(f"no stored media with SHA-256 {value}")
        return blobs.filter(sha256=value)


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


def _line(report: BlobReport) -> str:
    states = []
    for tier in TIERS:
        state = report.found[tier]
        if tier in report.repaired:
            state += " (repaired)"
        elif report.states[tier] != state:
            state += f" (now {report.states[tier]})"
        states.append(f"{tier}={state}")
    return f"{report.sha256}  {' '.join(states)}"
