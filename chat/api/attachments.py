"""JSON API for attachments: upload (multipart) and read back (CONTRACT §4)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from chat import services
from chat.deletion import delete_attachments
from chat.idempotency import HEADER as IDEMPOTENCY_HEADER
from chat.idempotency import Idempotent, answer
from chat.models import MessageAttachment
from chat.serializers import AttachmentSerializer, UploadSerializer
from media_store.conf import media_settings
from media_store.ingest.upload import StagingUploadHandler

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Optional. A retry with the same key is answered with the first request's answer "
    "(Idempotent-Replayed: true) instead of creating a second attachment; kept MEDIA_IDEMPOTENCY_HOURS.",
)


def created_response(attachment: MessageAttachment) -> Response:
    return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["attachments"])
class AttachmentViewSet(mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """``POST /api/attachments/`` stores a file; ``GET /api/attachments/<id>/`` reads one;
    ``DELETE /api/attachments/<id>/`` deletes it (chat.deletion: how the token stops working)."""

    queryset = MessageAttachment.objects.select_related("blob")
    serializer_class = AttachmentSerializer
    parser_classes = [MultiPartParser, FormParser]

    def initialize_request(self, request, *args, **kwargs):
        # Stream uploads through the staging handler (hash while receiving, stop at the cap)
        # instead of Django's default temp-file handlers.
        request.upload_handlers = [StagingUploadHandler(request, max_bytes=media_settings.UPLOAD_MAX_BYTES)]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        operation_id="attachment_upload",
        request={"multipart/form-data": UploadSerializer},
        responses={
            201: AttachmentSerializer,
            400: OpenApiResponse(description="No file in the request."),
            413: OpenApiResponse(description="Larger than UPLOAD_MAX_BYTES."),
            422: OpenApiResponse(
                description="Content the store refuses (empty, or a decompression bomb), or an "
                "Idempotency-Key already used for a different request."
            ),
            503: OpenApiResponse(description="The origin cannot be written; nothing was stored."),
        },
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def create(self, request):
        upload_form = UploadSerializer(data=request.data)
        try:
            upload_form.is_valid(raise_exception=True)
            upload = upload_form.validated_data["file"]
            filename = upload_form.validated_data.get("filename") or upload.name
            idempotent = Idempotent.of(request, "upload", upload.staged.finish().sha256, filename, upload.content_type)
            return answer(
                idempotent,
                created_response,
                lambda on_created: services.attach_staged(
                    upload.staged, filename=filename, declared_type=upload.content_type, on_created=on_created
                ),
            )
        finally:
            for uploaded in request.FILES.values():
                uploaded.close()  # removes the staged temp file unless the disk tier adopted it

    @extend_schema(responses={200: AttachmentSerializer, 404: OpenApiResponse(description="No such attachment.")})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        operation_id="attachment_delete",
        responses={
            204: OpenApiResponse(
                description="Deleted: the token answers 404 within MEDIA_TOKEN_CACHE_SECONDS "
                "directly and within MEDIA_EDGE_TTL through the edge."
            ),
            404: OpenApiResponse(description="No such attachment."),
        },
    )
    def destroy(self, request, *args, **kwargs):
        delete_attachments([self.get_object()])
        return Response(status=status.HTTP_204_NO_CONTENT)
