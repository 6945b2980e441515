"""Media from URLs as the CONTRACT §6 dictionaries: download, look up, describe, and small helpers.

``media_store.downloads`` re-exports these under the contract's names; the download steps (SSRF
check, negative cache, retried download, store, URL record) are ``fetch.urls``. Failures raise
``MediaError`` subclasses (see ``download_and_cache_media``).

Deviation from CONTRACT §6, on purpose: ``timeout`` defaults to None, meaning
``DOWNLOAD_TIMEOUT`` (30 s unless configured) — a literal 30 would make the setting useless
for Python callers. Passing ``timeout=30`` behaves exactly as the contract says.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from pathlib import Path

from django.template.defaultfilters import filesizeformat

from media_store import runtime
from media_store.conf import media_settings
from media_store.content.digests import is_md5, md5_file
from media_store.content.mediatypes import GENERIC_TYPES, MEDIA_TYPES, canonical, image_dimensions, media_type_for
from media_store.exceptions import MediaError, RejectedMedia
from media_store.fetch.urls import download_blob, download_blobs, failure, filename_from_url, url_hash
from media_store.models import Blob, SourceURL
from media_store.tiers.disk import DiskTier


def download_and_cache_media(url: str, media_type: str | None = None, timeout: float | None = None) -> dict:
    """Download ``url``, store it (deduplicated) and return its description.

    ``media_type`` (image|video|audio|document|sticker) is reported back as given; what the
    bytes are (MIME type, extension, disk folder) is always detected from the bytes.
    ``timeout`` is the per-attempt limit in seconds, ``DOWNLOAD_TIMEOUT`` when None.

    Raises ``BlockedURL`` (not http(s), or a private/loopback/link-local address on any hop),
    ``RecentlyFailed`` (failed permanently within ``FAILED_MEDIA_TTL``; no network access),
    ``PayloadTooLarge`` (over ``DOWNLOAD_MAX_BYTES``), ``DownloadError`` (``permanent`` for
    4xx and redirect loops, else transient after ``MAX_RETRIES`` attempts), ``RejectedMedia``
    (empty, decompression bomb), ``OriginUnavailable`` (the store could not keep it), and
    ``ValueError`` for a bad ``media_type`` or ``timeout``.
    """
    checked_type = _checked_media_type(media_type)
    blob, _created = download_blob(url, timeout=timeout)
    return describe(blob, url=url, media_type=checked_type)


def download_multiple_media(urls: Iterable[str], max_workers: int = 5, timeout: float | None = None) -> list[dict]:
    """Download several URLs concurrently; results in input order, a failure as ``{"url", "error"}``."""
    return [
        describe(outcome.blob, url=outcome.url) if outcome.blob is not None else failure(outcome)
        for outcome in download_blobs(urls, max_workers=max_workers, timeout=timeout)
    ]


def get_cache_stats() -> dict:
    """Files and bytes in the disk tier, by media type (temp files excluded)."""
    by_type = DiskTier(media_settings.MEDIA_CACHE_DIR).usage()
    return {
        "total_files": sum(usage["count"] for usage in by_type.values()),
        "total_size": sum(usage["size"] for usage in by_type.values()),
        "by_type": by_type,
    }


def format_size(n: int) -> str:
    """``"512 bytes"``, ``"1.5 KB"``, ``"12.0 MB"``: Django's ``filesizeformat`` with plain spaces."""
    if n < 0:
        raise ValueError(f"a size cannot be negative: {n}")
    return filesizeformat(n).replace("\xa0", " ")


def verify_cached_media(path: str | Path, expected_md5: str) -> bool:
    """True when the file exists and its MD5 is ``expected_md5`` (any case)."""
    if not is_md5(expected_md5.strip().lower()):
        return False
    try:
        return md5_file(path) == expected_md5.strip().lower()
    except OSError:
        return False


def find_cached_by_md5(md5: str) -> dict | None:
    """The stored content with this MD5 (its latest source URL, if any), or None.

    Like every result dict, its ``local_path`` is a real file: a copy evicted from the disk tier
    is streamed back from the origin first.
    """
    blob = Blob.objects.filter(md5=md5.strip().lower(), expired_at__isnull=True).first()
    if blob is None:
        return None
    source = blob.sources.order_by("-fetched_at").values_list("url", flat=True).first()
    return describe(blob, url=source)


def find_cached_by_url(url: str) -> dict | None:
    """What was last downloaded from ``url`` (kept in the database), or None."""
    source = SourceURL.objects.select_related("blob").filter(url_hash=url_hash(url)).first()
    if source is None or source.blob.expired_at is not None:
        return None
    return describe(source.blob, url=url)


def detect_media_type(url: str, mime_type: str | None = None) -> str:
    """image|video|audio|document from a MIME type, else from the URL's extension (no I/O)."""
    declared = canonical(mime_type)
    if declared and declared not in GENERIC_TYPES:
        return media_type_for(declared)
    guessed = canonical(mimetypes.guess_type(filename_from_url(url) or "")[0])
    return media_type_for(guessed) if guessed else "document"


def get_image_dimensions(path: str | Path) -> tuple[int, int] | None:
    """(width, height), or None when unreadable or over ``MEDIA_MAX_IMAGE_PIXELS`` (a bomb)."""
    try:
        return image_dimensions(path, media_settings.MEDIA_MAX_IMAGE_PIXELS)
    except RejectedMedia:
        return None


def describe(blob: Blob, *, url: str | None, media_type: str | None = None) -> dict:
    """The CONTRACT §6 dictionary for stored content."""
    return {
        "md5_sum": blob.md5,
        "sha256": blob.sha256,
        "local_path": _disk_copy(blob),
        "file_size": blob.size,
        "mime_type": blob.mime_type,
        "media_type": media_type or blob.media_type,
        "width": blob.width,
        "height": blob.height,
        "extension": blob.extension,
        "url": url,
    }


# -- internals ---------------------------------------------------------------------------------


def _checked_media_type(media_type: str | None) -> str | None:
    if media_type is not None and media_type not in MEDIA_TYPES:
        raise ValueError(f"media_type must be one of {', '.join(MEDIA_TYPES)}, not {media_type!r}")
    return media_type


def _disk_copy(blob: Blob) -> str | None:
    """The disk-tier file of a blob, refilled from the origin when it was evicted; None without a
    disk tier (``ENABLE_CACHING=false``) or when the origin cannot give the content back."""
    store = runtime.get_store()
    if store.disk is None:
        return None
    info = blob.info()
    if not store.disk.contains(info):
        try:
            store.fill_disk(info)
        except MediaError:
            return None
    return str(store.disk.path(info))
