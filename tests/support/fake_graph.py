"""A local fake of the WhatsApp Cloud API: the Graph API media endpoint and the media host.

A real HTTP server (``ThreadingHTTPServer`` on 127.0.0.1, one thread per request) that speaks
the real shapes (COMPAT.md):

- ``GET /v21.0/<media_id>`` with ``Authorization: Bearer <token>`` →
  ``{"messaging_product":"whatsapp","url":…,"mime_type":…,"sha256":<hex>,"file_size":"<n>","id":…}``
  (``file_size`` as a string, as the API sends it); an unknown ID → 400 code 100 subcode 33; a
  missing or wrong token → 401 code 190;
- ``GET /whatsapp_business/attachments/?mid=<id>&ext=<generation>&hash=…`` (the lookaside URL,
  a new generation per metadata call) → the bytes, only with the token and a non-empty
  User-Agent (401 otherwise).

Tests script it per media ID: ``fail_metadata``/``fail_download`` queue replies served before
the normal answer (a 500, a Graph error code, a 429 with Retry-After, a slow answer, corrupt
bytes); ``expire_urls`` makes the first download URL(s) answer 404/401/403/410; ``hold_metadata``
parks metadata requests until released. Every request is recorded (``calls``, ``count``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

GRAPH_VERSION = "v21.0"
MEDIA_PATH = "/whatsapp_business/attachments/"

RATE_LIMIT_MESSAGES = {
    4: "(#4) Application request limit reached",
    80007: "(#80007) Rate limit issues",
    130429: "(#130429) Rate limit hit",
}


@dataclass(frozen=True)
class Reply:
    """One scripted answer, served instead of the normal one."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds before answering (a slow server: client timeouts)


def json_reply(status: int, payload: dict, *, retry_after: str | None = None, delay: float = 0.0) -> Reply:
    headers = [("Content-Type", "application/json; charset=UTF-8")]
    if retry_after is not None:
        headers.append(("Retry-After", retry_after))
    return Reply(status, json.dumps(payload).encode(), tuple(headers), delay)


def graph_error(
    code: int,
    *,
    status: int = 400,
    message: str | None = None,
    subcode: int | None = None,
    error_type: str = "OAuthException",
    retry_after: str | None = None,
) -> Reply:
    """An error in the Graph API's shape: ``{"error": {message, type, code, error_subcode, fbtrace_id}}``."""
    error: dict = {"message": message or f"(#{code}) error", "type": error_type, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    return json_reply(status, {"error": error}, retry_after=retry_after)


def server_error(status: int = 500) -> Reply:
    """What the Graph API answers when it is having a bad day (code 2, ``is_transient``)."""
    return json_reply(
        status,
        {
            "error": {
                "message": "An unexpected error has occurred. Please retry your request later.",
                "type": "OAuthException",
                "is_transient": True,
                "code": 2,
                "fbtrace_id": "A" + secrets.token_urlsafe(16),
            }
        },
    )


def proxy_error(status: int = 502) -> Reply:
    """A load balancer's HTML error page: no Graph JSON at all."""
    return Reply(status, b"<html><body><h1>502 Bad Gateway</h1></body></html>", (("Content-Type", "text/html"),))


def rate_limited(code: int, *, status: int = 400, retry_after: str | None = None) -> Reply:
    """Throttling as the Graph API reports it: codes 4, 80007, 130429 (HTTP 400 unless told)."""
    return graph_error(code, status=status, message=RATE_LIMIT_MESSAGES[code], retry_after=retry_after)


def too_many_requests(retry_after: str | None = "1") -> Reply:
    """HTTP 429 with ``Retry-After`` (and code 4 in the body)."""
    return rate_limited(4, status=429, retry_after=retry_after)


def unknown_id(media_id: str) -> Reply:
    """Code 100 subcode 33: the ID does not exist, has expired, or is not ours."""
    return graph_error(
        100,
        subcode=33,
        error_type="GraphMethodException",
        message=(
            f"Unsupported get request. Object with ID '{media_id}' does not exist, cannot be loaded due to "
            "missing permissions, or does not support this operation. Please read the Graph API documentation "
            "at https://developers.facebook.com/docs/graph-api"
        ),
    )


def token_expired() -> Reply:
    """Code 190: the access token expired (subcode 463)."""
    return graph_error(
        190,
        status=401,
        subcode=463,
        message="Error validating access token: Session has expired on Friday, 22-Nov-24 02:00:00 PST.",
    )


def slow(seconds: float, reply: Reply | None = None) -> Reply:
    """``reply`` (default: a 500) after ``seconds`` — longer than the client's timeout."""
    base = reply or server_error()
    return Reply(base.status, base.body, base.headers, seconds)


def corrupt(data: bytes) -> Reply:
    """A 200 download with other bytes than announced (a truncated or mangled transfer)."""
    return Reply(200, data, (("Content-Type", "application/octet-stream"),))


@dataclass
class FakeMedia:
    media_id: str
    data: bytes
    mime_type: str
    sha256: str | None = None  # announced digest; default: the real one, in hex
    file_size: int | str | None = None  # announced size; default: the real one, as a string
    metadata_replies: deque[Reply | None] = field(default_factory=deque)  # None: the normal answer
    download_replies: deque[Reply | None] = field(default_factory=deque)
    expired_urls: int | None = 0  # URL generations that answer ``expired_status``; None: all
    expired_status: int = 404
    generation: int = 0


@dataclass(frozen=True)
class Call:
    kind: str  # "metadata" | "download"
    media_id: str
    path: str
    headers: dict[str, str]


class FakeGraph:
    """``with FakeGraph(token="test-token") as fake: settings.WHATSAPP_GRAPH_URL = fake.url``."""

    def __init__(self, *, token: str = "test-token") -> None:
        self.token = token
        self.media: dict[str, FakeMedia] = {}
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._gate: threading.Event | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> FakeGraph:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._gate is not None:
            self._gate.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """What ``WHATSAPP_GRAPH_URL`` should be set to."""
        return f"{self.origin}/{GRAPH_VERSION}"

    # -- scripting ------------------------------------------------------------------------------

    def add_media(
        self,
        media_id: str,
        data: bytes,
        mime_type: str,
        *,
        sha256: str | None = None,
        file_size: int | str | None = None,
    ) -> FakeMedia:
        media = FakeMedia(media_id, data, mime_type, sha256=sha256, file_size=file_size)
        with self._lock:
            self.media[media_id] = media
        return media

    def fail_metadata(self, media_id: str, reply: Reply, times: int = 1) -> None:
        """The next ``times`` metadata requests for ``media_id`` get ``reply``."""
        self.script_metadata(media_id, *[reply] * times)

    def fail_download(self, media_id: str, reply: Reply, times: int = 1) -> None:
        """The next ``times`` downloads of ``media_id`` (from a live URL) get ``reply``."""
        self.script_download(media_id, *[reply] * times)

    def script_metadata(self, media_id: str, *replies: Reply | None) -> None:
        """Queue answers for the next metadata requests; ``None`` means "answer normally"."""
        with self._lock:
            self.media[media_id].metadata_replies.extend(replies)

    def script_download(self, media_id: str, *replies: Reply | None) -> None:
        with self._lock:
            self.media[media_id].download_replies.extend(replies)

    def expire_urls(self, media_id: str, *, status: int = 404, count: int | None = 1) -> None:
        """The first ``count`` download URLs handed out (``None``: all) answer ``status``."""
        with self._lock:
            self.media[media_id].expired_urls = count
            self.media[media_id].expired_status = status

    def hold_metadata(self) -> threading.Event:
        """Metadata requests wait until the returned event is set (at most 10 s)."""
        self._gate = threading.Event()
        return self._gate

    # -- inspection -----------------------------------------------------------------------------

    def calls(self, kind: str | None = None, media_id: str | None = None) -> list[Call]:
        with self._lock:
            return [
                call
                for call in self._calls
                if (kind is None or call.kind == kind) and (media_id is None or call.media_id == media_id)
            ]

    def count(self, kind: str | None = None, media_id: str | None = None) -> int:
        return len(self.calls(kind, media_id))

    # -- answering ------------------------------------------------------------------------------

    def answer(self, path: str, query: str, headers: dict[str, str]) -> Reply:
        if path.startswith(f"/{GRAPH_VERSION}/"):
            media_id = path[len(GRAPH_VERSION) + 2 :]
            self._record("metadata", media_id, path, headers)
            if self._gate is not None:
                self._gate.wait(10)
            return self._metadata(media_id, headers)
        if path == MEDIA_PATH:
            args = parse_qs(query)
            media_id = args.get("mid", [""])[0]
            self._record("download", media_id, path, headers)
            return self._download(media_id, int(args.get("ext", ["0"])[0] or 0), headers)
        return json_reply(404, {"error": {"message": "Unknown path", "type": "OAuthException", "code": 803}})

    def _record(self, kind: str, media_id: str, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self._calls.append(Call(kind, media_id, path, headers))

    def _authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {self.token}"

    def _metadata(self, media_id: str, headers: dict[str, str]) -> Reply:
        if not self._authorized(headers):
            return graph_error(190, status=401, message="Invalid OAuth access token - Cannot parse access token")
        with self._lock:
            media = self.media.get(media_id)
            if media is None:
                return unknown_id(media_id)
            scripted = media.metadata_replies.popleft() if media.metadata_replies else None
            if scripted is not None:
                return scripted
            media.generation += 1
            generation = media.generation
        return json_reply(
            200,
            {
                "messaging_product": "whatsapp",
                "url": f"{self.origin}{MEDIA_PATH}?mid={media_id}&ext={generation}&hash={secrets.token_hex(8)}",
                "mime_type": media.mime_type,
                "sha256": media.sha256 if media.sha256 is not None else hashlib.sha256(media.data).hexdigest(),
                "file_size": media.file_size if media.file_size is not None else str(len(media.data)),
                "id": media_id,
            },
        )

    def _download(self, media_id: str, generation: int, headers: dict[str, str]) -> Reply:
        if not self._authorized(headers) or not headers.get("user-agent", "").strip():
            return Reply(401, b"Unauthorized", (("Content-Type", "text/plain"),))
        with self._lock:
            media = self.media.get(media_id)
            if media is None:
                return Reply(404, b"Not Found", (("Content-Type", "text/plain"),))
            if media.expired_urls is None or generation <= media.expired_urls:
                return Reply(media.expired_status, b"URL signature expired", (("Content-Type", "text/plain"),))
            scripted = media.download_replies.popleft() if media.download_replies else None
            if scripted is not None:
                return scripted
        return Reply(200, media.data, (("Content-Type", media.mime_type),))


def _handler_for(fake: FakeGraph) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = urlsplit(self.path)
            headers = {name.lower(): value for name, value in self.headers.items()}
            reply = fake.answer(parts.path, parts.query, headers)
            if reply.delay:
                time.sleep(reply.delay)
            try:
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
            pass

    return Handler
