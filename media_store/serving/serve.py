"""Serving a blob over HTTP: plan the response, get the bytes, map failures to statuses."""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest, HttpResponse

from media_store import runtime
from media_store.conf import media_settings
from media_store.content.blobs import BlobInfo
from media_store.exceptions import MediaNotFound, OriginUnavailable
from media_store.ingest.commit import mark_expired
from media_store.ops import metrics
from media_store.serving import conditional as http
from media_store.serving import responses

logger = logging.getLogger("media_store.serving.serve")

SAFE_METHODS = ("GET", "HEAD")
NO_TIER = "none"  # answered without touching a tier: 304, 404, 412, 416, 503


def serve_blob(request: HttpRequest, blob: BlobInfo) -> HttpResponse:
    """GET/HEAD of one blob with Range, conditional requests and tier headers (CONTRACT §4)."""
    started = time.perf_counter()
    response, tier = _answer(request, blob)
    observe(request, response, tier, started)
    return response


def observe(request: HttpRequest, response: HttpResponse, tier: str, started: float) -> None:
    """Count one /media/ response in the Prometheus metrics."""
    status = response.status_code
    requests, served, latency = metrics.media_series(tier, status)
    requests.inc()
    if request.method == "GET" and status in (200, 206):
        served.inc(int(response["Content-Length"]))
    latency.observe(time.perf_counter() - started)


def _answer(request: HttpRequest, blob: BlobInfo) -> tuple[HttpResponse, str]:
    if request.method not in SAFE_METHODS:
        return responses.method_not_allowed(), NO_TIER
    decision = http.plan(request.method, request.headers, size=blob.size, etag=blob.etag)
    if not decision.has_body:
        return responses.bodyless(decision, blob), NO_TIER
    store = runtime.get_store()
    try:
        if request.method == "HEAD":
            tier = store.locate(blob)
            return responses.media_response(blob, decision, None, tier), tier
        content = store.fetch(blob)
        return responses.media_response(blob, decision, content, content.tier), content.tier
    except MediaNotFound:
        logger.warning("media.gone hash=%s: origin object missing, marked expired", blob.sha256)
        mark_expired(blob.sha256)
        return responses.not_found(), NO_TIER
    except OriginUnavailable as error:
        logger.warning("media.unavailable hash=%s: %s", blob.sha256, error)
        return responses.unavailable(media_settings.MEDIA_RETRY_AFTER_SECONDS), NO_TIER
