"""Misbehaving and well-behaved HTTP clients for the edge's load tests, on raw sockets.

Each runs in a thread until ``stop`` is set, so a test decides how long the pressure lasts;
all of them talk to 127.0.0.1 only.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests


def slow_download(port: int, path: str, stop: threading.Event, *, chunk: int = 16384, pause: float = 0.1) -> int:
    """Download at ~chunk/pause bytes a second with a tiny receive window; returns bytes read."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, chunk)
        sock.settimeout(30)
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        received = 0
        while not stop.is_set():
            data = sock.recv(chunk)
            if not data:
                break
            received += len(data)
            time.sleep(pause)
        return received


def slowloris(port: int, stop: threading.Event, *, pause: float = 1.0) -> None:
    """Send a request header one byte a second, never finishing it."""
    with socket.socket() as sock:
        sock.settimeout(30)
        sock.connect(("127.0.0.1", port))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        while not stop.wait(pause):
            try:
                sock.sendall(b"X")
            except OSError:
                return  # the server gave up on us (client_header_timeout): that is the point


def slow_upload(port: int, stop: threading.Event, *, size: int = 1024 * 1024, token: str = "") -> None:
    """POST a multipart upload announced as ``size`` bytes, sent 1 KiB every 0.2 s."""
    boundary = "slowuploadboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    with socket.socket() as sock:
        sock.settimeout(30)
        sock.connect(("127.0.0.1", port))
        sock.sendall(
            (
                f"POST /api/attachments/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {size}\r\n\r\n"
            ).encode()
            + head
        )
        while not stop.wait(0.2):
            try:
                sock.sendall(b"x" * 1024)
            except OSError:
                return


@dataclass
class FastRequests:
    """GETs in a loop while the pressure lasts: how many succeeded, and every failure."""

    urls: list[str]
    served: int = 0
    failures: list[str] = field(default_factory=list)

    def run(self, stop: threading.Event) -> None:
        session = requests.Session()
        index = 0
        while not stop.is_set():
            url = self.urls[index % len(self.urls)]
            index += 1
            try:
                response = session.get(url, timeout=5)
                if response.status_code == 200:
                    self.served += 1
                else:
                    self.failures.append(f"{url}: {response.status_code}")
            except requests.RequestException as error:
                self.failures.append(f"{url}: {error.__class__.__name__}")


def under_pressure(pressure: Callable[[threading.Event], object], clients: int, fast: FastRequests, seconds: float):
    """Start ``clients`` threads of ``pressure``, let them settle, run ``fast`` for ``seconds``."""
    stop = threading.Event()
    threads = [threading.Thread(target=pressure, args=(stop,), daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # every pressure connection is open and holding on
    fast_stop = threading.Event()
    runner = threading.Thread(target=fast.run, args=(fast_stop,), daemon=True)
    runner.start()
    time.sleep(seconds)
    fast_stop.set()
    runner.join(timeout=10)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    return fast
