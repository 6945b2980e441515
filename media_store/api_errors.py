"""DRF exception handler: engine errors become JSON with the status their class declares."""

from __future__ import annotations

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import MediaError


def exception_handler(exc, context):
    if isinstance(exc, MediaError):
        return Response({"detail": str(exc), "code": exc.code}, status=exc.http_status)
    return drf_exception_handler(exc, context)
