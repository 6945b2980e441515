"""Operator endpoints of the engine (CONTRACT §4): statistics, cleanup, metrics.

All need a staff session or ``Authorization: Bearer $MEDIA_API_TOKEN`` (the DRF defaults in
settings): anonymous callers get 401, other users 403.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from media_store.ops import metrics
from media_store.ops.cleanup import clean_disk
from media_store.ops.reports import media_statistics


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


class MetricsView(APIView):
    """``GET /metrics``: Prometheus text format, summed over all gunicorn workers."""

    @extend_schema(responses={200: str})
    def get(self, request):
        body, content_type = metrics.exposition()
        return HttpResponse(body, content_type=content_type)
