"""Content digests and public tokens (pure functions, no Django).

SHA-256 identifies content (storage keys, ETags, dedup); MD5 is kept because callers and
legacy rows look media up by it. Both are computed in one pass while bytes stream past, so
nothing is ever read twice to be hashed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
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


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file, streamed (flat memory for any size)."""
    sha = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK_SIZE), b""):
            sha.update(chunk)
    return sha.hexdigest()


def new_token() -> str:
    """A public media token: 128 random bits from ``secrets``, never derived from content."""
    return secrets.token_hex(TOKEN_BYTES)


def is_token(value: str) -> bool:
    return bool(_TOKEN.fullmatch(value))


def is_sha256(value: str) -> bool:
    return bool(_SHA256.fullmatch(value))


def is_md5(value: str) -> bool:
    return bool(_MD5.fullmatch(value))
