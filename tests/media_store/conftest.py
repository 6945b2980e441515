"""Fixtures for the engine's tests: an injectable clock, plain clients to look behind the
engine's back (raw Redis, raw S3), ingest helpers and private servers that a test may kill.

The session's Redis and moto server (root ``conftest.py``) are never stopped here: fault
tests start their own and stop those.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
import redis

from media_store import runtime
from media_store.content.blobs import BlobInfo
from media_store.ingest import commit
from media_store.ingest.commit import store_file
from media_store.models import Blob
from media_store.ops.lifecycle import current_rules, expiration_days
from media_store.store import MediaStore
from media_store.tiers.hot import unpack, write_chunks
from tests.support.servers import RedisServer, free_port


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class RawRedis(redis.Redis):
    """A plain client whose ``get``/``set`` read and write hot-tier values in their stored form
    (a hash of chunks, see ``tiers.hot``), so tests can inspect or corrupt them directly."""

    def get(self, key):
        fields = self.hgetall(key)
        return unpack(fields) if fields else None

    def set(self, key, value, **kwargs):
        write_chunks(self, key, value, ttl=0)


@pytest.fixture
def raw_redis(redis_url) -> Iterator[redis.Redis]:
    """A plain client on the session Redis, to read what the engine stored."""
    client = RawRedis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def bucket(settings) -> str:
    """The session's S3 bucket (the root conftest points the engine at it)."""
    return settings.AWS_STORAGE_BUCKET_NAME


@pytest.fixture
def s3_client(s3_server):
    return boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening."""
    return free_port()


@pytest.fixture
def redis_servers() -> Iterator[Callable[..., RedisServer]]:
    """Start private redis-servers (optionally on a given port); all are stopped at teardown."""
    started: list[RedisServer] = []

    def start(port: int | None = None) -> RedisServer:
        server = RedisServer()
        if port is not None:
            server.port = port
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def store() -> MediaStore:
    """The engine built from the current settings (rebuilt whenever a test changes them)."""
    return runtime.get_store()


@pytest.fixture
def ingest(tmp_path) -> Callable[..., Blob]:
    """Store bytes through the real ingest path; returns the new Blob row."""
    counter = iter(range(10_000))

    def ingest_bytes(data: bytes, name: str = "upload.bin") -> Blob:
        source = tmp_path / "sources" / f"{next(counter)}-{name}"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(data)
        blob, _created = store_file(source)
        return blob

    return ingest_bytes


@dataclass(frozen=True)
class Reuse:
    """What S3 says of an object before and after it was used again once it was "a day" old."""

    first: datetime  # LastModified when stored
    reused_at: datetime  # just before the new use
    second: datetime  # LastModified after it
    days: int  # the bucket's expiration rule for the object's key
    answer: object  # what the new use returned


@pytest.fixture
def reuse_when_aging(s3_client, bucket, monkeypatch) -> Callable[[Blob, Callable[[], object]], Reuse]:
    """``reuse_when_aging(blob, use)``: make ``blob``'s object count as older than a day (in two
    seconds), call ``use()`` — a deduplicated ingest, a known media ID — and report its age and answer."""

    def last_modified(blob: Blob) -> datetime:
        return s3_client.head_object(Bucket=bucket, Key=blob.origin_key)["LastModified"]

    def reuse(blob: Blob, use: Callable[[], object]) -> Reuse:
        first = last_modified(blob)
        monkeypatch.setattr(commit, "REFRESH_AFTER_SECONDS", 1.0)  # "older than a day", in two seconds
        time.sleep(2.1)
        reused_at = datetime.now(UTC).replace(microsecond=0)
        answer = use()
        days = expiration_days(current_rules(runtime.get_origin()), blob.origin_key)
        return Reuse(first, reused_at, last_modified(blob), days, answer)

    return reuse


@pytest.fixture
def cache_dir(settings) -> Path:
    return Path(settings.MEDIA_CACHE_DIR)


@pytest.fixture
def temp_files(cache_dir) -> Callable[[], list[str]]:
    """Names of the files left in the disk tier's temp folder."""

    def list_temp() -> list[str]:
        folder = cache_dir / ".tmp"
        return sorted(path.name for path in folder.iterdir()) if folder.exists() else []

    return list_temp


def blob_info(data: bytes, *, media_type: str = "document", extension: str = ".bin", prefix: str = "t/") -> BlobInfo:
    """A BlobInfo for bytes that never went through ingest (tier unit tests)."""
    sha256 = hashlib.sha256(data).hexdigest()
    return BlobInfo(
        sha256=sha256,
        size=len(data),
        mime_type="application/octet-stream",
        media_type=media_type,
        extension=extension,
        origin_key=f"{prefix}{sha256[:2]}/{sha256}",
    )


@pytest.fixture
def make_info() -> Callable[..., BlobInfo]:
    return blob_info


def read_all(content) -> bytes:
    """The test's own read of a Content (closes what it opens)."""
    if content.data is not None:
        return content.data
    if content.file is not None:
        with content.file as file:
            return file.read()
    stream = content.open_origin(None, None)
    try:
        return b"".join(stream)
    finally:
        stream.close()
