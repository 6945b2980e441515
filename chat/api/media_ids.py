"""``GET /media?id=<media_id>&timestamp=<unix>``: fetch a WhatsApp Cloud API media by ID (operators).

A thin translation (CONTRACT §4): query parameters → ``chat.inbound.attachment_for_media_id``
→ 200 with the short URL, or 410 expired / 404 failed / 502 upstream, or 400 for bad input.
Authentication and permission are the project's defaults (staff session or the API token).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.inbound import MediaUnavailable, attachment_for_media_id, error_payload, success_payload


class WhatsAppMediaView(APIView):
    @extend_schema(
        operation_id="whatsapp_media_fetch",
        parameters=[
            OpenApiParameter("id", OpenApiTypes.STR, required=True, description="Cloud API media ID."),
            OpenApiParameter(
                "timestamp", OpenApiTypes.INT, description="When the message was sent (unix seconds): expiry check."
            ),
        ],
        responses={
            200: OpenApiTypes.OBJECT,
            400: OpenApiTypes.OBJECT,
            404: OpenApiTypes.OBJECT,
            410: OpenApiTypes.OBJECT,
            502: OpenApiTypes.OBJECT,
        },
    )
    def get(self, request) -> Response:
        media_id = request.query_params.get("id", "")
        if not media_id.strip():
            return Response({**error_payload("invalid"), "detail": "the id query parameter is required"}, status=400)
        try:
            attachment = attachment_for_media_id(media_id, request.query_params.get("timestamp"))
        except ValueError as error:
            return Response({**error_payload("invalid"), "detail": str(error)}, status=400)
        except MediaUnavailable as unavailable:
            return Response(error_payload(unavailable.status), status=unavailable.http_status)
        return Response(success_payload(attachment))
