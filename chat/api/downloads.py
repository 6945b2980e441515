"""``POST /api/media/download``: fetch a URL, store it (deduplicated), answer the attachment JSON.

Operator-only (the project's default DRF authentication and permission). Failures come from
the engine's exceptions and keep the status their class declares
(``mediacache_project.api.exception_handler``): a refused URL 400, too large 413, a
permanent upstream failure or one remembered by the negative cache 422, still failing after
retries 502 (or once ``DOWNLOAD_TIMEOUT`` — one deadline for the whole fetch, retries and
their waits included — has passed). ``?async=1`` or ``Prefer: respond-async`` answers ``202``
with a status URL at once and fetches in a Celery task (``chat.jobs``).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from chat import jobs, services
from chat.api.attachments import IDEMPOTENCY_PARAMETER, created_response
from chat.idempotency import Idempotent, answer
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
    @extend_schema(
        operation_id="media_download",
        tags=["attachments"],
        request=DownloadRequestSerializer,
        responses={
            201: AttachmentSerializer,
            400: OpenApiResponse(description="Invalid body, or a URL the SSRF guard refuses."),
            413: OpenApiResponse(description="Larger than DOWNLOAD_MAX_BYTES."),
            422: OpenApiResponse(
                description="Permanent upstream failure, one remembered by the negative cache, or an "
                "Idempotency-Key already used for a different request."
            ),
            502: OpenApiResponse(description="Upstream still failing after MAX_RETRIES attempts."),
            503: OpenApiResponse(description="The origin cannot be written; nothing was stored."),
        },
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def post(self, request):
        form = DownloadRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        params = {key: form.validated_data.get(key) for key in ("url", "filename", "media_type")}
        if jobs.wants_async(request):
            return jobs.enqueue(request, "url", params, Idempotent.of(request, "download-async", params))
        return answer(
            Idempotent.of(request, "download", params),
            created_response,
            lambda on_created: download_attachment(**params, on_created=on_created),
        )


def download_attachment(
    url: str, filename: str | None = None, media_type: str | None = None, on_created: services.OnCreated | None = None
):
    """Fetch ``url``, store it (deduplicated) and create its attachment (the view and the job)."""
    with url_ingest.fetch(url) as download, url_ingest.storing(download) as (blob, _created):
        return services.attach_blob(
            blob, filename=filename or download.filename, media_type=media_type, on_created=on_created
        )
