"""Requests that came through the edge (nginx, deploy/nginx/), and the answers only it can use.

The edge proves itself with ``X-Mediacache-Edge: <secret>``, a value derived from
``SECRET_KEY``: a client that reaches gunicorn some other way cannot forge it, so it can
neither make the app answer with ``X-Accel-Redirect`` (an empty body to anyone but nginx) nor
smuggle "client" conditionals. The secret goes into the rendered nginx.conf only.

Two routes come from the edge (``route``):

- ``CACHED``: its caching location. nginx clears ``Range`` and the conditionals there (it asks
  for whole objects, caches them, and answers Range/If-None-Match itself) and sends its own
  ``If-None-Match`` to revalidate. Small objects are answered whole; a large one gets a
  *pointer* (``307`` + ``X-Mediacache-Pointer``), which the edge caches like an object and
  turns into a request on the second route. A HEAD, which it does not store, is answered with
  the client's own headers, passed as ``X-Client-*``.
- ``HANDOVER``: the edge following a pointer, with the client's headers untouched. A verified
  disk file is then handed to nginx with ``X-Accel-Redirect``.

Why a pointer: nginx's cache lock makes concurrent requests for an uncached key wait (polling
every half second) for an entry that, for a hand-over, would never come. A cached pointer
keeps the lock for what is cached, and lets large objects through without waiting.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from media_store.content.blobs import BlobInfo

CONTENT_SECURITY_POLICY = "default-src 'none'; media-src 'self'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
EDGE_HEADER = "X-Mediacache-Edge"
_EDGE_META = "HTTP_X_MEDIACACHE_EDGE"
ACCEL_PREFIX = "/_disk/"  # nginx's internal location aliasing MEDIA_CACHE_DIR
CLIENT_HEADERS = ("Range", "If-Range", "If-None-Match", "If-Match")
_HANDOVER_META = "HTTP_X_MEDIACACHE_HANDOVER"  # set by the edge's @handover location
POINTER_STATUS = 307
CACHED, HANDOVER = "cached", "handover"


def edge_secret() -> str:
    """The value the edge sends in ``X-Mediacache-Edge`` (an HMAC of SECRET_KEY, not the key)."""
    return hmac.new(settings.SECRET_KEY.encode(), b"mediacache-edge-v1", hashlib.sha256).hexdigest()[:40]


def from_edge(request: HttpRequest) -> bool:
    value = request.META.get(_EDGE_META)
    return value is not None and hmac.compare_digest(value.encode(), edge_secret().encode())


def route(request: HttpRequest) -> str | None:
    """``CACHED`` or ``HANDOVER`` for a request from the edge; None for anyone else."""
    if not from_edge(request):
        return None
    return HANDOVER if request.META.get(_HANDOVER_META) == "1" else CACHED


def pointer(blob: BlobInfo, path: str) -> HttpResponse:
    """The edge's cached stand-in for a large object (never sent to a client by the edge)."""
    response = HttpResponse(status=POINTER_STATUS, content_type="text/plain")
    response["Location"] = path
    response["ETag"] = blob.etag  # what the edge revalidates with
    response["Cache-Control"] = "no-store"  # for anyone but the edge, which ignores it
    response["X-Mediacache-Pointer"] = "1"
    return response


class ClientHeaders:
    """The client's own Range/conditionals (``X-Client-*``), other headers as received."""

    def __init__(self, request: HttpRequest) -> None:
        self._headers = request.headers

    def get(self, name: str, default: str | None = None) -> str | None:
        if name.title() in CLIENT_HEADERS:
            return self._headers.get(f"X-Client-{name}", default)
        return self._headers.get(name, default)


def accel_redirect(blob: BlobInfo, headers: dict[str, str]) -> HttpResponse:
    """Hand a verified disk-tier file to nginx: an empty body and where to find the file.

    nginx replaces the body with the file (sendfile; Range is its own) and rebuilds the headers
    in its internal location from these ``$upstream_http_*`` values.
    """
    response = HttpResponse()
    response["X-Accel-Redirect"] = ACCEL_PREFIX + quote(blob.disk_name)
    for name, value in headers.items():
        if name not in ("Content-Length", "Accept-Ranges"):  # nginx sets both for the file it sends
            response[name] = value
    return response
