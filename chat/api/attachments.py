"""JSON API for attachments: upload (multipart) and read back (CONTRACT §4)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from chat import services
from chat.models import MessageAttachment
from chat.serializers import AttachmentSerializer, UploadSerializer
from media_store.conf import media_settings
from media_store.ingest.upload import StagingUploadHandler


class AttachmentViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """``POST /api/attachments/`` stores a file; ``GET /api/attachments/<id>/`` reads one."""

    queryset = MessageAttachment.objects.select_related("blob")
    serializer_class = AttachmentSerializer
    parser_classes = [MultiPartParser, FormParser]

    def initialize_request(self, request, *args, **kwargs):
        # Stream uploads through the staging handler (hash while receiving, stop at the cap)
        # instead of Django's default temp-file handlers.
        request.upload_handlers = [StagingUploadHandler(request, max_bytes=media_settings.UPLOAD_MAX_BYTES)]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={201: AttachmentSerializer})
    def create(self, request):
        upload_form = UploadSerializer(data=request.data)
        try:
            upload_form.is_valid(raise_exception=True)
            upload = upload_form.validated_data["file"]
            attachment = services.attach_staged(
                upload.staged,
                filename=upload_form.validated_data.get("filename") or upload.name,
                declared_type=upload.content_type,
            )
        finally:
            for uploaded in request.FILES.values():
                uploaded.close()  # removes the staged temp file unless the disk tier adopted it
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)
