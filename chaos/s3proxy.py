"""A fault proxy in front of the S3 endpoint (moto): pass, refuse with 503, slow down, corrupt bytes.

The app is pointed at this proxy instead of moto, so a fault is exactly what a real S3 outage
looks like on the wire: ``refuse`` answers every request with S3's own ``503 SlowDown`` XML,
``slow`` holds every request for ``delay`` seconds before forwarding it, and ``corrupt`` flips
bytes in the body of GETs of the chosen keys (same length; S3's response checksum headers
dropped, so only the app's own digest check can tell). Requests are forwarded with the
client's headers untouched (the signature covers ``Host``). Threaded: one thread per connection, HTTP/1.1 keep-alive.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "te", "upgrade"}
SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


@dataclass
class FaultState:
    mode: str = "pass"  # pass | refuse | slow | corrupt
    delay: float = 0.8
    corrupt_keys: set[str] = field(default_factory=set)  # object keys (without the bucket)
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1


class S3FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.state = FaultState()
        self.upstream_port = upstream_port
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def set(self, mode: str, *, corrupt_keys: set[str] | None = None) -> None:
        self.state.mode = mode
        if corrupt_keys is not None:
            self.state.corrupt_keys = set(corrupt_keys)


def _handler(proxy: S3FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _forward(self) -> None:
            state = proxy.state
            body = self._body()
            mode = state.mode
            state.count(f"{self.command} {mode}")
            if mode == "refuse":
                self._answer(503, [("Content-Type", "application/xml")], SLOW_DOWN)
                return
            if mode == "slow":
                threading.Event().wait(state.delay)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
            try:
                upstream.request(
                    self.command,
                    self.path,
                    body=body if body or self.command in ("PUT", "POST") else None,
                    headers=headers,
                )
                reply = upstream.getresponse()
                data = reply.read()
                status, reply_headers = reply.status, reply.getheaders()
            finally:
                upstream.close()
            if mode == "corrupt" and self.command == "GET" and status in (200, 206) and data:
                key = unquote(urlsplit(self.path).path).lstrip("/").split("/", 1)[-1]
                if key in state.corrupt_keys:
                    state.count("corrupted")
                    data = bytes(b ^ 0x5A for b in data[:64]) + data[64:]
                    # a store without response checksums (or a middlebox that rewrote them): only the
                    # app's own SHA-256 check can catch this, which is what the fault is for
                    reply_headers = [(k, v) for k, v in reply_headers if not k.lower().startswith("x-amz-checksum")]
            self._answer(status, reply_headers, data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward  # noqa: N815

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            pass

    return Handler
