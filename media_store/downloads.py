"""Media from URLs into the store: fetched safely, deduplicated by SHA-256, remembered by URL.

The public functions are CONTRACT §6. Each download goes: SSRF check of the URL → negative
cache (a URL that failed permanently within ``FAILED_MEDIA_TTL`` is refused without touching
the network) → ``Downloader`` attempts under ``RetryPolicy`` (transient failures only) into a
``StagedFile`` (hashed and capped while streaming) → ``ingest.store_staged`` (one Blob per
SHA-256, one origin object, the temp file renamed into the disk tier) → ``SourceURL`` row.

Batches run the network part in a thread pool and the database part in the calling thread, as
each download finishes: the slow part (remote servers) is parallel, while the writes share the
caller's connection and transaction — no connection per thread, and SQLite's single writer is
never contended. Failures raise ``MediaError`` subclasses (see ``download_and_cache_media``).
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from django.db import connection, transaction
from django.utils import timezone

from . import runtime
from .conf import media_settings
from .digests import CHUNK_SIZE, is_md5
from .exceptions import (
    BlockedURL,
    DigestMismatch,
    MediaError,
    OriginUnavailable,
    RecentlyFailed,
    RejectedMedia,
    TierUnavailable,
)
from .fetch.downloader import Downloader, Fetched
from .fetch.retry import RetryPolicy
from .fetch.ssrf import check_url, redact
from .ingest import new_staged_file, store_staged
from .mediatypes import DISK_FOLDERS, GENERIC_TYPES, MEDIA_TYPES, canonical, image_dimensions, media_type_for
from .models import Blob, SourceURL
from .staging import StagedFile

logger = logging.getLogger("media_store.downloads")

# The retry policy's sleep, looked up at call time: tests replace it so that retries never wait.
sleep: Callable[[float], None] = time.sleep

STATS_TYPES = ("image", "video", "audio", "document")  # stickers live with images on disk


@dataclass
class Download:
    """A URL fetched into a staged temp file, not stored yet; leaving the ``with`` removes the file."""

    url: str
    fetched: Fetched
    staged: StagedFile

    def __enter__(self) -> Download:
        return self

    def __exit__(self, *exc_info) -> None:
        self.staged.discard()

    @property
    def filename(self) -> str | None:
        """A name from the final URL (after redirects) or the requested one, preferring one with an extension."""
        names = [name for name in (filename_from_url(self.fetched.url), filename_from_url(self.url)) if name]
        with_extension = [name for name in names if PurePosixPath(name).suffix]
        return (with_extension or names or [None])[0]


@dataclass(frozen=True)
class Outcome:
    """One URL of a batch: a stored blob (``created`` False when the bytes were already stored) or an error."""

    url: str
    blob: Blob | None = None
    created: bool = False
    error: Exception | None = None


# -- the contract (CONTRACT §6) ----------------------------------------------------------------


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
    root = Path(media_settings.MEDIA_CACHE_DIR)
    by_type = {media_type: _folder_usage(root / DISK_FOLDERS[media_type]) for media_type in STATS_TYPES}
    return {
        "total_files": sum(usage["count"] for usage in by_type.values()),
        "total_size": sum(usage["size"] for usage in by_type.values()),
        "by_type": by_type,
    }


def format_size(n: int) -> str:
    """``"512 B"``, ``"1.5 KB"``, ``"12.0 MB"``: binary multiples, one decimal, never ``"1024.0 KB"``."""
    if n < 0:
        raise ValueError(f"a size cannot be negative: {n}")
    if n < 1024:
        return f"{n} B"
    units = ("KB", "MB", "GB", "TB", "PB")
    value, index = n / 1024, 0
    while round(value, 1) >= 1024 and index < len(units) - 1:
        value, index = value / 1024, index + 1
    return f"{value:.1f} {units[index]}"


def verify_cached_media(path: str | Path, expected_md5: str) -> bool:
    """True when the file exists and its MD5 is ``expected_md5`` (any case)."""
    if not is_md5(expected_md5.strip().lower()):
        return False
    try:
        return calculate_md5(path) == expected_md5.strip().lower()
    except OSError:
        return False


def find_cached_by_md5(md5: str) -> dict | None:
    """The stored content with this MD5 (its latest source URL, if any), or None."""
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


def calculate_md5(path: str | Path) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK_SIZE), b""):
            md5.update(chunk)
    return md5.hexdigest()


def calculate_md5_from_bytes(b: bytes) -> str:
    return hashlib.md5(b, usedforsecurity=False).hexdigest()


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


# -- the steps (used by the API view and the command too) -------------------------------------


def download_blob(url: str, *, timeout: float | None = None) -> tuple[Blob, bool]:
    """Fetch and store one URL; ``(blob, created)`` — created is False for already-stored bytes."""
    with fetch(url, timeout=timeout) as download:
        return store_download(download)


def fetch(url: str, *, timeout: float | None = None) -> Download:
    """One URL into a staged file: SSRF check, negative cache, retried attempts. No database access."""
    limit = _checked_timeout(timeout)
    with _failures_recorded(url):
        check_url(url)
        reason = runtime.negative_cache("url").get(url)
        if reason is not None:
            ttl = media_settings.FAILED_MEDIA_TTL
            raise RecentlyFailed(f"not retried within FAILED_MEDIA_TTL ({ttl}s): {reason}")
        downloader = Downloader(allow_private=media_settings.DOWNLOAD_ALLOW_PRIVATE_NETWORKS, timeout=limit)
        policy = RetryPolicy(
            max_attempts=media_settings.MAX_RETRIES, base=media_settings.BASE_BACKOFF_SECONDS, sleep=sleep
        )
        try:
            return policy.call(lambda _attempt: _attempt_once(downloader, url), what=redact(url))
        finally:
            downloader.close()


def store_download(download: Download) -> tuple[Blob, bool]:
    """Store fetched bytes and record URL → content, in one transaction."""
    with _failures_recorded(download.url), transaction.atomic():
        blob, created = store_staged(
            download.staged, filename=download.filename, declared_type=download.fetched.content_type
        )
        SourceURL.objects.update_or_create(
            url_hash=url_hash(download.url),
            defaults={"url": redact(download.url), "blob": blob, "fetched_at": timezone.now()},
        )
    logger.info("media.downloaded url=%s hash=%s size=%d new=%s", redact(download.url), blob.sha256, blob.size, created)
    return blob, created


def download_blobs(
    urls: Iterable[str],
    *,
    max_workers: int = 5,
    timeout: float | None = None,
    on_result: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Fetch in ``max_workers`` threads, store in this thread as each finishes; input order kept."""
    urls = list(urls)
    if max_workers < 1:
        raise ValueError(f"max_workers must be at least 1, not {max_workers!r}")
    _checked_timeout(timeout)
    if not urls:
        return []
    outcomes: list[Outcome | None] = [None] * len(urls)
    with ThreadPoolExecutor(max_workers=min(max_workers, len(urls)), thread_name_prefix="download") as pool:
        futures = {pool.submit(_fetch_in_worker, url, timeout): index for index, url in enumerate(urls)}
        try:
            for future in as_completed(futures):
                index = futures[future]
                outcomes[index] = _settle(urls[index], future)
                if on_result is not None:
                    on_result(outcomes[index])
        finally:
            _discard_unsettled(futures, outcomes)
    return outcomes


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


def failure(outcome: Outcome) -> dict:
    error = outcome.error
    message = str(error) if isinstance(error, MediaError) else f"{type(error).__name__}: {error}"
    return {"url": outcome.url, "error": message}


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def filename_from_url(url: str) -> str | None:
    """The last segment of the URL's path, percent-decoded (a type hint and an attachment name)."""
    try:
        name = PurePosixPath(unquote(urlsplit(url).path)).name.strip()
    except ValueError:
        return None
    return name[:200] or None


# -- internals ---------------------------------------------------------------------------------


def _checked_media_type(media_type: str | None) -> str | None:
    if media_type is not None and media_type not in MEDIA_TYPES:
        raise ValueError(f"media_type must be one of {', '.join(MEDIA_TYPES)}, not {media_type!r}")
    return media_type


def _checked_timeout(timeout: float | None) -> float:
    limit = media_settings.DOWNLOAD_TIMEOUT if timeout is None else timeout
    if limit <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {limit!r}")
    return limit


def _attempt_once(downloader: Downloader, url: str) -> Download:
    """A fresh staged file per attempt: a broken attempt must not leave bytes for the next."""
    staged = new_staged_file(max_bytes=media_settings.DOWNLOAD_MAX_BYTES)
    try:
        fetched = downloader.download(url, staged)
        staged.finish()
    except BaseException:
        staged.discard()
        raise
    return Download(url=url, fetched=fetched, staged=staged)


@contextmanager
def _failures_recorded(url: str) -> Iterator[None]:
    """Log a failure once; remember permanent ones so the URL is not requested again for a while.

    Refusals by our own policy (blocked URL) are not remembered: they cost no request, and a
    changed setting (``DOWNLOAD_ALLOW_PRIVATE_NETWORKS``) must take effect at once.
    """
    try:
        yield
    except MediaError as error:
        logger.warning("media.download_failed url=%s: %s", redact(url), error)
        if error.permanent and not isinstance(error, (BlockedURL, RecentlyFailed)):
            runtime.negative_cache("url").add(url, str(error))
        raise


def _fetch_in_worker(url: str, timeout: float | None) -> Download:
    try:
        return fetch(url, timeout=timeout)
    finally:
        # fetch() itself does not query the database; if anything on its path ever does, the
        # connection Django opened for this pool thread must not outlive the thread.
        connection.close()


def _settle(url: str, future: Future) -> Outcome:
    """Store a finished fetch; any failure becomes this URL's outcome, never the batch's."""
    try:
        with future.result() as download:
            blob, created = store_download(download)
    except MediaError as error:
        return Outcome(url, error=error)
    except Exception as error:
        logger.exception("media.download_failed url=%s: unexpected error", redact(url))
        return Outcome(url, error=error)
    return Outcome(url, blob=blob, created=created)


def _discard_unsettled(futures: dict[Future, int], outcomes: list[Outcome | None]) -> None:
    """After an interruption, remove the temp files of downloads nobody will store."""
    for future, index in futures.items():
        future.cancel()
        if outcomes[index] is None and not future.cancelled():
            try:
                future.result().staged.discard()
            except Exception:  # it failed: its attempt already removed its temp file
                pass


def _disk_copy(blob: Blob) -> str | None:
    """The disk-tier file of a blob, refilled from the origin when it was evicted; None without a disk tier."""
    store = runtime.get_store()
    if store.disk is None:
        return None
    info = blob.info()
    if not store.disk.contains(info):
        try:
            stream = store.origin.open(info.origin_key)
        except OriginUnavailable:
            return None
        if stream is None:
            return None
        try:
            store.disk.write_chunks(info, stream)
        except (DigestMismatch, TierUnavailable, OriginUnavailable):
            return None
        finally:
            stream.close()
    return str(store.disk.path(info))


def _folder_usage(folder: Path) -> dict[str, int]:
    count = size = 0
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return {"count": 0, "size": 0}
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False):
                size += entry.stat(follow_symlinks=False).st_size
                count += 1
        except FileNotFoundError:  # removed by cleanup while we walked
            continue
    return {"count": count, "size": size}
