"""``/media/<token>``: resolve the public token, then let the engine serve the content.

This view is the seam between the chat domain (which owns tokens) and the engine (which owns
content): one cached lookup, one call. It is csrf-exempt so that a POST gets the contract's
405 rather than a CSRF 403; it never sets cookies.
"""

from __future__ import annotations

import time

from django.views.decorators.csrf import csrf_exempt

from chat.resolver import get_resolver
from media_store.serving import edge, responses
from media_store.serving.serve import NO_TIER, SAFE_METHODS, observe, serve_blob
from media_store.variants.http import variant_response


@csrf_exempt
def media(request, token: str, ext: str | None = None):
    """GET/HEAD ``/media/<token>`` and ``/media/<token>.<ext>`` (the extension is cosmetic)."""
    if request.method not in SAFE_METHODS:
        return responses.method_not_allowed()
    blob = _resolve(request, token)
    if blob is None:
        return _not_found(request)
    response = serve_blob(request, blob)
    if response.status_code == 404:
        get_resolver().forget(token)  # the content is gone: stop serving it from our memory
    return response


@csrf_exempt
def media_variant(request, token: str, variant: str):
    """GET/HEAD ``/media/<token>/<variant>.<ext>``: the attachment in a channel's form (CONTRACT §4),
    made on first request, then served by the same ``serve_blob`` as any content."""
    if request.method not in SAFE_METHODS:
        return responses.method_not_allowed()
    blob = _resolve(request, token)
    if blob is None:
        return _not_found(request)
    return variant_response(request, blob, variant)


def _resolve(request, token: str):
    """The token's content, or None. The edge revalidates what it holds with If-None-Match (it
    never forwards a client's): that is answered from the database, so a deletion reaches the
    edge within MEDIA_EDGE_TTL; everything else from this worker's token map."""
    revalidating = "HTTP_IF_NONE_MATCH" in request.META and edge.route(request) == edge.CACHED
    return get_resolver().resolve(token, fresh=revalidating)


def _not_found(request):
    response = responses.not_found()
    observe(request, response, NO_TIER, time.perf_counter())
    return response


@csrf_exempt
def unknown_media(request, rest: str = ""):
    """Anything under /media/ that is not a well-formed token: 404 (or 405), never a page."""
    if request.method not in SAFE_METHODS:
        return responses.method_not_allowed()
    return responses.not_found()
