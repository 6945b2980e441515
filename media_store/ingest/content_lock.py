"""One lock per content digest, shared by ingest and the orphan sweep, wherever they run.

Ingest uploads the object first and inserts its row afterwards (outside any long transaction),
so between the two an object exists with no row — exactly what the orphan sweep deletes. Both
therefore hold this lock: ingest from before its upload until its row is committed; the sweep
while it re-checks for a row and deletes. The lock lives where the rows live:

- PostgreSQL: a session-level advisory lock (``pg_advisory_lock``) — across every process and
  machine using the database, and without an open transaction while an upload runs;
- SQLite (one machine by nature): an ``flock`` on a file beside the database file (or in the
  system temp folder for an in-memory database), striped by the digest's first hex digits.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import DatabaseError, connection

logger = logging.getLogger("media_store.ingest.lock")

NAMESPACE = 0x6D63  # "mc": the first key of the two-key advisory lock, apart from other users'
STRIPES = 2  # hex digits of the digest naming a SQLite lock file (256 files)


@contextmanager
def content_lock(sha256: str, *, wait: bool = True) -> Iterator[bool]:
    """Hold the lock for ``sha256``; yields False (without waiting) when ``wait`` is False
    and someone else holds it."""
    if connection.vendor == "postgresql":
        with _advisory(sha256, wait) as held:
            yield held
    else:
        with _file_lock(sha256, wait) as held:
            yield held


@contextmanager
def named_lock(name: str) -> Iterator[None]:
    """A database-wide lock for a job that must not run twice at once (``migrate_locked``)."""
    digest = hashlib.sha256(f"named:{name}".encode()).hexdigest()
    with content_lock(digest, wait=True):
        yield


def _key(sha256: str) -> int:
    return int.from_bytes(bytes.fromhex(sha256[:8]), "big", signed=True)


@contextmanager
def _advisory(sha256: str, wait: bool) -> Iterator[bool]:
    key = _key(sha256)
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [NAMESPACE, key])
            held = True
        else:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [NAMESPACE, key])
            held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [NAMESPACE, key])
            except DatabaseError as error:  # the connection broke: the server released it with the session
                logger.warning("media.content_lock_release hash=%s: %s", sha256, error)


def lock_dir() -> Path:
    name = str(connection.settings_dict.get("NAME") or "")
    if name and not name.startswith("file:") and ":memory:" not in name:
        return Path(name).resolve().parent / ".mediacache-locks"
    tag = hashlib.sha256(name.encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"mediacache-locks-{tag}"


@contextmanager
def _file_lock(sha256: str, wait: bool) -> Iterator[bool]:
    folder = lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{sha256[:STRIPES]}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            held = False
        yield held
    finally:
        os.close(fd)  # closing the descriptor releases the flock
