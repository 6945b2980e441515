"""Inbound WhatsApp Cloud API media: media ID → stored Blob, once, without hammering the API.

``download_media(media_id, timestamp=None, use_cache=True)`` decides in this order, cheapest
first, and answers a ``MediaResult`` (the chat layer maps ``status`` to HTTP):

1. known ID (a ``WhatsAppMedia`` row)          → ``ok``, the stored blob, no API call (new use of
   old content: its origin object's age restarts, as on a deduplicated ingest — ``_keep_alive``);
2. ``timestamp`` older than ``MEDIA_EXPIRATION_HOURS`` → ``expired``, no API call (Cloud API
   webhook IDs die after 7 days; asking would only earn an error), remembered as failed;
3. ID in the negative cache                    → ``failed``, no API call, until ``FAILED_MEDIA_TTL``;
4. the Graph flow (``fetch.graph.GraphClient``) with ``MAX_RETRIES`` attempts → ``ok``;
   a permanent failure → ``failed`` and remembered; transient failures to the end → ``upstream``.

``use_cache=False`` skips steps 1 and 3 (not the expiry check) but still records what it
learns. Concurrent calls for one ID queue on a per-ID lock (per process, then Redis) and the
waiters re-check steps 1 and 3 after it, so one ID costs one set of API calls.

Statistics (atomic counters shared by all processes, see ``statistics()``):

- ``total_requests``: every call that got past argument validation;
- ``cache_hits``: calls answered from the ID map (step 1, including a waiter that finds the row);
- ``api_calls``: every HTTP request to the Graph API — a metadata lookup or a media download,
  retries and URL refreshes included (a clean fetch costs 2);
- ``failed_calls``: calls that ended ``failed`` or ``upstream`` (negative-cache answers included);
- ``expired_media``: calls that ended ``expired``.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone

from media_store import runtime
from media_store.conf import media_settings
from media_store.exceptions import MediaError, OriginUnavailable
from media_store.fetch.deadline import within
from media_store.fetch.graph import GraphClient
from media_store.fetch.negative import NegativeCache
from media_store.fetch.retry import RetryPolicy
from media_store.ingest import commit
from media_store.ingest.commit import committing, new_staged_file
from media_store.models import Blob, WhatsAppMedia
from media_store.ops import metrics
from media_store.ops.counters import hit_rate
from media_store.tiers.locks import FillLocks
from media_store.tiers.shared import MISSING

logger = logging.getLogger("media_store.fetch.media_ids")

OK, EXPIRED, FAILED, UPSTREAM, UNAVAILABLE = "ok", "expired", "failed", "upstream", "unavailable"
STAT_KEYS = ("total_requests", "cache_hits", "api_calls", "failed_calls", "expired_media")
NAMESPACE = "whatsapp"
MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")  # Graph IDs are digits; never a path, dots or a query
MILLISECONDS_FROM = 10**11  # as unix seconds that is the year 5138: the caller sent milliseconds
LOOK_AGAIN_AFTER_OUTAGE = 60.0  # seconds: a known ID's origin look that failed waits this long (``_keep_alive``)


@dataclass(frozen=True)
class MediaResult:
    """The outcome of one ``download_media`` call.

    ``status``: ``"ok"`` (``blob`` set), ``"expired"``, ``"failed"`` (permanent or remembered
    as such), ``"upstream"`` (the API kept failing transiently; worth asking again later) or
    ``"unavailable"`` (the API answered, but our origin could not store the bytes: an outage of ours).
    ``reason``: a line for an operator. ``from_cache``: answered without any API call from what
    was stored before (the ID map for ``ok``, the negative cache for ``failed``).
    """

    status: str
    blob: Blob | None = None
    reason: str = ""
    from_cache: bool = False

    @property
    def ok(self) -> bool:
        return self.status == OK


def download_media(
    media_id: str | int,
    timestamp: int | float | str | datetime | None = None,
    use_cache: bool = True,
    *,
    client: GraphClient | None = None,
    negative: NegativeCache | None = None,
    locks: FillLocks | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> MediaResult:
    """Turn a Cloud API media ID into a stored Blob (see the module docstring for the order).

    Raises ValueError for a malformed ``media_id`` or ``timestamp`` (unix seconds as int, float
    or digit string, or a datetime). The keyword-only collaborators exist for tests: the Graph
    client, the negative cache, the per-ID locks, the wall clock and the retry sleep.
    """
    media_id = validate_media_id(media_id)
    sent_at = parse_timestamp(timestamp)
    result = _download(media_id, sent_at, use_cache, client, negative, locks, clock, sleep)
    metrics.DOWNLOADS.labels("whatsapp", "known" if result.ok and result.from_cache else result.status).inc()
    return result


def _download(media_id, sent_at, use_cache, client, negative, locks, clock, sleep) -> MediaResult:
    counters = runtime.counters(NAMESPACE)
    negative = negative or runtime.negative_cache(NAMESPACE)
    counters.incr("total_requests")
    if use_cache and (answer := _known(media_id, counters)):
        return answer
    if sent_at is not None and (answer := _expired(media_id, sent_at, clock(), negative, counters)):
        return answer
    if use_cache and (answer := _failed_before(media_id, negative, counters)):
        return answer
    with (locks or _locks()).hold(f"wa:{media_id}"):
        # Whoever held the lock before us may have fetched this ID, or failed for good.
        if use_cache and (answer := _known(media_id, counters) or _failed_before(media_id, negative, counters)):
            return answer
        graph = client or GraphClient.from_settings()
        try:
            return _fetch(media_id, graph, negative, counters, sleep)
        finally:
            if client is None:
                graph.close()


def statistics() -> dict[str, int | str]:
    """The CONTRACT §4 statistics: the five counters and ``cache_hit_rate`` (``"30.0%"``)."""
    values = runtime.counters(NAMESPACE).values()
    report: dict[str, int | str] = {key: values.get(key, 0) for key in STAT_KEYS}
    report["cache_hit_rate"] = hit_rate(values.get("cache_hits", 0), values.get("total_requests", 0))
    return report


def validate_media_id(media_id: str | int) -> str:
    """A Graph object ID: 1–128 characters of ``[A-Za-z0-9_-]`` (it becomes a URL path segment)."""
    text = str(media_id).strip() if isinstance(media_id, (str, int)) and not isinstance(media_id, bool) else ""
    if not MEDIA_ID.fullmatch(text):
        raise ValueError(f"invalid WhatsApp media id {str(media_id)[:40]!r}: expected 1-128 letters or digits")
    return text


def parse_timestamp(value: int | float | str | datetime | None) -> float | None:
    """Unix seconds from an int, float, digit string (webhooks send ``"1732240000"``) or datetime.

    A naive datetime is taken as UTC. Milliseconds (13 digits, as some gateways send) are
    refused rather than silently read as a date thousands of years away.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.timestamp()
    if isinstance(value, str) and value.strip().isdigit():
        seconds = float(int(value.strip()))
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        seconds = float(value)
    else:
        raise ValueError(f"invalid timestamp {str(value)[:40]!r}: expected unix seconds")
    if seconds < 0:
        raise ValueError(f"invalid timestamp {value!r}: before 1970")
    if seconds >= MILLISECONDS_FROM:
        raise ValueError(f"invalid timestamp {value!r}: expected unix seconds, this looks like milliseconds")
    return seconds


def _known(media_id: str, counters) -> MediaResult | None:
    """Step 1: the ID map — the content is stored already (unless its origin object has expired:
    then the ID is asked for again like a new one, and a fresh fetch restores the object)."""
    known = WhatsAppMedia.objects.select_related("blob").filter(media_id=media_id).first()
    if known is None or known.blob.expired_at is not None:
        return None
    counters.incr("cache_hits")
    logger.info("media.hit source=whatsapp id=%s hash=%s", media_id, known.blob_id)
    _keep_alive(known.blob)
    return MediaResult(OK, blob=known.blob, from_cache=True)


def _keep_alive(blob: Blob) -> None:
    """A known ID is new use of stored content: restart its origin object's age as a deduplicated
    ingest does (``commit.refresh_if_aging``), or the attachment made for it today could expire
    tomorrow, ``MEDIA_S3_RETENTION_DAYS`` after the ID was first fetched.

    Unlike an ingest, this path has no stat of the object at hand, and one per hit would be an S3
    HEAD per hit. So when the next look is due — when the object turns ``REFRESH_AFTER_SECONDS``
    old — is remembered per content in the shared state (Redis, else this process): at most one
    HEAD (and, if aging, one copy) per content per interval. An origin that does not answer is
    skipped — the hit is answered all the same — and asked again ``LOOK_AGAIN_AFTER_OUTAGE``
    later, so an S3 outage costs a known ID one timeout a minute per content, not one per hit.
    """
    state = runtime.shared_state("refresh")
    key = f"{media_settings.MEDIA_REDIS_KEY_PREFIX}:refresh:{blob.sha256}"
    if state.get(key) is not MISSING:
        return
    origin = runtime.get_origin()
    interval = commit.REFRESH_AFTER_SECONDS
    try:
        found = origin.stat(blob.origin_key)
        # A missing object has no age to restart; serving finds it gone and marks it expired.
        if found is not None and found.size == blob.size and not commit.refresh_if_aging(origin, blob, found):
            interval -= commit.clock() - found.modified  # not aging yet: look again once it is
    except OriginUnavailable as error:
        logger.warning("media.refresh_skipped hash=%s: %s", blob.sha256, error)
        interval = LOOK_AGAIN_AFTER_OUTAGE
    state.set(key, True, ttl=min(max(1.0, interval), commit.REFRESH_AFTER_SECONDS))  # a skewed clock: at most a day


def _failed_before(media_id: str, negative: NegativeCache, counters) -> MediaResult | None:
    """Step 3: the negative cache — asking again within ``FAILED_MEDIA_TTL`` would fail again."""
    reason = negative.get(media_id)
    if reason is None:
        return None
    counters.incr("failed_calls")
    logger.info("media.failed_cached id=%s reason=%s", media_id, reason)
    return MediaResult(FAILED, reason=reason, from_cache=True)


def _expired(media_id: str, sent_at: float, now: float, negative: NegativeCache, counters) -> MediaResult | None:
    """Step 2: a media ID older than ``MEDIA_EXPIRATION_HOURS`` is dead; 0 turns the check off."""
    hours = media_settings.MEDIA_EXPIRATION_HOURS
    age = now - sent_at
    if not hours or age <= hours * 3600:
        return None
    reason = f"expired: sent {age / 3600:.1f} hours ago, over MEDIA_EXPIRATION_HOURS={hours}"
    negative.add(media_id, reason)
    counters.incr("expired_media")
    logger.info("media.expired id=%s age_hours=%.1f limit_hours=%s", media_id, age / 3600, hours)
    return MediaResult(EXPIRED, reason=reason)


def _fetch(media_id: str, client: GraphClient, negative: NegativeCache, counters, sleep) -> MediaResult:
    """Step 4: the Graph flow with retries, then store the bytes and map the ID to them."""
    s = media_settings
    if not client.token:
        counters.incr("failed_calls")
        logger.error("media.whatsapp_not_configured id=%s: WHATSAPP_TOKEN is not set", media_id)
        return MediaResult(UPSTREAM, reason="WHATSAPP_TOKEN is not set")
    policy = RetryPolicy(max_attempts=s.MAX_RETRIES, base=s.BASE_BACKOFF_SECONDS, sleep=sleep, source="whatsapp")
    try:
        with within(float(s.DOWNLOAD_TIMEOUT)):  # metadata, download, retries: one deadline
            meta, staged = client.fetch(
                media_id,
                policy=policy,
                new_staged=lambda: new_staged_file(s.DOWNLOAD_MAX_BYTES),
                on_request=lambda _kind: counters.incr("api_calls"),
            )
        with staged, committing(staged, declared_type=meta.mime_type) as (blob, _created):
            WhatsAppMedia.objects.update_or_create(
                media_id=media_id, defaults={"blob": blob, "mime_type": meta.mime_type, "fetched_at": timezone.now()}
            )
    except MediaError as error:
        counters.incr("failed_calls")
        return _failure(media_id, error, negative)
    logger.info(
        "media.whatsapp_fetched id=%s hash=%s size=%d type=%s", media_id, blob.sha256, blob.size, blob.mime_type
    )
    return MediaResult(OK, blob=blob)


def _failure(media_id: str, error: MediaError, negative: NegativeCache) -> MediaResult:
    """Permanent → ``failed`` and remembered; our origin down → ``unavailable``; else ``upstream``."""
    if isinstance(error, OriginUnavailable):
        logger.warning("media.whatsapp_failed id=%s store=unavailable: %s", media_id, error)
        return MediaResult(UNAVAILABLE, reason=str(error))
    if error.permanent:
        negative.add(media_id, str(error)[:500])
        logger.warning("media.whatsapp_failed id=%s permanent=true: %s", media_id, error)
        return MediaResult(FAILED, reason=str(error))
    logger.warning("media.whatsapp_failed id=%s permanent=false: %s", media_id, error)
    return MediaResult(UPSTREAM, reason=str(error))


def _locks() -> FillLocks:
    """The per-ID single-flight locks: the store's fill locks (per process, then Redis)."""
    return runtime.fill_locks()
