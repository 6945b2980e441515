"""A database that is restarting or unreachable is an outage, not a bug: ``503`` + ``Retry-After``.

Without this, a request in flight while PostgreSQL restarts ends in Django's HTML 500 page — which
a gateway would send to WhatsApp as the media, and which tells an API client nothing. Connection
errors (``OperationalError``, ``InterfaceError``) become: a tiny ``text/plain`` 503 with the media
headers under ``/media/``, a JSON 503 elsewhere, both ``no-store`` with ``Retry-After``. Django's
connection health checks replace the broken connection on the next request. Any other error is
left to Django (a real 500, logged with its traceback).
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

from media_store.conf import media_settings
from media_store.serving import responses

logger = logging.getLogger("media_store.degraded")


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("media.degraded tier=database error=%s: %s (answered 503)", type(exception).__name__, exception)
        retry_after = media_settings.MEDIA_RETRY_AFTER_SECONDS
        if request.path.startswith("/media/"):
            return responses.error(503, "database unavailable, retry later", **{"Retry-After": str(retry_after)})
        response = JsonResponse(
            {"status": "error", "reason": "unavailable", "detail": "the database is unavailable; retry later"},
            status=503,
        )
        response["Retry-After"] = str(retry_after)
        response["Cache-Control"] = "no-store"
        return response
