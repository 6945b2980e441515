"""The S3 origin: any S3-compatible store (AWS, MinIO, R2, moto) through boto3."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from media_store.content.digests import CHUNK_SIZE
from media_store.exceptions import OriginUnavailable
from media_store.ops.metrics import counted_origin_call
from media_store.tiers.origin import ChunkStream, StoredObject

NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
BUCKET_CHECK_SECONDS = 60.0  # how long a confirmed bucket is trusted to exist


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
