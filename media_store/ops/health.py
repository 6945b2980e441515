"""``GET /healthz``: can this node serve? (CONTRACT §4)

The database and the origin are essential: without them nothing new can be served, so the
load balancer should take the node out (503). The cache is not: with Redis down we still
serve from disk and origin, so ``"cache": "down"`` alone answers 200.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET
from redis.exceptions import RedisError

from media_store import runtime
from media_store.exceptions import OriginUnavailable

logger = logging.getLogger("media_store.ops.health")


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


@require_GET
def healthz(request):
    report = {"database": check_database(), "cache": check_cache(), "storage": check_storage()}
    healthy = report["database"] == "ok" and report["storage"] == "ok"
    response = JsonResponse(report, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response
