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
from media_store.serving import conditional, edge, responses

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
        served.inc(getattr(response, "media_bytes", None) or int(response.get("Content-Length") or 0))
    latency.observe(time.perf_counter() - started)


def _answer(request: HttpRequest, blob: BlobInfo) -> tuple[HttpResponse, str]:
    if request.method not in SAFE_METHODS:
        return responses.method_not_allowed(), NO_TIER
    store = runtime.get_store()
    route = edge.route(request)
    if route == edge.CACHED and request.method == "GET" and not _edge_keeps(blob, store):
        return _pointer(request, blob), NO_TIER
    # The edge clears Range and the conditionals when it asks for what it caches (and sends its
    # own If-None-Match to revalidate); a HEAD it does not store gets the client's, as X-Client-*.
    headers = edge.ClientHeaders(request) if route == edge.CACHED and request.method == "HEAD" else request.headers
    decision = conditional.plan(request.method, headers, size=blob.size, etag=blob.etag)
    if not decision.has_body:
        return responses.bodyless(decision, blob), NO_TIER
    try:
        if request.method == "HEAD":
            tier = store.locate(blob)
            return responses.media_response(blob, decision, None, tier), tier
        content = store.fetch(blob)
        if route == edge.HANDOVER:
            return _handed_over(blob, decision, content, headers), content.tier
        return responses.media_response(blob, decision, content, content.tier), content.tier
    except MediaNotFound:
        logger.warning("media.gone hash=%s: origin object missing, marked expired", blob.sha256)
        mark_expired(blob.sha256)
        return responses.not_found(), NO_TIER
    except OriginUnavailable as error:
        logger.warning("media.unavailable hash=%s: %s", blob.sha256, error)
        return responses.unavailable(media_settings.MEDIA_RETRY_AFTER_SECONDS), NO_TIER


def _edge_keeps(blob: BlobInfo, store) -> bool:
    """Whether the edge may cache the object itself: small enough for the hot tier (and caching on).

    Larger ones would churn the edge's cache; they are disk-tier files, handed over instead.
    """
    return store.caching and blob.size <= media_settings.MEDIA_REDIS_MAX_OBJECT_BYTES


def _pointer(request: HttpRequest, blob: BlobInfo) -> HttpResponse:
    """What the edge caches for a large object: a pointer to its hand-over (or a 304 to its
    revalidation). No bytes are read here, so no origin download happens for it."""
    decision = conditional.plan("GET", request.headers, size=blob.size, etag=blob.etag)
    if decision.status == 304:
        return responses.bodyless(decision, blob)
    return edge.pointer(blob, request.path)


def _handed_over(blob: BlobInfo, decision: conditional.Plan, content, headers) -> HttpResponse:
    """A GET the edge sends on from a pointer, with the client's own headers.

    A verified disk file goes to nginx (X-Accel-Redirect): the thread is free at once and nginx
    answers Range/If-Range itself. Not with If-Match, which nginx would refuse without its own
    ETag (rare: answered here), nor when there is no file (caching off, disk unavailable).
    """
    if content.file is not None and media_settings.MEDIA_ACCEL_REDIRECT and headers.get("If-Match") is None:
        content.file.close()
        whole = conditional.plan("GET", {}, size=blob.size, etag=blob.etag)
        response = edge.accel_redirect(blob, responses.media_headers(blob, whole, content.tier))
        response.media_bytes = decision.length
        return response
    return responses.media_response(blob, decision, content, content.tier)
