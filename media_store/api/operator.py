"""Operator endpoints of the engine (CONTRACT §4): statistics, cleanup, metrics.

All need a staff session or ``Authorization: Bearer $MEDIA_API_TOKEN`` (the DRF defaults in
settings): anonymous callers get 401, other users 403.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from media_store.ops import metrics
from media_store.ops.cleanup import clean_disk
from media_store.ops.reports import media_statistics


class StatisticsSerializer(serializers.Serializer):
    """The CONTRACT §4 counters (WhatsApp media-ID fetches) and their hit rate."""

    total_requests = serializers.IntegerField()
    cache_hits = serializers.IntegerField()
    api_calls = serializers.IntegerField()
    failed_calls = serializers.IntegerField()
    expired_media = serializers.IntegerField()
    cache_hit_rate = serializers.CharField(help_text='A percentage string, e.g. "30.0%".')


class MediaStatsSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"success"')
    statistics = StatisticsSerializer()
    hot_tier = serializers.DictField(help_text="backend (redis|memory|disabled), keys, bytes, memory, hit ratio.")
    disk = serializers.DictField(help_text="files and bytes, by media type; the limits.")
    origin = serializers.DictField(help_text="backend, objects, bytes, expired; calls and errors since start.")
    serving = serializers.DictField(help_text="requests by tier and status, bytes served by tier (all workers).")


class CleanupResultSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"success"')
    message = serializers.CharField(help_text='"Old media cleanup completed"')
    removed_files = serializers.IntegerField()
    freed_bytes = serializers.IntegerField()
    report = serializers.DictField(help_text="The full cleanup report (by age, by size, temp files).")


class MediaStatsView(APIView):
    """``GET /media/stats``: the CONTRACT statistics plus per-tier detail."""

    @extend_schema(operation_id="media_stats", tags=["operations"], responses={200: MediaStatsSerializer})
    def get(self, request):
        return Response(media_statistics())


class CleanupOptions(serializers.Serializer):
    days = serializers.FloatField(required=False, min_value=0)
    max_bytes = serializers.IntegerField(required=False, min_value=0)
    dry_run = serializers.BooleanField(required=False, default=False)


class MediaCleanupView(APIView):
    """``POST /media/cleanup``: apply the disk-tier limits now (the daily job, on demand)."""

    @extend_schema(
        operation_id="media_cleanup",
        tags=["operations"],
        request=CleanupOptions,
        responses={200: CleanupResultSerializer, 400: OpenApiTypes.OBJECT},
    )
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


class MetricsView(APIView):
    """``GET /metrics``: Prometheus text format, summed over all gunicorn workers."""

    @extend_schema(
        operation_id="metrics",
        tags=["operations"],
        description="Prometheus text exposition format (version 0.0.4); scrape config in deploy/prometheus/.",
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    def get(self, request):
        body, content_type = metrics.exposition()
        return HttpResponse(body, content_type=content_type)
