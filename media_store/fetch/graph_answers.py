"""What the Graph API's answers mean: the metadata of a media ID, and how each failure is classified.

Pure functions of bytes and status codes, no I/O, so every rule here is tested without a
server; ``fetch.graph`` (the client) makes the requests and applies them.

Failures become ``DownloadError`` with ``permanent`` decided by the Graph ``error.code`` first
and the HTTP status second — the Graph API answers rate limits with HTTP 400, so the status
alone would call them permanent (COMPAT.md):

- permanent: 100 (unknown/expired ID, subcode 33), 190 (token expired or invalid), any other 4xx;
- transient: 4, 80007, 130429 (rate limits), HTTP 408/429/5xx, and bytes that do not match the
  announced ``sha256``/``file_size`` (a truncated transfer).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

import requests

from media_store.exceptions import DownloadError
from media_store.fetch.retry import parse_retry_after
from media_store.ingest.staging import StagedFile

PERMANENT_CODES = frozenset({100, 190})
TRANSIENT_CODES = frozenset({4, 80007, 130429})
TOKEN_EXPIRED_CODE = 190
EXPIRED_URL_STATUSES = frozenset({401, 403, 404, 410})  # a download URL answering these has expired


@dataclass(frozen=True)
class MediaMetadata:
    """What ``GET /{media_id}`` says about a media object."""

    media_id: str
    url: str
    mime_type: str
    sha256: str  # as sent: hex (the Graph API) or base64 (webhooks); compared as bytes
    file_size: int | None


class GraphError(DownloadError):
    """An error answer of the Graph API, with its ``error.code`` and ``error_subcode``."""

    code = "graph_error"

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None,
        graph_code: int | None = None,
        subcode: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, permanent=permanent, status=status, retry_after=retry_after)
        self.graph_code = graph_code
        self.subcode = subcode


def is_permanent(status: int, graph_code: int | None) -> bool:
    """The retry decision for an error answer: the Graph code wins, then the HTTP status."""
    if graph_code in PERMANENT_CODES:
        return True
    if graph_code in TRANSIENT_CODES or status in (408, 429) or status >= 500:
        return False
    return 400 <= status < 500


def graph_error(response: requests.Response, body: bytes, media_id: str) -> GraphError:
    """Translate an error answer (any status ≥ 300) into a classified ``GraphError``."""
    error = _error_object(body)
    graph_code = _int_or_none(error.get("code"))
    subcode = _int_or_none(error.get("error_subcode"))
    text = str(error.get("message") or response.reason or "no error message")[:300]
    label = "error" if graph_code is None else f"code {graph_code}"
    if graph_code is not None and subcode is not None:
        label += f"/{subcode}"
    return GraphError(
        f"Graph API {label} (HTTP {response.status_code}) for media {media_id}: {text}",
        permanent=is_permanent(response.status_code, graph_code),
        status=response.status_code,
        graph_code=graph_code,
        subcode=subcode,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def parse_metadata(media_id: str, body: bytes) -> MediaMetadata:
    """The fields we need from a 200 answer; a malformed one is a transient upstream fault."""
    try:
        data = json.loads(body)
    except ValueError:
        raise DownloadError(f"Graph API sent unreadable metadata for media {media_id}") from None
    url = data.get("url") if isinstance(data, dict) else None
    if not isinstance(url, str) or not url:
        raise DownloadError(f"Graph API metadata for media {media_id} has no download url")
    return MediaMetadata(
        media_id=str(data.get("id") or media_id),
        url=url,
        mime_type=str(data.get("mime_type") or ""),
        sha256=str(data.get("sha256") or ""),
        file_size=_int_or_none(data.get("file_size")),
    )


def expected_digest(value: str) -> bytes:
    """The 32 bytes of a SHA-256 written as hex (Graph API) or base64 (webhook payloads)."""
    text = value.strip()
    try:
        if len(text) == 64:
            return bytes.fromhex(text)
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        raise DownloadError(f"Graph API announced an unreadable sha256 {value[:80]!r}")
    return raw


def verify(meta: MediaMetadata, staged: StagedFile) -> None:
    """The bytes must be the ones announced; a mismatch is a broken transfer (transient)."""
    digests = staged.finish()
    if meta.file_size is not None and digests.size != meta.file_size:
        raise DownloadError(
            f"media {meta.media_id}: received {digests.size} bytes, the Graph API announced {meta.file_size}"
        )
    if meta.sha256 and bytes.fromhex(digests.sha256) != expected_digest(meta.sha256):
        raise DownloadError(f"media {meta.media_id}: content does not match the announced sha256")


def _error_object(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _int_or_none(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
