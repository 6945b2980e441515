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
