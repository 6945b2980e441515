"""Fixtures for the chat tests: real files on disk, attachments made through the real ingest path."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from chat.services import attach_file
from media_store import runtime

# CONTRACT §4–5: the attachment JSON of the API and of ``--json`` command output, in this order.
ATTACHMENT_KEYS = [
    "id",
    "media_hash",
    "short_url",
    "mime_type",
    "media_type",
    "file_size",
    "sha256",
    "md5_sum",
    "width",
    "height",
    "duration",
    "metadata",
]


OPERATOR_TOKEN = "chat-operator-token"


@pytest.fixture
def api(settings) -> Client:
    """A client of the operator API: ``Authorization: Bearer`` with the configured token."""
    settings.MEDIA_API_TOKEN = OPERATOR_TOKEN
    return Client(headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})


@pytest.fixture
def attachment_keys() -> list[str]:
    return list(ATTACHMENT_KEYS)


@pytest.fixture
def write_file(tmp_path):
    """Write bytes to ``<tmp>/files/<name>`` (apart from the cache and origin folders)."""

    def write(name: str, data: bytes) -> Path:
        path = tmp_path / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    return write


@pytest.fixture
def attach(write_file):
    """Create an attachment from bytes through ``chat.services.attach_file``."""

    def make(data: bytes, filename: str = "upload"):
        return attach_file(write_file("source", data), filename=filename)

    return make


@pytest.fixture
def origin_objects(settings):
    """The origin's objects under this test's key prefix, as ``[(key, size), ...]``."""

    def objects() -> list[tuple[str, int]]:
        return sorted((item.key, item.size) for item in runtime.get_origin().iter_objects(settings.MEDIA_S3_PREFIX))

    return objects


@pytest.fixture
def staging_leftovers(settings):
    """Files left in the staging folder ``<MEDIA_CACHE_DIR>/.tmp`` (it may not exist yet)."""

    def leftovers() -> list[Path]:
        folder = Path(settings.MEDIA_CACHE_DIR) / ".tmp"
        return sorted(folder.iterdir()) if folder.exists() else []

    return leftovers
