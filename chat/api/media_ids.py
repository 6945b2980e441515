"""``GET /media?id=<media_id>&timestamp=<unix>``: fetch a WhatsApp Cloud API media by ID (operators).

A thin translation (CONTRACT §4): query parameters → ``chat.inbound.attachment_for_media_id``
→ 200 with the short URL, or 410 expired / 404 failed / 502 upstream, or 400 for bad input.
Authentication and permission are the project's defaults (staff session or the API token).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import jobs
from chat.idempotency import Idempotent
from chat.inbound import MediaUnavailable, attachment_for_media_id, error_payload, success_payload
from media_store.conf import media_settings
from media_store.fetch.media_ids import parse_timestamp, validate_media_id


class MediaIdSuccessSerializer(serializers.Serializer):
    """``chat.inbound.success_payload``."""

    status = serializers.CharField(help_text='"success"')
    media_hash = serializers.CharField()
    short_url = serializers.URLField()
    mime_type = serializers.CharField()
    file_size = serializers.IntegerField()
    sha256 = serializers.CharField()


class MediaIdErrorSerializer(serializers.Serializer):
    """``chat.inbound.error_payload`` (+ ``detail`` for bad input)."""

    status = serializers.CharField(help_text='"error"')
    reason = serializers.ChoiceField(choices=["invalid", "expired", "failed", "upstream", "unavailable"])
    detail = serializers.CharField(required=False)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(MediaIdErrorSerializer, description=description)


class WhatsAppMediaView(APIView):
    @extend_schema(
        operation_id="whatsapp_media_fetch",
        tags=["attachments"],
        parameters=[
            OpenApiParameter("id", OpenApiTypes.STR, required=True, description="Cloud API media ID."),
            OpenApiParameter(
                "timestamp", OpenApiTypes.INT, description="When the message was sent (unix seconds): expiry check."
            ),
        ],
        responses={
            200: MediaIdSuccessSerializer,
            400: _error("reason invalid: missing or malformed id or timestamp"),
            404: _error("reason failed: known-failed or permanent failure (not retried within FAILED_MEDIA_TTL)"),
            410: _error("reason expired: older than MEDIA_EXPIRATION_HOURS"),
            502: _error("reason upstream: the Graph API still failing after retries"),
            503: _error("reason unavailable: the Graph API answered but the store could not keep it (Retry-After)"),
        },
    )
    def get(self, request) -> Response:
        media_id = request.query_params.get("id", "")
        if not media_id.strip():
            return Response({**error_payload("invalid"), "detail": "the id query parameter is required"}, status=400)
        try:
            if jobs.wants_async(request):
                timestamp = request.query_params.get("timestamp")
                validate_media_id(media_id), parse_timestamp(timestamp)  # bad input: 400 now, not later
                params = {"id": media_id, "timestamp": timestamp}
                return jobs.enqueue(request, "whatsapp", params, Idempotent.of(request, "media-id-async", params))
            attachment = attachment_for_media_id(media_id, request.query_params.get("timestamp"))
        except ValueError as error:
            return Response({**error_payload("invalid"), "detail": str(error)}, status=400)
        except MediaUnavailable as unavailable:
            retry = unavailable.http_status == 503
            headers = {"Retry-After": str(media_settings.MEDIA_RETRY_AFTER_SECONDS)} if retry else None
            return Response(error_payload(unavailable.status), status=unavailable.http_status, headers=headers)
        return Response(success_payload(attachment))
