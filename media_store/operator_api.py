"""Operator endpoints (CONTRACT §4): statistics, cleanup, the generic cache, metrics.

All need a staff session or ``Authorization: Bearer $MEDIA_API_TOKEN`` (the DRF defaults in
settings): anonymous callers get 401, other users 403.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from . import metrics
from .caching import get_cache
from .cleanup import clean_disk
from .reports import media_statistics


class MediaStatsView(APIView):
    """``GET /media/stats``: the CONTRACT statistics plus per-tier detail."""

    def get(self, request):
        return Response(media_statistics())


class CleanupOptions(serializers.Serializer):
    days = serializers.FloatField(required=False, min_value=0)
    max_bytes = serializers.IntegerField(required=False, min_value=0)
    dry_run = serializers.BooleanField(required=False, default=False)


class MediaCleanupView(APIView):
    """``POST /media/cleanup``: apply the disk-tier limits now (the daily job, on demand)."""

    @extend_schema(request=CleanupOptions)
    def post(self, request):
        options = CleanupOptions(data=request.data)
        options.is_valid(raise_exception=True)
        report = clean_disk(**options.validated_data)
        return Response(
            {
                "status": "success",
                "message": "Old media cleanup completed",
                "removed_files": report.removed_files,
                "freed_bytes": report.freed_bytes,
                "report": report.as_dict(),
            }
        )


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


class MetricsView(APIView):
    """``GET /metrics``: Prometheus text format, summed over all gunicorn workers."""

    @extend_schema(responses={200: str})
    def get(self, request):
        body, content_type = metrics.exposition()
        return HttpResponse(body, content_type=content_type)
