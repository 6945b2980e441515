"""Incoming bytes on their way into the store: streamed to a temp file, hashed, capped.

Every way in — an upload, a local file, a URL, a WhatsApp media ID — feeds chunks to a
``StagedFile``. It writes them beside the disk tier (so adopting the file later is a rename),
computes SHA-256 and MD5 in the same pass, keeps the first bytes for type detection, and stops
the moment the byte cap is passed: a 10 GB upload costs us at most ``max_bytes`` of disk.
Used as a context manager it removes its temp file on any exit unless it was adopted.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from media_store.content.digests import CHUNK_SIZE, Digester, Digests
from media_store.content.mediatypes import HEAD_BYTES
from media_store.exceptions import PayloadTooLarge


class StagedFile:
    def __init__(self, temp_dir: str | Path, max_bytes: int) -> None:
        Path(temp_dir).mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._file = tempfile.NamedTemporaryFile(dir=temp_dir, prefix="stage-", delete=False)  # noqa: SIM115
        self.path = Path(self._file.name)
        self._digester = Digester()
        self.head = b""
        self.digests: Digests | None = None

    def __enter__(self) -> StagedFile:
        return self

    def __exit__(self, *exc_info) -> None:
        self.discard()

    @property
    def size(self) -> int:
        return self._digester.size

    def write(self, chunk: bytes) -> None:
        if self.size + len(chunk) > self.max_bytes:
            self.discard()
            raise PayloadTooLarge(f"content exceeds the limit of {self.max_bytes} bytes")
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        self._digester.update(chunk)
        self._file.write(chunk)

    def write_all(self, chunks: Iterable[bytes]) -> Digests:
        for chunk in chunks:
            self.write(chunk)
        return self.finish()

    def copy_from(self, stream: BinaryIO) -> Digests:
        return self.write_all(iter(lambda: stream.read(CHUNK_SIZE), b""))

    def finish(self) -> Digests:
        """Close the temp file and return the digests of everything written."""
        if self.digests is None:
            self._file.close()
            self.digests = self._digester.result()
        return self.digests

    def mark_adopted(self) -> None:
        """The temp file was moved elsewhere (into the disk tier): nothing left to remove."""
        self.path = None

    def discard(self) -> None:
        self._file.close()
        if self.path is not None:
            Path(self.path).unlink(missing_ok=True)
            self.path = None
