"""The Celery app: ``celery -A mediacache_project worker`` / ``celery -A mediacache_project beat``.

Broker: ``CELERY_BROKER_URL`` (defaults to ``REDIS_URL``). With neither set — the embedded
default on a laptop — tasks run eagerly in the calling process, so ``task.delay()`` works
without a broker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediacache_project.settings")

app = Celery("mediacache")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
