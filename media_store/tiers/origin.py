"""The origin tier's interface: the durable copy of every blob — S3 (``tiers.s3``) or a folder
(``tiers.folder``).

Both implementations speak this small interface and translate vendor errors at the edge: a
missing object is ``None``; an unreachable or failing origin raises ``OriginUnavailable`` (which
the views turn into 503 + Retry-After).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple, Protocol


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
