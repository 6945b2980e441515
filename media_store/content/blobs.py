"""The Blob record the tiers work with, and the content-addressed names derived from it.

A ``BlobInfo`` is a frozen, ORM-free description of stored content; it is what the serving
path carries around (cheap to cache per process, safe to share between threads).
"""

from __future__ import annotations

from dataclasses import dataclass

from media_store.content.mediatypes import DISK_FOLDERS, is_inline_safe


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    size: int
    mime_type: str
    media_type: str
    extension: str
    origin_key: str

    @property
    def etag(self) -> str:
        return f'"{self.sha256}"'

    @property
    def disk_name(self) -> str:
        """Path of the disk-tier copy relative to ``MEDIA_CACHE_DIR``: by type, named by digest."""
        return f"{DISK_FOLDERS.get(self.media_type, 'documents')}/{self.sha256}{self.extension}"

    @property
    def as_attachment(self) -> bool:
        return not is_inline_safe(self.mime_type)


def origin_key_for(sha256: str, prefix: str) -> str:
    """Origin object key: ``<prefix><first two hex digits>/<sha256>`` (sharded, content-addressed)."""
    return f"{prefix}{sha256[:2]}/{sha256}"
