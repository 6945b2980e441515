"""Serving a blob over HTTP: plan the response, get the bytes, map failures to statuses."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse

from . import http, responses, runtime
from .blobs import BlobInfo
from .conf import media_settings
from .exceptions import MediaNotFound, OriginUnavailable
from .ingest import mark_expired

logger = logging.getLogger("media_store.views")

SAFE_METHODS = ("GET", "HEAD")


def serve_blob(request: HttpRequest, blob: BlobInfo) -> HttpResponse:
    """GET/HEAD of one blob with Range, conditional requests and tier headers (CONTRACT §4)."""
    if request.method not in SAFE_METHODS:
        return responses.method_not_allowed()
    decision = http.plan(request.method, request.headers, size=blob.size, etag=blob.etag)
    if not decision.has_body:
        return responses.bodyless(decision, blob)
    store = runtime.get_store()
    try:
        if request.method == "HEAD":
            return responses.media_response(blob, decision, None, store.locate(blob))
        content = store.fetch(blob)
        return responses.media_response(blob, decision, content, content.tier)
    except MediaNotFound:
        logger.warning("media.gone hash=%s: origin object missing, marked expired", blob.sha256)
        mark_expired(blob.sha256)
        return responses.not_found()
    except OriginUnavailable as error:
        logger.warning("media.unavailable hash=%s: %s", blob.sha256, error)
        return responses.unavailable(media_settings.MEDIA_RETRY_AFTER_SECONDS)
