"""Turn a store result and an HTTP plan into a Django response — nothing else.

The status and byte window come from ``conditional.plan``; the bytes from ``store.fetch``. Memory
objects are sliced, disk files are handed to the WSGI server's file wrapper (gunicorn uses
``sendfile`` for them: zero copies through Python), origin streams are passed through in
chunks. Every error response is tiny, ``no-store`` and never 2xx, so a gateway can never
mistake it for the media.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import BinaryIO

from django.http import FileResponse, HttpResponse, StreamingHttpResponse

from media_store.content.blobs import BlobInfo
from media_store.content.digests import DigestCheck
from media_store.serving import conditional
from media_store.serving.edge import CONTENT_SECURITY_POLICY
from media_store.store import Content
from media_store.tiers.origin import ChunkStream

logger = logging.getLogger("media_store.serving.responses")

FILE_BLOCK_SIZE = 256 * 1024  # when the server has no sendfile, read the disk in these chunks


class FileSlice:
    """``length`` bytes of an open file from ``start``, still exposing ``fileno()``.

    gunicorn's sendfile path reads the offset with ``lseek`` and the count from
    Content-Length, so a Range answer from disk is a single ``sendfile`` call; servers
    without sendfile call ``read()``, which stops at the end of the window.
    """

    def __init__(self, file: BinaryIO, start: int, length: int) -> None:
        self._file = file
        self._remaining = length
        file.seek(start)

    def read(self, size: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        size = self._remaining if size is None or size < 0 else min(size, self._remaining)
        data = self._file.read(size)
        self._remaining -= len(data)
        return data

    def fileno(self) -> int:
        return self._file.fileno()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        self._file.close()


def media_response(blob: BlobInfo, decision: conditional.Plan, content: Content | None, tier: str):
    """The 200/206 response (HEAD: ``content`` is None and the body empty)."""
    if content is None:
        response = HttpResponse()
    elif content.data is not None:
        data = content.data
        if decision.status == 206:
            data = data[decision.start : decision.start + decision.length]
        response = HttpResponse(data)
    elif content.file is not None:
        response = FileResponse(FileSlice(content.file, decision.start, decision.length))
        response.block_size = FILE_BLOCK_SIZE
    else:
        response = _origin_stream_response(blob, decision, content)
    response.status_code = decision.status
    _set_headers(response, media_headers(blob, decision, tier))
    return response


def media_headers(blob: BlobInfo, decision: conditional.Plan, tier: str) -> dict[str, str]:
    """Every header of a 200/206 answer (also what an X-Accel-Redirect hand-over restores)."""
    headers = {
        **decision.headers,
        "Content-Type": blob.mime_type,
        "Content-Length": str(decision.length),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Cache": "HIT" if tier != "origin" else "MISS",
        "X-Cache-Tier": tier,
    }
    if blob.as_attachment:
        headers["Content-Disposition"] = f'attachment; filename="{blob.sha256[:16]}{blob.extension}"'
    return headers


def _set_headers(response, headers: dict[str, str]) -> None:
    for name, value in headers.items():
        response[name] = value


def _origin_stream_response(blob: BlobInfo, decision: conditional.Plan, content: Content) -> StreamingHttpResponse:
    whole = decision.start == 0 and decision.length == blob.size
    end = decision.start + decision.length - 1
    stream = content.open_origin(None, None) if whole else content.open_origin(decision.start, end)
    chunks = _verified(stream, blob) if whole else _closing(stream)
    return StreamingHttpResponse(chunks)


def _closing(stream: ChunkStream) -> Iterator[bytes]:
    try:
        yield from stream
    finally:
        stream.close()


def _verified(stream: ChunkStream, blob: BlobInfo) -> Iterator[bytes]:
    """Pass chunks through while hashing, holding the last one back until the digest is known.

    On a mismatch the response is aborted *before* its last chunk, so the client gets fewer
    bytes than Content-Length — a failed download — and never accepts corrupt bytes as complete.
    """
    check = DigestCheck(blob.sha256, blob.size)
    held = b""
    try:
        for chunk in stream:
            if held:
                yield held
            check.update(chunk)
            held = chunk
    finally:
        stream.close()
    if not check.matches:
        logger.error("media.corrupt tier=origin hash=%s: aborted the response", blob.sha256)
        raise ConnectionAbortedError(f"origin copy of {blob.sha256} does not match its digest: {check.mismatch()}")
    if held:
        yield held


def bodyless(decision: conditional.Plan, blob: BlobInfo) -> HttpResponse:
    """304 / 412 / 416: headers from the plan, no body."""
    response = HttpResponse(status=decision.status)
    _set_headers(response, {**decision.headers, "Content-Security-Policy": CONTENT_SECURITY_POLICY})
    if decision.status == 416:
        response.headers["Content-Type"] = "text/plain"
    return response


def error(status: int, message: str, **headers: str) -> HttpResponse:
    """A tiny, uncacheable error body (never HTML: gateways forward 2xx bodies as media)."""
    response = HttpResponse(f"{message}\n", status=status, content_type="text/plain; charset=utf-8")
    _set_headers(
        response,
        {
            "Cache-Control": conditional.NO_STORE,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            **headers,
        },
    )
    return response


def not_found() -> HttpResponse:
    return error(404, "not found")


def method_not_allowed() -> HttpResponse:
    return error(405, "method not allowed", Allow="GET, HEAD")


def unavailable(retry_after: int) -> HttpResponse:
    return error(503, "origin unavailable, retry later", **{"Retry-After": str(retry_after)})
