"""The generic cache's operator endpoints (CONTRACT §4): ``/admin/cache/stats|clear|flush``.

Operator-only through the project's DRF defaults (staff session or the bearer token).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from memo.decorator import get_cache


class CacheStatsSerializer(serializers.Serializer):
    backend = serializers.ChoiceField(choices=["redis", "memory"])
    keys = serializers.IntegerField()
    memory_bytes = serializers.IntegerField(allow_null=True, help_text="null without Redis.")
    enabled = serializers.BooleanField(help_text="ENABLE_CACHING")
    hits = serializers.IntegerField()
    misses = serializers.IntegerField()
    hit_ratio = serializers.CharField(help_text='A percentage string, e.g. "75.0%".')


class CacheClearedSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"success"')
    prefix = serializers.CharField()
    removed = serializers.IntegerField(help_text="Keys deleted.")


class CacheFlushedSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"success"')
    removed = serializers.IntegerField(help_text="Keys deleted.")


class CacheErrorSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"error"')
    detail = serializers.CharField()


class CacheStatsView(APIView):
    """``GET /admin/cache/stats``: the ``@cached`` cache's hits, misses, ratio, keys, memory."""

    @extend_schema(operation_id="cache_stats", tags=["operations"], responses={200: CacheStatsSerializer})
    def get(self, request):
        return Response(get_cache().stats())


class CacheClearView(APIView):
    """``POST /admin/cache/clear/<prefix>``: drop one service's cached results."""

    @extend_schema(
        operation_id="cache_clear",
        tags=["operations"],
        request=None,
        responses={200: CacheClearedSerializer, 400: CacheErrorSerializer},
    )
    def post(self, request, prefix: str):
        try:
            removed = get_cache().clear(prefix)
        except ValueError as error:
            return Response({"status": "error", "detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"status": "success", "prefix": prefix, "removed": removed})


class CacheFlushView(APIView):
    """``POST /admin/cache/flush``: drop every ``@cached`` key (and nothing else in Redis)."""

    @extend_schema(
        operation_id="cache_flush", tags=["operations"], request=None, responses={200: CacheFlushedSerializer}
    )
    def post(self, request):
        return Response({"status": "success", "removed": get_cache().flush()})
