"""What the Graph API's answers mean, without a server: the retry decision, announced digests
and sizes. (The same rules against a fake Graph API server: ``test_graph.py``.)"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from media_store.exceptions import DownloadError
from media_store.fetch.graph_answers import expected_digest, is_permanent, parse_metadata

MEDIA_ID = "1037543291543636"


@pytest.mark.parametrize(
    ("status", "code", "permanent"),
    [
        (400, 4, False),
        (400, 80007, False),
        (403, 130429, False),
        (500, 100, True),
        (500, 190, True),
        (400, None, True),
        (429, None, False),
        (408, None, False),
        (504, None, False),
        (400, 2, True),
    ],
)
def test_is_permanent_keys_off_the_code_before_the_status(status, code, permanent):
    assert is_permanent(status, code) is permanent


def test_expected_digest_reads_hex_base64_and_base64url():
    digest = hashlib.sha256(b"voice note").digest()

    assert expected_digest(digest.hex()) == digest
    assert expected_digest(digest.hex().upper()) == digest
    assert expected_digest(base64.b64encode(digest).decode()) == digest
    assert expected_digest(base64.urlsafe_b64encode(digest).decode().rstrip("=")) == digest


@pytest.mark.parametrize(
    "value", ["nothex" * 8 + "zzzzzzzzzzzzzzzz", "abc", "!!!!", base64.b64encode(b"short").decode()]
)
def test_an_unreadable_announced_digest_is_an_error(value):
    with pytest.raises(DownloadError, match="unreadable sha256") as caught:
        expected_digest(value)

    assert caught.value.permanent is False


@pytest.mark.parametrize(
    ("file_size", "expected"),
    [(300, 300), ("300", 300), (" 300 ", 300), (None, None), ("12kb", None), (True, None), (-1, -1)],
)
def test_the_announced_size_is_read_from_a_number_or_a_string(file_size, expected):
    body = {"url": "https://lookaside.example/x", "mime_type": "image/jpeg", "sha256": "", "id": MEDIA_ID}
    if file_size is not None:
        body["file_size"] = file_size

    meta = parse_metadata(MEDIA_ID, json.dumps(body).encode())

    assert meta.file_size == expected
