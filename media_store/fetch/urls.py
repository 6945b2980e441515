"""Media from URLs, step by step: fetch safely into a staged file, then store and remember.

One download goes: SSRF check of the URL → negative cache (a URL that failed permanently within
``FAILED_MEDIA_TTL`` is refused without touching the network) → ``Downloader`` attempts under
``RetryPolicy`` (transient failures only) into a ``StagedFile`` (hashed and capped while
streaming) → ``ingest.store_staged`` (one Blob per SHA-256, one origin object, the temp file
renamed into the disk tier) → a ``SourceURL`` row.

Batches run the network part in a thread pool and the database part in the calling thread, as
each download finishes: the slow part (remote servers) is parallel, while the writes share the
caller's connection and transaction — no connection per thread, and SQLite's single writer is
never contended. ``media_store.downloads`` is the public face (CONTRACT §6); the API view and
the ``download_media`` command use these steps directly.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from django.db import connection
from django.utils import timezone

from media_store import runtime
from media_store.conf import media_settings
from media_store.exceptions import BlockedURL, MediaError, RecentlyFailed
from media_store.fetch.deadline import within
from media_store.fetch.downloader import Downloader, Fetched
from media_store.fetch.retry import RetryPolicy
from media_store.fetch.ssrf import check_url, redact
from media_store.ingest.commit import committing, new_staged_file
from media_store.ingest.staging import StagedFile
from media_store.models import Blob, SourceURL
from media_store.ops import metrics

logger = logging.getLogger("media_store.downloads")

# The retry policy's sleep, looked up at call time: tests replace it so that retries never wait.
sleep: Callable[[float], None] = time.sleep


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
            with within(limit):  # one deadline for DNS, redirects, reads, retries and their waits
                return policy.call(lambda _attempt: _attempt_once(downloader, url), what=redact(url))
        finally:
            downloader.close()


def store_download(download: Download) -> tuple[Blob, bool]:
    """Store fetched bytes and record URL → content (the row and the URL commit together)."""
    with storing(download) as result:
        return result


@contextmanager
def storing(download: Download) -> Iterator[tuple[Blob, bool]]:
    """``store_download`` that yields inside the row's short transaction, for the caller's own
    rows (an attachment); the upload to the origin has happened before, outside it."""
    with (
        _failures_recorded(download.url),
        committing(download.staged, filename=download.filename, declared_type=download.fetched.content_type) as (
            blob,
            created,
        ),
    ):
        SourceURL.objects.update_or_create(
            url_hash=url_hash(download.url),
            defaults={"url": redact(download.url), "blob": blob, "fetched_at": timezone.now()},
        )
        yield blob, created
    logger.info("media.downloaded url=%s hash=%s size=%d new=%s", redact(download.url), blob.sha256, blob.size, created)
    metrics.DOWNLOADS.labels("url", "stored" if created else "deduplicated").inc()


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
        metrics.DOWNLOADS.labels("url", "failed").inc()
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
        # a failed fetch already removed its own temp file; only successful ones hold one
        if outcomes[index] is None and not future.cancelled() and future.exception() is None:
            future.result().staged.discard()
