"""The origin tier: the durable copy of every blob — S3 (any S3-compatible store) or a folder.

Both implementations speak the same small interface and translate vendor errors here, at
the edge: a missing object is ``None``; an unreachable or failing origin raises
``OriginUnavailable`` (which the views turn into 503 + Retry-After).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import boto3
from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from media_store.content.digests import CHUNK_SIZE
from media_store.exceptions import OriginUnavailable
from media_store.ops.metrics import counted_origin_call

NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
BUCKET_CHECK_SECONDS = 60.0  # how long a confirmed bucket is trusted to exist


class StoredObject(NamedTuple):
    key: str
    size: int
    modified: float  # unix time of the last write


class ChunkStream:
    """An open origin object: iterate for chunks, ``close()`` to release the connection."""

    def __init__(self, chunks: Iterator[bytes], closer) -> None:
        self._chunks = chunks
        self._closer = closer

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        self._closer()


class Origin(Protocol):
    name: str

    def head(self, key: str) -> int | None: ...

    def stat(self, key: str) -> StoredObject | None: ...

    def touch(self, key: str) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def open(self, key: str, start: int | None = None, end: int | None = None) -> ChunkStream | None: ...

    def put(self, key: str, path: str | Path, content_type: str, metadata: dict[str, str] | None = None) -> None: ...

    def delete(self, key: str) -> None: ...

    def iter_objects(self, prefix: str) -> Iterator[StoredObject]: ...

    def ping(self) -> None: ...


class S3Origin:
    name = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str = "",
        region: str = "",
        access_key: str = "",
        secret_key: str = "",
        timeout: float = 10.0,
    ) -> None:
        self.bucket = bucket
        self._bucket_confirmed_until = 0.0
        config = Config(
            connect_timeout=min(timeout, 5.0),
            read_timeout=timeout,
            retries={"max_attempts": 2, "mode": "standard"},
            max_pool_connections=64,
            # Only checksum when the API requires it: MinIO, R2 and older S3 clones reject
            # the CRC headers newer botocore sends by default.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            config=config,
        )

    @counted_origin_call("head")
    def head(self, key: str) -> int | None:
        response = self._call(self.client.head_object, Bucket=self.bucket, Key=key)
        if response is None:
            # A HEAD 404 has no body: "no such key" and "no such bucket" look the same. A
            # missing bucket is an outage (misconfiguration), not expired content.
            self._confirm_bucket()
            return None
        return int(response["ContentLength"])

    @counted_origin_call("head")
    def stat(self, key: str) -> StoredObject | None:
        """Size and last-write time (what S3 lifecycle counts an object's age from)."""
        response = self._call(self.client.head_object, Bucket=self.bucket, Key=key)
        if response is None:
            self._confirm_bucket()
            return None
        return StoredObject(key, int(response["ContentLength"]), response["LastModified"].timestamp())

    @counted_origin_call("copy")
    def touch(self, key: str) -> None:
        """Restart the object's age: a server-side copy onto itself (no bytes pass through us).

        S3 refuses a self-copy that changes nothing, so the metadata is "replaced" with itself.
        """
        head = self._call(self.client.head_object, Bucket=self.bucket, Key=key)
        if head is None:
            raise OriginUnavailable(f"s3 touch {key}: the object vanished")
        self._call(
            self.client.copy_object,
            Bucket=self.bucket,
            Key=key,
            CopySource={"Bucket": self.bucket, "Key": key},
            MetadataDirective="REPLACE",
            Metadata=head.get("Metadata", {}),
            ContentType=head.get("ContentType", "application/octet-stream"),
        )

    def get(self, key: str) -> bytes | None:
        stream = self.open(key)
        if stream is None:
            return None
        try:
            return b"".join(stream)
        finally:
            stream.close()

    @counted_origin_call("get")
    def open(self, key: str, start: int | None = None, end: int | None = None) -> ChunkStream | None:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if start is not None:
            kwargs["Range"] = f"bytes={start}-{'' if end is None else end}"
        response = self._call(self.client.get_object, **kwargs)
        if response is None:
            return None
        body = response["Body"]
        return ChunkStream(self._chunks(body), body.close)

    @counted_origin_call("put")
    def put(self, key: str, path: str | Path, content_type: str, metadata: dict[str, str] | None = None) -> None:
        extra = {"ContentType": content_type, "Metadata": metadata or {}}
        try:
            self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra)
        except (BotoCoreError, ClientError, Boto3Error, OSError) as error:  # upload_file wraps ClientError
            raise OriginUnavailable(f"s3 put {key}: {error}") from error

    @counted_origin_call("delete")
    def delete(self, key: str) -> None:
        self._call(self.client.delete_object, Bucket=self.bucket, Key=key)

    @counted_origin_call("list")
    def iter_objects(self, prefix: str) -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield StoredObject(item["Key"], int(item["Size"]), item["LastModified"].timestamp())
        except (BotoCoreError, ClientError) as error:
            raise OriginUnavailable(f"s3 list {prefix}: {error}") from error

    def ping(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as error:
            raise OriginUnavailable(f"s3 bucket {self.bucket}: {error}") from error

    def _confirm_bucket(self) -> None:
        now = time.monotonic()
        if now < self._bucket_confirmed_until:
            return
        self.ping()
        self._bucket_confirmed_until = now + BUCKET_CHECK_SECONDS

    def _call(self, method, **kwargs):
        try:
            return method(**kwargs)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in NOT_FOUND_CODES:
                return None
            raise OriginUnavailable(f"s3 {method.__name__} {kwargs.get('Key', '')}: {error}") from error
        except BotoCoreError as error:
            raise OriginUnavailable(f"s3 {method.__name__} {kwargs.get('Key', '')}: {error}") from error

    @staticmethod
    def _chunks(body) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(CHUNK_SIZE)
        except (BotoCoreError, OSError) as error:
            raise OriginUnavailable(f"s3 read interrupted: {error}") from error


class FilesystemOrigin:
    """A folder as origin (the embedded default, and a shared volume in small deployments)."""

    name = "filesystem"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _require_root(self) -> None:
        """ "Not found" is only believed while the folder itself is there: a missing root is an
        unmounted volume or a wrong setting, and must not mark content as expired."""
        if not self.root.is_dir():
            raise OriginUnavailable(f"filesystem origin {self.root} is missing (unmounted or misconfigured?)")

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"origin key escapes the origin folder: {key!r}")
        return path

    @counted_origin_call("head")
    def head(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            self._require_root()
            return None
        except OSError as error:
            raise OriginUnavailable(f"filesystem origin: {error}") from error

    @counted_origin_call("head")
    def stat(self, key: str) -> StoredObject | None:
        try:
            stat = self.path(key).stat()
        except FileNotFoundError:
            self._require_root()
            return None
        except OSError as error:
            raise OriginUnavailable(f"filesystem origin: {error}") from error
        return StoredObject(key, stat.st_size, stat.st_mtime)

    def touch(self, key: str) -> None:
        """Restart the file's age (the orphan sweep's grace period counts from its mtime)."""
        try:
            os.utime(self.path(key))
        except OSError as error:
            raise OriginUnavailable(f"filesystem origin touch {key}: {error}") from error

    @counted_origin_call("get")
    def get(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            self._require_root()
            return None
        except OSError as error:
            raise OriginUnavailable(f"filesystem origin: {error}") from error

    @counted_origin_call("get")
    def open(self, key: str, start: int | None = None, end: int | None = None) -> ChunkStream | None:
        try:
            file = open(self.path(key), "rb")  # noqa: SIM115 (closed by ChunkStream.close)
        except FileNotFoundError:
            self._require_root()
            return None
        except OSError as error:
            raise OriginUnavailable(f"filesystem origin: {error}") from error
        if start:
            file.seek(start)
        remaining = None if end is None else end - (start or 0) + 1
        return ChunkStream(_read_chunks(file, remaining), file.close)

    @counted_origin_call("put")
    def put(self, key: str, path: str | Path, content_type: str, metadata: dict[str, str] | None = None) -> None:
        self._require_root()
        final = self.path(key)
        temp_path = None
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=final.parent, prefix=".put-", delete=False) as temp:
                temp_path = temp.name
                with open(path, "rb") as source:
                    shutil.copyfileobj(source, temp, CHUNK_SIZE)
            os.chmod(temp_path, 0o644)
            os.replace(temp_path, final)
        except OSError as error:
            if temp_path:
                Path(temp_path).unlink(missing_ok=True)
            raise OriginUnavailable(f"filesystem origin put {key}: {error}") from error

    @counted_origin_call("delete")
    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink(missing_ok=True)
        except OSError as error:
            raise OriginUnavailable(f"filesystem origin delete {key}: {error}") from error

    @counted_origin_call("list")
    def iter_objects(self, prefix: str) -> Iterator[StoredObject]:
        base = self.root / prefix
        if not base.exists():
            return
        for dirpath, _dirs, files in os.walk(base):
            for filename in files:
                if filename.startswith(".put-"):
                    continue
                full = Path(dirpath) / filename
                stat = full.stat()
                yield StoredObject(str(full.relative_to(self.root)), stat.st_size, stat.st_mtime)

    def ping(self) -> None:
        """Read-only: the folder is created by ``migrate`` (see ``signals.py``), never by a check."""
        self._require_root()
        if not os.access(self.root, os.R_OK | os.W_OK):
            raise OriginUnavailable(f"filesystem origin {self.root} is not a writable folder")


def _read_chunks(file, remaining: int | None) -> Iterator[bytes]:
    while remaining is None or remaining > 0:
        chunk = file.read(CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining))
        if not chunk:
            return
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk
