"""A real local HTTP server for download tests, scripted per path, that counts what reaches it.

Why not only pytest-httpserver: the SSRF tests must prove that *no socket* was opened to a
forbidden address, so the server counts accepted connections, not just requests; the byte-cap
and timeout tests need responses that no well-behaved framework sends (a lying
``Content-Length``, a close-delimited body, a body dripped byte by byte). Each response is a
small function writing to the raw connection.

The server listens on 127.0.0.1 and, when the machine has IPv6, on ``::1`` with the same port,
so ``http://[::1]:<port>/`` would reach it too if the guard let it through.
"""

from __future__ import annotations

import gzip
import http.server
import itertools
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Responder = Callable[[http.server.BaseHTTPRequestHandler], None]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Listener

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.owner.dispatch(self)

    do_HEAD = do_POST = do_GET  # noqa: N815

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # the tests read ``requests``; stderr noise helps nobody

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            pass  # the client hung up on purpose (byte cap, timeout)


class _Listener(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: LocalHTTPServer, family: int = socket.AF_INET) -> None:
        self.address_family = family
        self.owner = owner
        super().__init__(address, _Handler)

    def process_request(self, request, client_address) -> None:
        self.owner.count_connection()
        super().process_request(request, client_address)


class LocalHTTPServer:
    """Routes are ``path -> responder``; unknown paths answer 404. Use as a context manager."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.routes: dict[str, Responder] = {}
        self.requests: list[Recorded] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._listeners = [_Listener((host, 0), self)]
        self.port = self._listeners[0].server_address[1]
        self.ipv6 = host == "127.0.0.1" and self._listen_on_ipv6_loopback()
        self._threads: list[threading.Thread] = []

    def _listen_on_ipv6_loopback(self) -> bool:
        try:
            self._listeners.append(_Listener(("::1", self.port), self, socket.AF_INET6))
        except OSError:
            return False  # no IPv6 here (or the port is taken on ::1): 127.0.0.1 only
        return True

    def __enter__(self) -> LocalHTTPServer:
        for listener in self._listeners:
            thread = threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc_info) -> None:
        for listener in self._listeners:
            listener.shutdown()
            listener.server_close()

    # -- scripting ---------------------------------------------------------------------------
    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def route(self, path: str, responder: Responder) -> str:
        """Serve ``path`` with ``responder``; returns the full URL."""
        self.routes[path] = responder
        return self.url(path)

    def serve(self, path: str, body: bytes, content_type: str = "application/octet-stream", **options) -> str:
        return self.route(path, respond(body, content_type=content_type, **options))

    def requests_for(self, path: str) -> list[Recorded]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    # -- internals ---------------------------------------------------------------------------
    def count_connection(self) -> None:
        with self._lock:
            self.connections += 1

    def dispatch(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        path = handler.path
        with self._lock:
            self.requests.append(Recorded(handler.command, path, dict(handler.headers.items())))
        responder = self.routes.get(path.split("?", 1)[0], respond(b"not found", status=404))
        responder(handler)


# -- responders --------------------------------------------------------------------------------


def respond(
    body: bytes = b"",
    *,
    status: int = 200,
    content_type: str = "application/octet-stream",
    headers: dict[str, str] | None = None,
    delay: float = 0.0,
    chunked: bool = False,
    gzipped: bool = False,
) -> Responder:
    """An honest response (``Content-Length`` or chunked), after ``delay`` seconds."""

    def responder(handler) -> None:
        if delay:
            time.sleep(delay)
        payload = gzip.compress(body) if gzipped else body
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        if gzipped:
            handler.send_header("Content-Encoding", "gzip")
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for start in range(0, len(payload), 16 * 1024):
                piece = payload[start : start + 16 * 1024]
                handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            handler.wfile.write(b"0\r\n\r\n")
            return
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)

    return responder


def redirect(location: str, status: int = 302) -> Responder:
    return respond(b"", status=status, headers={"Location": location})


def raw(status_line_and_headers: str, body: bytes = b"") -> Responder:
    """Exactly these bytes on the wire (for lying headers); closes the connection after."""

    def responder(handler) -> None:
        handler.wfile.write(status_line_and_headers.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body)
        handler.wfile.flush()
        handler.close_connection = True

    return responder


def close_delimited(body: bytes, content_type: str = "application/octet-stream") -> Responder:
    """HTTP/1.0 style: no Content-Length, no chunking — the body ends when the connection closes."""
    return raw(f"HTTP/1.1 200 OK\nContent-Type: {content_type}\nConnection: close", body)


def drip(body: bytes, *, interval: float) -> Responder:
    """Headers at once, then the body one byte every ``interval`` seconds (close-delimited)."""

    def responder(handler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
        handler.wfile.flush()
        handler.close_connection = True
        for byte in body:
            time.sleep(interval)
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()

    return responder


def sequence(*responders: Responder) -> Responder:
    """The n-th request gets the n-th responder; the last one repeats."""
    calls = itertools.count()
    lock = threading.Lock()

    def responder(handler) -> None:
        with lock:
            index = next(calls)
        responders[min(index, len(responders) - 1)](handler)

    return responder
