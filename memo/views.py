"""The generic cache's operator endpoints (CONTRACT §4): ``/admin/cache/stats|clear|flush``.

Operator-only through the project's DRF defaults (staff session or the bearer token).
"""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from memo.decorator import get_cache


class CacheStatsView(APIView):
    """``GET /admin/cache/stats``: the ``@cached`` cache's hits, misses, ratio, keys, memory."""

    def get(self, request):
        return Response(get_cache().stats())


class CacheClearView(APIView):
    """``POST /admin/cache/clear/<prefix>``: drop one service's cached results."""

    def post(self, request, prefix: str):
        try:
            removed = get_cache().clear(prefix)
        except ValueError as error:
            return Response({"status": "error", "detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"status": "success", "prefix": prefix, "removed": removed})


class CacheFlushView(APIView):
    """``POST /admin/cache/flush``: drop every ``@cached`` key (and nothing else in Redis)."""

    def post(self, request):
        return Response({"status": "success", "removed": get_cache().flush()})
