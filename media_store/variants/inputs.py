"""A verified local copy of stored content, for a child process to read.

ffmpeg gets a plain file it may open by path — never a URL, never the live disk-tier file
(cleanup may remove that mid-read). The bytes come through the normal read-through
(hot → disk → origin, filling the tiers on the way) and are hashed while copied: a copy
that does not match the digest is refused, whatever tier it came from.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from media_store import runtime
from media_store.content.blobs import BlobInfo
from media_store.content.digests import CHUNK_SIZE
from media_store.exceptions import OriginUnavailable


def local_copy(blob: BlobInfo, folder: Path) -> Path:
    """Write the blob to ``folder/source<ext>`` and return the path; raises MediaNotFound or
    OriginUnavailable (unreachable, or no copy matches its digest)."""
    path = folder / f"source{blob.extension or '.bin'}"
    content = runtime.get_store().fetch(blob)
    sha = hashlib.sha256()
    with open(path, "wb") as out:
        if content.data is not None:
            sha.update(content.data)
            out.write(content.data)
        elif content.file is not None:
            with content.file as source:
                for chunk in iter(lambda: source.read(CHUNK_SIZE), b""):
                    sha.update(chunk)
                    out.write(chunk)
        else:
            stream = content.open_origin(None, None)
            try:
                for chunk in stream:
                    sha.update(chunk)
                    out.write(chunk)
            finally:
                stream.close()
    if sha.hexdigest() != blob.sha256:
        path.unlink(missing_ok=True)
        raise OriginUnavailable(f"the copy of {blob.sha256} read for transcoding does not match its digest")
    return path


def clear(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
