"""Real media bytes generated in the tests (nothing binary is committed)."""

from __future__ import annotations

import io
import os

from PIL import Image


def png_bytes(width: int = 64, height: int = 48, color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(width: int = 64, height: int = 48, color=(30, 200, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def webp_bytes(width: int = 32, height: int = 32) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (10, 10, 200, 255)).save(buffer, format="WEBP")
    return buffer.getvalue()


def ogg_opus_bytes(payload: int = 2048) -> bytes:
    """An Ogg page carrying an OpusHead packet (what WhatsApp voice notes start with)."""
    head = b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00"
    page = b"OggS\x00\x02" + b"\x00" * 8 + b"\x01\x00\x00\x00" + b"\x00" * 8 + b"\x01" + bytes([len(head)]) + head
    return page + os.urandom(payload)


def mp4_bytes(payload: int = 4096) -> bytes:
    ftyp = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    return ftyp + b"\x00\x00\x00\x08free" + os.urandom(payload)


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def random_bytes(size: int) -> bytes:
    """``size`` unique bytes that libmagic calls generic binary.

    Pure noise now and then looks like something: a known signature at the start (``MZ``,
    ``BM``…) or, often enough to fail one run in a few thousand, a DOS ``.COM`` program
    (libmagic looks for ``int 21h``, ``CD 21``, near the start). So: a fixed first few bytes,
    and no ``CD`` byte in the first KiB.
    """
    head = os.urandom(min(size, 1024)).replace(b"\xcd", b"\xce")
    return (b"\x00\xffRND" + head + os.urandom(max(0, size - 1024)))[:size]
