"""``manage.py cache_admin stats | clear PREFIX | flush`` — the generic ``@cached`` cache."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from media_store.caching import get_cache


class Command(BaseCommand):
    help = "Inspect or empty the generic @cached cache (only its own keys are ever deleted)."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{stats,clear,flush}")
        actions.add_parser("stats", help="hits, misses, hit ratio, keys and memory")
        clear = actions.add_parser("clear", help="delete the cached results of one key prefix")
        clear.add_argument("prefix")
        actions.add_parser("flush", help="delete every @cached result")

    def handle(self, *args, action: str, **options) -> None:
        cache = get_cache()
        if action == "stats":
            self.stdout.write(json.dumps(cache.stats(), indent=2))
        elif action == "clear":
            try:
                removed = cache.clear(options["prefix"])
            except ValueError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"removed {removed} key(s) under prefix {options['prefix']!r}")
        else:
            self.stdout.write(f"removed {cache.flush()} key(s)")
