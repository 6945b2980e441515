"""``POST /api/media/download``: fetch a URL, store it (deduplicated), answer the attachment JSON.

Operator-only (the project's default DRF authentication and permission). Failures come from
the engine's exceptions and keep the status their class declares (``api_errors``): a refused
URL 400, too large 413, a permanent upstream failure or one remembered by the negative cache
422, still failing after retries 502. The request blocks for the download (at most
``MAX_RETRIES`` attempts of ``DOWNLOAD_TIMEOUT`` plus the backoff between them).
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import services
from chat.serializers import AttachmentSerializer
from media_store.content.mediatypes import MEDIA_TYPES
from media_store.fetch import urls as url_ingest


class DownloadRequestSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2048, help_text="An http(s) URL to download.")
    filename = serializers.CharField(
        required=False, allow_blank=True, max_length=255, help_text="Name to store (defaults to the URL's)."
    )
    media_type = serializers.ChoiceField(
        choices=MEDIA_TYPES, required=False, help_text="Reported on the attachment; the bytes decide the MIME type."
    )


class MediaDownloadView(APIView):
    @extend_schema(request=DownloadRequestSerializer, responses={201: AttachmentSerializer})
    def post(self, request):
        form = DownloadRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        url = form.validated_data["url"]
        with url_ingest.fetch(url) as download, transaction.atomic():
            blob, _created = url_ingest.store_download(download)
            attachment = services.attach_blob(
                blob,
                filename=form.validated_data.get("filename") or download.filename,
                media_type=form.validated_data.get("media_type"),
            )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)
