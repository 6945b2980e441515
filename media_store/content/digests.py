"""Content digests and public tokens (pure functions, no Django).

SHA-256 identifies content (storage keys, ETags, dedup); MD5 is kept because callers and
legacy rows look media up by it. Both are computed in one pass while bytes stream past, so
nothing is ever read twice to be hashed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CHUNK_SIZE = 1024 * 1024
TOKEN_BYTES = 16  # 128 bits: unguessable, and 32 hex characters in the URL

_TOKEN = re.compile(r"[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MD5 = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Digests:
    sha256: str
    md5: str
    size: int


class Digester:
    """Feed it chunks; read ``sha256``/``md5``/``size`` at the end."""

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._sha256.update(chunk)
        self._md5.update(chunk)
        self.size += len(chunk)

    def result(self) -> Digests:
        return Digests(self._sha256.hexdigest(), self._md5.hexdigest(), self.size)


class DigestCheck:
    """Hash bytes as they pass, then tell whether they were exactly the expected content.

    The one hash-and-compare of the engine: the disk tier's fills, the origin stream's held-back
    last chunk, and ``verify_media`` all check copies through it (size too, when it is known).
    """

    def __init__(self, sha256: str, size: int | None = None) -> None:
        self.expected_sha256 = sha256
        self.expected_size = size
        self._sha256 = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._sha256.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def matches(self) -> bool:
        size_ok = self.expected_size is None or self.size == self.expected_size
        return size_ok and self.sha256 == self.expected_sha256

    @classmethod
    def of(cls, chunks: Iterable[bytes], sha256: str, size: int | None = None) -> DigestCheck:
        check = cls(sha256, size)
        for chunk in chunks:
            check.update(chunk)
        return check

    def mismatch(self) -> str:
        """What was found instead, for an error message."""
        return f"{self.size} bytes hashing to {self.sha256}, expected {self.expected_sha256}"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file, streamed (flat memory for any size)."""
    sha = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK_SIZE), b""):
            sha.update(chunk)
    return sha.hexdigest()


def md5_file(path: str | Path) -> str:
    """MD5 of a file, streamed (callers and legacy rows look media up by it)."""
    md5 = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK_SIZE), b""):
            md5.update(chunk)
    return md5.hexdigest()


def md5_bytes(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def new_token() -> str:
    """A public media token: 128 random bits from ``secrets``, never derived from content."""
    return secrets.token_hex(TOKEN_BYTES)


def is_token(value: str) -> bool:
    return bool(_TOKEN.fullmatch(value))


def is_sha256(value: str) -> bool:
    return bool(_SHA256.fullmatch(value))


def is_md5(value: str) -> bool:
    return bool(_MD5.fullmatch(value))
