"""HTTP semantics for immutable media, framework-free (RFC 9110 §13–14).

``plan()`` turns a method, the request's conditional/Range headers and what we know about
the blob (size, ETag) into a ``Plan``: the status, which bytes to send and the headers.
No I/O happens here, so every branch is unit- and property-tested; ``serve.py`` only
carries the plan out. Django has no Range support of its own, hence this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CACHE_FOREVER = "public, max-age=31536000, immutable"
NO_STORE = "no-store"

_RANGE_SPEC = re.compile(r"^\s*([0-9]*)\s*-\s*([0-9]*)\s*$")  # ASCII digits only (RFC 9110)
MAX_DIGITS = 18  # longer positions are "beyond any file": no int() of a 5,000-digit header
_ENTITY_TAG = re.compile(r'\s*(W/)?("[^"]*")\s*(?:,|$)')


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1


UNSATISFIABLE = "unsatisfiable"


def parse_range(header: str | None, size: int) -> ByteRange | str | None:
    """One byte range from a ``Range`` header.

    Returns a ``ByteRange``; ``UNSATISFIABLE`` (→ 416); or None when the header is absent,
    malformed, not in bytes, or asks for several ranges — all of which are answered with
    the full 200, as RFC 9110 allows.
    """
    if not header:
        return None
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes" or not specs or "," in specs:
        return None
    match = _RANGE_SPEC.match(specs)
    if not match:
        return None
    first, last = (_position(group) for group in match.groups())
    if first is not None:
        start = first
        if last is not None and last < start:
            return None  # invalid spec: ignore the header
        if start >= size:
            return UNSATISFIABLE
        end = min(last, size - 1) if last is not None else size - 1
        return ByteRange(start, end)
    if last is None:
        return None  # "bytes=-"
    suffix = last
    if suffix == 0 or size == 0:
        return UNSATISFIABLE
    return ByteRange(max(0, size - suffix), size - 1)


def _position(digits: str) -> int | None:
    if not digits:
        return None
    return int(digits) if len(digits) <= MAX_DIGITS else 10**MAX_DIGITS


def entity_tags(header: str) -> list[tuple[bool, str]] | None:
    """``[(weak, '"tag"'), ...]`` from an If-(None-)Match header; None for ``*``."""
    if header.strip() == "*":
        return None
    return [(bool(weak), tag) for weak, tag in _ENTITY_TAG.findall(header)]


def none_match(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison: ``W/"x"`` matches ``"x"``."""
    tags = entity_tags(header)
    return tags is None or any(tag == etag for _weak, tag in tags)


def strong_match(header: str, etag: str) -> bool:
    """If-Match / If-Range use the strong comparison: weak tags never match."""
    tags = entity_tags(header)
    return tags is None or any(tag == etag and not weak for weak, tag in tags)


@dataclass
class Plan:
    status: int
    start: int = 0
    length: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def has_body(self) -> bool:
        return self.status in (200, 206)


def plan(method: str, headers, *, size: int, etag: str) -> Plan:
    """Decide the response for a GET/HEAD of an immutable representation.

    ``headers`` is any mapping with ``.get`` (Django's ``request.headers`` is
    case-insensitive). Precedence follows RFC 9110 §13.2.2: If-Match, If-None-Match, then
    Range guarded by If-Range.
    """
    base = {"ETag": etag, "Cache-Control": CACHE_FOREVER, "Accept-Ranges": "bytes"}
    if_match = headers.get("If-Match")
    if if_match is not None and not strong_match(if_match, etag):
        return Plan(412, headers={**base, "Cache-Control": NO_STORE})
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None and none_match(if_none_match, etag):
        return Plan(304, headers={"ETag": etag, "Cache-Control": CACHE_FOREVER})
    requested = parse_range(headers.get("Range"), size) if method in ("GET", "HEAD") else None
    if_range = headers.get("If-Range")
    if requested is not None and if_range is not None and (if_range.strip() == "*" or not strong_match(if_range, etag)):
        requested = None  # the client's copy is another version (or a date): send it all
    if requested == UNSATISFIABLE:
        return Plan(416, headers={**base, "Content-Range": f"bytes */{size}", "Cache-Control": NO_STORE})
    if isinstance(requested, ByteRange):
        return Plan(
            206,
            requested.start,
            requested.length,
            {**base, "Content-Range": f"bytes {requested.start}-{requested.end}/{size}"},
        )
    return Plan(200, 0, size, base)
