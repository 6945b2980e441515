"""``manage.py cache_admin stats | clear PREFIX | flush`` — the generic ``@cached`` cache."""

from __future__ import annotations

from django.core.management.base import CommandError

from media_store.exceptions import MediaError
from media_store.management.base import MediaCommand, quiet
from memo.decorator import get_cache


class Command(MediaCommand):
    help = "Inspect or empty the generic @cached cache (only its own keys are ever deleted)."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{stats,clear,flush}")
        quiet(actions.add_parser("stats", help="hits, misses, hit ratio, keys and memory"))
        clear = actions.add_parser("clear", help="delete the cached results of one key prefix")
        clear.add_argument("prefix")
        quiet(clear)
        quiet(actions.add_parser("flush", help="delete every @cached result"))

    def handle(self, *args, action: str, **options) -> None:
        cache = get_cache()
        try:
            if action == "stats":
                self.write_json(cache.stats())
            elif action == "clear":
                removed = cache.clear(options["prefix"])
                self.stdout.write(f"removed {removed} key(s) under prefix {options['prefix']!r}")
            else:
                self.stdout.write(f"removed {cache.flush()} key(s)")
        except (ValueError, MediaError) as error:
            raise CommandError(str(error)) from None
