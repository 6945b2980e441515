"""CONTRACT §4–5 shapes, written out independently of the code that produces them (the oracle)."""

from __future__ import annotations

import hashlib

PUBLIC_BASE_URL = "http://media.example.test"  # what the root conftest sets


# The analysis of a plain RGB PNG (what ``tests.support.media.png_bytes`` makes), CONTRACT §3 ``metadata``.
PNG_RGB_METADATA = {
    "format": "PNG",
    "mode": "RGB",
    "has_alpha": False,
    "animated": False,
    "frames": 1,
    "orientation": 1,
    "rotation": 0,
}


def attachment_json(
    attachment, data: bytes, *, mime_type: str, media_type: str, width=None, height=None, duration=None, metadata=None
) -> dict:
    """The attachment JSON of the API and of ``--json`` output, for ``attachment`` holding ``data``."""
    return {
        "id": attachment.pk,
        "media_hash": attachment.media_hash,
        "short_url": f"{PUBLIC_BASE_URL}/media/{attachment.media_hash}",
        "mime_type": mime_type,
        "media_type": media_type,
        "file_size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5_sum": hashlib.md5(data).hexdigest(),
        "width": width,
        "height": height,
        "duration": duration,
        "metadata": {} if metadata is None else metadata,
    }
