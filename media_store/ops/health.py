"""``GET /healthz``: can this node serve? (CONTRACT §4)

The database and the origin are essential: without them nothing new can be served, so the
load balancer should take the node out (503). The cache is not: with Redis down we still
serve from disk and origin, so ``"cache": "down"`` alone answers 200.

Load balancers probe every second or two, from several places, often with ``HEAD``: the
answer is computed at most once per ``MEDIA_HEALTH_CACHE_SECONDS`` per process (so a probe does not cost an
S3 request each time), and ``HEAD`` gets the same status and headers without a body.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.signals import setting_changed
from django.db import DatabaseError, connection
from django.dispatch import receiver
from django.http import JsonResponse
from django.views.decorators.http import require_http_methods
from redis.exceptions import RedisError

from media_store import runtime
from media_store.conf import media_settings
from media_store.exceptions import OriginUnavailable

logger = logging.getLogger("media_store.ops.health")

clock = time.monotonic  # looked up at call time (tests move it)
_lock = threading.Lock()
_last: tuple[float, dict[str, str]] | None = None


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except DatabaseError as error:
        logger.warning("health.database_down %s: %s", type(error).__name__, error)
        return "down"


def check_cache() -> str:
    client = runtime.redis_client()
    if client is None:
        return "ok"  # the in-process hot tier cannot be down
    try:
        client.ping()
        return "ok"
    except (RedisError, OSError) as error:
        logger.warning("health.cache_down %s: %s", type(error).__name__, error)
        return "down"


def check_storage() -> str:
    try:
        runtime.get_origin().ping()
        return "ok"
    except OriginUnavailable as error:
        logger.warning("health.storage_down %s", error)
        return "down"


def report() -> dict[str, str]:
    """The three checks, or their result of less than ``MEDIA_HEALTH_CACHE_SECONDS`` ago."""
    global _last
    with _lock:  # one probe at a time does the checks; the others wait and reuse its answer
        now = clock()
        if _last is not None and 0 <= now - _last[0] < media_settings.MEDIA_HEALTH_CACHE_SECONDS:
            return _last[1]
        fresh = {"database": check_database(), "cache": check_cache(), "storage": check_storage()}
        _last = (clock(), fresh)
        return fresh


@receiver(setting_changed)
def forget(**_signal) -> None:
    """Drop the cached answer (a changed setting — in tests, ``override_settings``)."""
    global _last
    with _lock:
        _last = None


@require_http_methods(["GET", "HEAD"])
def healthz(request):
    answer = report()
    healthy = answer["database"] == "ok" and answer["storage"] == "ok"
    response = JsonResponse(answer, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    if request.method == "HEAD":
        response["Content-Length"] = str(len(response.content))
        response.content = b""
    return response
