"""What a piece of content is: MIME type, media family and file extension, from its bytes.

Magic bytes (libmagic) decide first, because names and Content-Type headers lie; a declared
type or the file name's extension is used only when the bytes are generic (plain text, raw
binary). Only types known to be inert are served inline; everything else is an attachment
(see ``is_inline_safe``): what the bytes claim to be can come from a stranger's server.
"""

from __future__ import annotations

import mimetypes
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import magic
from PIL import Image, UnidentifiedImageError

from media_store.exceptions import RejectedMedia

HEAD_BYTES = 8192  # what detection reads; enough for OOXML/ZIP, MP4 'ftyp' and ID3 headers

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
DISK_FOLDERS = {"image": "images", "sticker": "images", "video": "videos", "audio": "audio", "document": "documents"}

# libmagic's answers that say "I don't know": a declared type or the extension may refine them.
GENERIC_TYPES = frozenset(
    {
        "application/octet-stream",
        "binary/octet-stream",  # S3's default
        "text/plain",
        "application/zip",
        "application/x-empty",
        "inode/x-empty",
    }
)
_MIME_SHAPE = re.compile(r"[a-z0-9][a-z0-9.+_-]*/[a-z0-9][a-z0-9.+_-]*")
# libmagic spells some types differently from what browsers and WhatsApp expect.
CANONICAL_TYPES = {
    "audio/x-m4a": "audio/mp4",
    "audio/x-wav": "audio/wav",
    "audio/x-hx-aac-adts": "audio/aac",
    "audio/x-flac": "audio/flac",
    "image/x-ms-bmp": "image/bmp",
    "application/ogg": "audio/ogg",
    "text/xml": "application/xml",
    "application/javascript": "text/javascript",
    "application/x-javascript": "text/javascript",
}
# Types a browser would run or render as a page: never inline from our origin.
ACTIVE_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "application/xml",
        "text/javascript",
        "application/ecmascript",
        "text/ecmascript",
    }
)
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tiff",
    "image/heic": ".heic",
    "image/svg+xml": ".svg",
    "audio/ogg": ".ogg",
    "audio/opus": ".opus",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/amr": ".amr",
    "audio/wav": ".wav",
    "audio/flac": ".flac",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "video/ogg": ".ogv",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "text/csv": ".csv",
    "text/html": ".html",
    "application/json": ".json",
    "application/xml": ".xml",
    "text/javascript": ".js",
    "application/zip": ".zip",
    "application/octet-stream": ".bin",
}


@dataclass(frozen=True)
class ContentType:
    mime_type: str
    media_type: str  # image | audio | video | document
    extension: str  # with the dot: ".png"


def canonical(mime_type: str | None) -> str:
    """Lower-case type without parameters, in the spelling clients expect."""
    if not mime_type:
        return ""
    base = mime_type.split(";", 1)[0].strip().lower()
    return CANONICAL_TYPES.get(base, base)


def media_type_for(mime_type: str) -> str:
    """The media family of a MIME type; anything a browser might execute is a document."""
    family = mime_type.split("/", 1)[0]
    if mime_type in ACTIVE_TYPES or family not in ("image", "audio", "video"):
        return "document"
    return family


def extension_for(mime_type: str, filename: str | None = None) -> str:
    if mime_type in EXTENSIONS:
        return EXTENSIONS[mime_type]
    suffix = Path(filename or "").suffix.lower()
    if suffix and suffix[1:].isalnum() and len(suffix) <= 10:
        return suffix
    return mimetypes.guess_extension(mime_type) or ".bin"


# Inline only what a browser renders without running anything. An allowlist, not a blocklist:
# XHTML in any XML type (``text/xsl``, ``application/rss+xml``…) runs scripts, and the
# declared type of a download is chosen by the remote server.
INLINE_SAFE_TYPES = frozenset({"text/plain", "application/pdf"})


def is_inline_safe(mime_type: str) -> bool:
    """True when the type may be shown inline; False → ``Content-Disposition: attachment``."""
    mime = canonical(mime_type)
    if mime in ACTIVE_TYPES:
        return False
    return mime.split("/", 1)[0] in ("image", "audio", "video") or mime in INLINE_SAFE_TYPES


def sniff(head: bytes) -> str:
    """libmagic's MIME type for the first bytes of some content."""
    return canonical(magic.from_buffer(head[:HEAD_BYTES], mime=True)) or "application/octet-stream"


def detect(head: bytes, declared_type: str | None = None, filename: str | None = None) -> ContentType:
    """Type of content from its first bytes, refined by a declared type or the file name.

    The declared type (a Content-Type header, an upload's type) wins over the name; both are
    consulted only when the bytes themselves are generic.
    """
    mime = sniff(head)
    if mime in GENERIC_TYPES:
        hints = (canonical(declared_type), canonical(mimetypes.guess_type(filename or "")[0]))
        useful = [hint for hint in hints if _MIME_SHAPE.fullmatch(hint) and hint not in GENERIC_TYPES]
        if useful:
            mime = useful[0]
        elif mime in ("application/x-empty", "inode/x-empty", "binary/octet-stream"):
            mime = "application/octet-stream"
    return ContentType(mime, media_type_for(mime), extension_for(mime, filename))


def image_dimensions(path: str | Path, max_pixels: int) -> tuple[int, int] | None:
    """(width, height) read from the image header, or None when Pillow cannot read it.

    Raises RejectedMedia for a decompression bomb (more than ``max_pixels``): such a file is
    refused rather than stored, because every thumbnailer downstream would choke on it.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
    except Image.DecompressionBombError as error:
        raise RejectedMedia(f"image refused as a decompression bomb: {error}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    if width * height > max_pixels:
        raise RejectedMedia(f"image refused as a decompression bomb: {width}x{height} pixels exceeds {max_pixels}")
    return width, height
