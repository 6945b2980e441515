"""``manage.py migrate_locked``: ``migrate`` under a database-wide lock (what ``make run`` starts with).

Several nodes started together each ran ``migrate`` and raced (two creating the same table, one
failing). Under the lock they take turns: the first applies the migrations, the others find
nothing left to do. With ``MIGRATE_ON_START=false`` the command does nothing, for deployments
that migrate once as a release step (run ``manage.py migrate_locked --force`` there).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from media_store.ingest.content_lock import named_lock


class Command(BaseCommand):
    help = "Apply migrations under a database-wide lock (skipped when MIGRATE_ON_START=false, unless --force)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="Migrate even when MIGRATE_ON_START=false.")

    def handle(self, *args, force: bool = False, verbosity: int = 1, **options) -> None:
        if not force and not settings.MIGRATE_ON_START:
            if verbosity:
                self.stdout.write("MIGRATE_ON_START=false: not migrating (the release step runs it with --force)")
            return
        with named_lock("migrate"):
            call_command("migrate", interactive=False, verbosity=verbosity)
