"""A variant over HTTP: find or make it, then serve it exactly like the original.

The bytes go through ``serve_blob`` — the same Range, ETag (the variant's own digest), HEAD,
304, tier headers and metrics as any content; this module only maps the variant's own
outcomes: unknown name → 404, cannot be made → 422 (tiny text/plain, ``no-store``),
transcoder busy → 503 + Retry-After. A HEAD makes the variant too: its headers (length,
ETag) are those of the made content.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse

from media_store.conf import media_settings
from media_store.content.blobs import BlobInfo
from media_store.exceptions import MediaError, MediaNotFound, TranscoderBusy, VariantUnsupported
from media_store.serving import responses
from media_store.serving.serve import serve_blob
from media_store.variants import service
from media_store.variants.recipes import recipe_for

logger = logging.getLogger("media_store.variants.http")


def variant_response(request: HttpRequest, source: BlobInfo, name: str) -> HttpResponse:
    if recipe_for(name) is None:
        return responses.not_found()
    for attempt in (1, 2):
        try:
            made = service.variant(source, name)
        except MediaError as error:
            return _refusal(source, name, error)
        response = serve_blob(request, made)
        if response.status_code != 404 or attempt == 2:
            return response
        # The variant's own content is gone (lifecycle, an operator): make it again, once.
        service.forget(source.sha256, name)
    raise AssertionError("unreachable")


def _refusal(source: BlobInfo, name: str, error: MediaError) -> HttpResponse:
    if isinstance(error, VariantUnsupported):
        logger.info("media.variant_refused hash=%s variant=%s: %s", source.sha256, name, error)
        return responses.error(422, f"cannot convert this content to {name}")
    if isinstance(error, TranscoderBusy):
        logger.warning("media.variant_busy hash=%s variant=%s: %s", source.sha256, name, error)
        retry = max(1, int(media_settings.MEDIA_TRANSCODE_WAIT_SECONDS))
        return responses.error(503, "transcoder busy, retry later", **{"Retry-After": str(retry)})
    if isinstance(error, MediaNotFound):
        return responses.not_found()
    logger.warning("media.unavailable hash=%s variant=%s: %s", source.sha256, name, error)
    return responses.unavailable(media_settings.MEDIA_RETRY_AFTER_SECONDS)
