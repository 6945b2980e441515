"""Several app nodes behind one edge: a node that fails before answering costs no error.

The first upstream here is a "dying node": it accepts the connection, reads the whole request
and closes without a word — what nginx sees from a gunicorn that is stopping (a kept-alive
connection closed under it, a backlog reset) or from a worker SIGKILLed mid-request. nginx
resends GETs on its own; it resends the ingest POSTs only because they carry an
``Idempotency-Key`` (deploy/nginx/, chat.idempotency) — the old edge answered those 502.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from chat.idempotency import HEADER
from tests.support.media import jpeg_bytes, png_bytes
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

API_TOKEN = "failover-token"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


class DyingNode:
    """Reads each request to its end, then hangs up; remembers what it was sent."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> DyingNode:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            with connection:
                self.requests.append(self._read_request(connection))

    @staticmethod
    def _read_request(connection: socket.socket) -> bytes:
        connection.settimeout(5)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                return received
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body


FAIL_TIMEOUT_SECONDS = 2  # the template's fail_timeout with several upstreams


@pytest.fixture(scope="module")
def edge_and_dying_node(start_edge):
    with DyingNode() as dying:
        edge = start_edge(upstreams=[dying.address], MEDIA_API_TOKEN=API_TOKEN, DOWNLOAD_ALLOW_PRIVATE_NETWORKS="true")
        yield edge, dying


@pytest.fixture
def two_nodes(edge_and_dying_node):
    """After a failure nginx skips the dying node for fail_timeout: each test starts once it is back."""
    time.sleep(FAIL_TIMEOUT_SECONDS + 0.2)
    return edge_and_dying_node


def until_the_dying_node_is_tried(dying: DyingNode, send, limit: int = 10) -> list[requests.Response]:
    """Send requests until one of them went to the dying node first (nginx's round robin decides)."""
    seen_before = len(dying.requests)
    answers = []
    while len(answers) < limit and len(dying.requests) == seen_before:
        answers.append(send(len(answers)))
    assert len(dying.requests) > seen_before, "the dying node was never tried: the test proves nothing"
    return answers


def test_an_upload_a_node_dropped_is_stored_once_by_the_next_node(two_nodes):
    edge, dying = two_nodes
    before = len(dying.requests)

    answers = until_the_dying_node_is_tried(
        dying,
        lambda n: requests.post(
            f"{edge.url}/api/attachments/", files={"file": (f"p{n}.png", png_bytes())}, headers=AUTH, timeout=30
        ),
    )

    assert {answer.status_code for answer in answers} == {201}, edge.log()
    dropped = dying.requests[before:]
    assert all(b"POST /api/attachments/ " in request for request in dropped)
    assert all(f"{HEADER.lower()}: edge-".encode() in request.lower() for request in dropped)
    assert len({answer.json()["id"] for answer in answers}) == len(answers)  # none lost, none doubled


def test_a_url_download_a_node_dropped_is_fetched_by_the_next_node(two_nodes, server):
    edge, dying = two_nodes
    url = server.serve("/dropped.jpg", jpeg_bytes(), content_type="image/jpeg")
    before = len(dying.requests)

    answers = until_the_dying_node_is_tried(
        dying, lambda _n: requests.post(f"{edge.url}/api/media/download", json={"url": url}, headers=AUTH, timeout=30)
    )

    assert {answer.status_code for answer in answers} == {201}, edge.log()
    assert all(b"POST /api/media/download " in request for request in dying.requests[before:])


def test_the_clients_own_key_is_passed_on_and_a_retry_with_it_is_replayed(two_nodes):
    edge, _dying = two_nodes
    headers = {**AUTH, HEADER: "client-key-1"}

    first = requests.post(f"{edge.url}/api/attachments/", files={"file": ("k.png", png_bytes())}, headers=headers)
    again = requests.post(f"{edge.url}/api/attachments/", files={"file": ("k.png", png_bytes())}, headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
