"""The benchmark's floor: a bare Django view returning the same bytes from memory.

Routed only by ``bench/urls.py`` (``bench.settings``, which ``make bench`` uses; production never does).
It goes through the same middleware stack as ``/media/<hash>``, so the ratio between the two
is the cost of mediacache itself, not of Django.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.views.decorators.csrf import csrf_exempt

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@cache
def _payload(name: str) -> bytes:
    path = Path(settings.BENCH_FLOOR_DIR) / f"{name}.bin"
    if not _NAME.fullmatch(name) or not path.is_file():
        raise Http404("no such payload")
    return path.read_bytes()


@csrf_exempt
def floor(request, name: str) -> HttpResponse:
    return HttpResponse(_payload(name), content_type="application/octet-stream")


@csrf_exempt
def floor_file(request, name: str) -> FileResponse:
    """The same bytes as a plain ``FileResponse`` (gunicorn sends it with sendfile): Django's own
    floor for serving a file, to compare the disk tier with."""
    _payload(name)  # validates the name
    return FileResponse(open(Path(settings.BENCH_FLOOR_DIR) / f"{name}.bin", "rb"))  # noqa: SIM115
