"""The engine's errors. Each carries its policy as class attributes (DRF-style):
``http_status`` for the API and views, ``permanent`` for retry decisions.

Convention at the tier edges: "not found" is a value (None), an outage is an exception.
"""

from __future__ import annotations


class MediaError(Exception):
    """Base class; ``str(error)`` is a message fit for an operator or an API client."""

    http_status = 500
    permanent = True
    code = "error"


class MediaNotFound(MediaError):
    """The content is gone from the origin (deleted or expired by lifecycle)."""

    http_status = 404
    code = "not_found"


class TierUnavailable(MediaError):
    """A cache tier (Redis, the disk) is down or failing; callers degrade past it."""

    http_status = 503
    permanent = False
    code = "tier_unavailable"


class OriginUnavailable(MediaError):
    """The origin (S3 or the origin filesystem) cannot be reached or answered with an error."""

    http_status = 503
    permanent = False
    code = "origin_unavailable"


class DigestMismatch(MediaError):
    """Bytes do not match the digest they were stored or announced under."""

    http_status = 502
    permanent = False
    code = "integrity"


class PayloadTooLarge(MediaError):
    """Input over the configured byte cap; detected while streaming, nothing is kept."""

    http_status = 413
    code = "too_large"


class RejectedMedia(MediaError):
    """Input we refuse to store: empty, a decompression bomb, an unreadable image, …"""

    http_status = 422
    code = "rejected"


class DownloadError(MediaError):
    """Fetching from a URL or the Graph API failed.

    ``permanent`` decides the policy: a transient failure (timeout, connection error, 408,
    429, 5xx) is retried with backoff; a permanent one (other 4xx, refused URL, too large) is
    never retried and is remembered in the negative cache for ``FAILED_MEDIA_TTL``.
    """

    code = "download_failed"

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status
        self.retry_after = retry_after

    @property
    def http_status(self) -> int:  # type: ignore[override]
        return 422 if self.permanent else 502


class BlockedURL(DownloadError):
    """A URL we refuse to fetch: not http(s), or it resolves to a private/loopback/… address."""

    code = "blocked_url"

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)

    @property
    def http_status(self) -> int:  # type: ignore[override]
        return 400


class RecentlyFailed(DownloadError):
    """The negative cache says this URL or media ID failed permanently a short while ago."""

    code = "failed"

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class VariantUnsupported(MediaError):
    """This content cannot be made into the variant asked for (a PDF as ``voice.ogg``, an input
    ffmpeg cannot read, a video too long to fit 16 MB): 422, and remembered when it cost a run."""

    http_status = 422
    code = "variant_unsupported"


class TranscoderBusy(MediaError):
    """Every transcode slot of this node stayed taken past ``MEDIA_TRANSCODE_WAIT_SECONDS``."""

    http_status = 503
    permanent = False
    code = "transcoder_busy"
