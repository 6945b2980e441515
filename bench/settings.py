"""``make bench`` only: the production settings plus the floor view's folder and URLs.

The floor (``bench/floor.py``) is never routed in production: the benchmark's gunicorn runs with
``DJANGO_SETTINGS_MODULE=bench.settings``, everything else exactly as ``make run``.
"""

import os

from mediacache_project.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
BENCH_FLOOR_DIR = os.environ["BENCH_FLOOR_DIR"]
