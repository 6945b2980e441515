#!/usr/bin/env python
"""Fill media_hash/short_url on attachments that lack them — the same service as
``manage.py backfill_media_hashes`` (use that; this script exists for cron jobs and old runbooks).

    .venv/bin/python scripts/generate_media_hashes.py [--batch-size N] [--dry-run]
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediacache_project.settings")

if __name__ == "__main__":
    import django
    from django.core.management import call_command

    django.setup()
    call_command("backfill_media_hashes", *sys.argv[1:])
