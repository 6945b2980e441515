"""Check every copy of stored content against its digest, and repair bad copies from a good one.

The serving path verifies a copy when it enters a tier and trusts it afterwards (see the
README's "Integrity"); this is the operator's full audit: each copy — origin, disk, hot — is
read and hashed now, in chunks, so memory stays flat whatever the size (the hot tier only
holds objects up to ``MEDIA_REDIS_MAX_OBJECT_BYTES``).

States: ``ok``, ``missing``, ``corrupt`` (wrong size or digest), ``unavailable`` (the tier
could not be read). A missing *cached* copy is normal — caches fill on demand — but a missing
origin copy is data loss waiting to happen. Repair deletes a corrupt cached copy and refills
it from a good copy, and re-uploads a missing or corrupt origin copy from a good cached copy.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from media_store.content.blobs import BlobInfo
from media_store.content.digests import CHUNK_SIZE, DigestCheck
from media_store.exceptions import DigestMismatch, OriginUnavailable, TierUnavailable
from media_store.models import Blob
from media_store.store import MediaStore

logger = logging.getLogger("media_store.ops.verify")

OK, MISSING, CORRUPT, UNAVAILABLE = "ok", "missing", "corrupt", "unavailable"
TIERS = ("origin", "disk", "hot")


@dataclass
class BlobReport:
    sha256: str
    found: dict[str, str]  # tier -> state as found
    states: dict[str, str] = field(default_factory=dict)  # tier -> state after repair
    repaired: list[str] = field(default_factory=list)

    @property
    def bad_tiers(self) -> list[str]:
        """Copies still wrong or unchecked after any repair."""
        return bad_tiers(self.states)

    @property
    def had_problem(self) -> bool:
        """Something was wrong when checked (repaired since or not)."""
        return bool(bad_tiers(self.found))


def bad_tiers(states: dict[str, str]) -> list[str]:
    """Corrupt anywhere, missing from the origin, or unreadable: a missing *cached* copy is fine."""
    return [
        tier
        for tier, state in states.items()
        if state in (CORRUPT, UNAVAILABLE) or (tier == "origin" and state == MISSING)
    ]


def verify_blobs(blobs: Iterable[Blob], store: MediaStore, *, repair: bool = False) -> Iterator[BlobReport]:
    for blob in blobs:
        yield verify_blob(blob, store, repair=repair)


def verify_blob(blob: Blob, store: MediaStore, *, repair: bool = False) -> BlobReport:
    info = blob.info()
    found = check_copies(info, store)
    report = BlobReport(blob.sha256, found=found, states=dict(found))
    if repair and (CORRUPT in found.values() or found["origin"] == MISSING):
        _repair(blob, store, report)
    if repair and report.states["origin"] == OK and blob.expired_at is not None:
        # the object is back (a restored bucket or volume): serve the hash again
        Blob.objects.filter(sha256=blob.sha256).update(expired_at=None)
        report.repaired.append("expired mark")
    return report


def check_copies(info: BlobInfo, store: MediaStore) -> dict[str, str]:
    return {"origin": check_origin(info, store), "disk": check_disk(info, store), "hot": check_hot(info, store)}


def check_origin(info: BlobInfo, store: MediaStore) -> str:
    try:
        stream = store.origin.open(info.origin_key)
        if stream is None:
            return MISSING
        try:
            return _state_of_chunks(info, stream)
        finally:
            stream.close()
    except OriginUnavailable as error:
        logger.warning("media.verify_unavailable tier=origin hash=%s: %s", info.sha256, error)
        return UNAVAILABLE


def check_disk(info: BlobInfo, store: MediaStore) -> str:
    if store.disk is None:
        return MISSING
    try:
        with open(store.disk.path(info), "rb") as file:
            return _state_of_chunks(info, iter(lambda: file.read(CHUNK_SIZE), b""))
    except FileNotFoundError:
        return MISSING
    except OSError as error:
        logger.warning("media.verify_unavailable tier=disk hash=%s: %s", info.sha256, error)
        return UNAVAILABLE


def check_hot(info: BlobInfo, store: MediaStore) -> str:
    if store.hot is None or info.size > store.max_hot_bytes:
        return MISSING  # never cached there
    try:
        data = store.hot.get(info.sha256)
    except TierUnavailable as error:
        logger.warning("media.verify_unavailable tier=%s hash=%s: %s", store.hot.name, info.sha256, error)
        return UNAVAILABLE
    if data is None:
        return MISSING
    return _state_of_chunks(info, [data])


def _state_of_chunks(info: BlobInfo, chunks: Iterable[bytes]) -> str:
    return OK if DigestCheck.of(chunks, info.sha256, info.size).matches else CORRUPT


# -- repair ------------------------------------------------------------------------------------


def _repair(blob: Blob, store: MediaStore, report: BlobReport) -> None:
    """Cached copies first (from the origin if it is good), then the origin (from a good cache)."""
    info = blob.info()
    source = _good_source(report.found)
    if source is None:
        logger.error("media.verify_lost hash=%s: no good copy left to repair from", info.sha256)
        return
    for tier in ("disk", "hot"):
        if report.found[tier] == CORRUPT:
            _replace_cached(tier, info, store, source)
            _recheck(tier, info, store, report)
    if report.found["origin"] in (MISSING, CORRUPT):
        _reupload(info, store, report.states)
        _recheck("origin", info, store, report)


def _good_source(found: dict[str, str]) -> str | None:
    return next((tier for tier in TIERS if found[tier] == OK), None)


def _chunks_of(source: str, info: BlobInfo, store: MediaStore) -> Iterator[bytes]:
    """The chunks of a copy found good a moment ago; whoever writes them re-verifies the digest
    (a copy that vanished or changed since reads as wrong bytes and is refused, not written)."""
    if source == "origin":
        stream = store.origin.open(info.origin_key)
        if stream is None:
            return
        try:
            yield from stream
        finally:
            stream.close()
    elif source == "disk":
        with open(store.disk.path(info), "rb") as file:
            yield from iter(lambda: file.read(CHUNK_SIZE), b"")
    else:
        yield store.hot.get(info.sha256) or b""


def _verified_bytes(source: str, info: BlobInfo, store: MediaStore) -> bytes:
    """A whole copy in memory (hot-tier sized), checked against the digest."""
    data = b"".join(_chunks_of(source, info, store))
    if not DigestCheck.of([data], info.sha256, info.size).matches:
        raise DigestMismatch(f"the {source} copy of {info.sha256} changed during repair")
    return data


def _replace_cached(tier: str, info: BlobInfo, store: MediaStore, source: str) -> None:
    """Delete the corrupt cached copy, then write the good one (never serve the bad one meanwhile)."""
    try:
        if tier == "disk":
            store.disk.delete(info)
            store.disk.write_chunks(info, _chunks_of(source, info, store))  # hashes on the way
        else:
            store.hot.delete(info.sha256)
            store.hot.set(info.sha256, _verified_bytes(source, info, store))
    except (DigestMismatch, OriginUnavailable, TierUnavailable, OSError) as error:
        logger.error("media.verify_repair_failed tier=%s hash=%s: %s", tier, info.sha256, error)


def _reupload(info: BlobInfo, store: MediaStore, states: dict[str, str]) -> None:
    """Put a good cached copy back to the origin: the disk file if it is good, else the hot copy."""
    try:
        if states["disk"] == OK:
            store.origin.put(info.origin_key, store.disk.path(info), info.mime_type, {"sha256": info.sha256})
            return
        data = _verified_bytes("hot", info, store)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / info.sha256
            path.write_bytes(data)
            store.origin.put(info.origin_key, path, info.mime_type, {"sha256": info.sha256})
    except (DigestMismatch, OriginUnavailable, TierUnavailable, OSError) as error:
        logger.error("media.verify_repair_failed tier=origin hash=%s: %s", info.sha256, error)


def _recheck(tier: str, info: BlobInfo, store: MediaStore, report: BlobReport) -> None:
    checker = {"origin": check_origin, "disk": check_disk, "hot": check_hot}[tier]
    report.states[tier] = checker(info, store)
    if report.states[tier] == OK:
        report.repaired.append(tier)
        logger.warning("media.repaired tier=%s hash=%s", tier, info.sha256)
