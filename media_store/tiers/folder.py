"""The folder origin: the embedded default, and a shared volume in small deployments."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from media_store.content.digests import CHUNK_SIZE
from media_store.exceptions import OriginUnavailable
from media_store.ops.metrics import counted_origin_call
from media_store.tiers.origin import ChunkStream, StoredObject


class FilesystemOrigin:
    """A folder as origin (the embedded default, and a shared volume in small deployments)."""

    name = "filesystem"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _require_root(self) -> None:
        """ "Not found" is only believed while the folder itself is there: a missing root is an
        unmounted volume or a wrong setting, and must not mark content as expired."""
        if not self.root.is_dir():
            raise OriginUnavailable(f"filesystem origin {self.root} is missing (unmounted or misconfigured?)")

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"origin key escapes the origin folder: {key!r}")
        return path

    @counted_origin_call("head")
    def head(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            self._require_root()
            return None
        except OSError as error:
            raise OriginUnavailable(f"filesystem origin: {error}") from error

    @counted_origin_call("head")
    def stat(self, key: str) -> StoredObject | None:
        try:
            stat = self.path(key).stat()
        except FileNotFoundError:
            self._require_root()
            return None
        except OSError as error:
            raise OriginUnavailable(f"filesystem origin: {error}") from error
        return StoredObject(key, stat.st_size, stat.st_mtime)

    def touch(self, key: str) -> None:
        """Restart the file's age (the orphan sweep's grace period counts from its mtime)."""
        try:
            os.utime(self.path(key))
        except OSError as error:
            raise OriginUnavailable(f"filesystem origin touch {key}: {error}") from error

    @counted_origin_call("get")
    def get(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            self._require_root()
            return None
        except OSError as error:
            raise OriginUnavailable(f"filesystem origin: {error}") from error

    @counted_origin_call("get")
    def open(self, key: str, start: int | None = None, end: int | None = None) -> ChunkStream | None:
        try:
            file = open(self.path(key), "rb")  # noqa: SIM115 (closed by ChunkStream.close)
        except FileNotFoundError:
            self._require_root()
            return None
        except OSError as error:
            raise OriginUnavailable(f"filesystem origin: {error}") from error
        if start:
            file.seek(start)
        remaining = None if end is None else end - (start or 0) + 1
        return ChunkStream(_read_chunks(file, remaining), file.close)

    @counted_origin_call("put")
    def put(self, key: str, path: str | Path, content_type: str, metadata: dict[str, str] | None = None) -> None:
        self._require_root()
        final = self.path(key)
        temp_path = None
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=final.parent, prefix=".put-", delete=False) as temp:
                temp_path = temp.name
                with open(path, "rb") as source:
                    shutil.copyfileobj(source, temp, CHUNK_SIZE)
            os.chmod(temp_path, 0o644)
            os.replace(temp_path, final)
        except OSError as error:
            if temp_path:
                Path(temp_path).unlink(missing_ok=True)
            raise OriginUnavailable(f"filesystem origin put {key}: {error}") from error

    @counted_origin_call("delete")
    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink(missing_ok=True)
        except OSError as error:
            raise OriginUnavailable(f"filesystem origin delete {key}: {error}") from error

    @counted_origin_call("list")
    def iter_objects(self, prefix: str) -> Iterator[StoredObject]:
        base = self.root / prefix
        if not base.exists():
            return
        for dirpath, _dirs, files in os.walk(base):
            for filename in files:
                if filename.startswith(".put-"):
                    continue
                full = Path(dirpath) / filename
                stat = full.stat()
                yield StoredObject(str(full.relative_to(self.root)), stat.st_size, stat.st_mtime)

    def ping(self) -> None:
        """Read-only: the folder is created by ``migrate`` (see ``signals.py``), never by a check."""
        self._require_root()
        if not os.access(self.root, os.R_OK | os.W_OK):
            raise OriginUnavailable(f"filesystem origin {self.root} is not a writable folder")


def _read_chunks(file, remaining: int | None) -> Iterator[bytes]:
    while remaining is None or remaining > 0:
        chunk = file.read(CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining))
        if not chunk:
            return
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk
