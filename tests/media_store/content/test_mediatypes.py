"""media_store.content.mediatypes: what content is, from its bytes first and its name/declared type second."""

import pytest
from PIL import Image

from media_store.content.mediatypes import (
    ContentType,
    canonical,
    detect,
    extension_for,
    image_dimensions,
    is_inline_safe,
    media_type_for,
)
from media_store.exceptions import RejectedMedia
from tests.support.media import jpeg_bytes, mp4_bytes, ogg_opus_bytes, pdf_bytes, png_bytes, random_bytes, webp_bytes

SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<script>alert(document.domain)</script><rect width="10" height="10"/></svg>\n'
)
HTML = b"<!DOCTYPE html>\n<html><head><title>x</title></head><body><script>alert(1)</script></body></html>\n"
XML = b'<?xml version="1.0" encoding="UTF-8"?>\n<note><to>someone</to><body>hello</body></note>\n'
JAVASCRIPT = b"function add(x) {\n  return x + 1;\n}\nconsole.log(add(1));\n"
TEXT = b"hello world\nthis is a plain text note from a chat\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (png_bytes(), ContentType("image/png", "image", ".png")),
        (jpeg_bytes(), ContentType("image/jpeg", "image", ".jpg")),
        (webp_bytes(), ContentType("image/webp", "image", ".webp")),
        (ogg_opus_bytes(), ContentType("audio/ogg", "audio", ".ogg")),
        (mp4_bytes(), ContentType("video/mp4", "video", ".mp4")),
        (pdf_bytes(), ContentType("application/pdf", "document", ".pdf")),
        (SVG, ContentType("image/svg+xml", "document", ".svg")),
        (HTML, ContentType("text/html", "document", ".html")),
        (XML, ContentType("application/xml", "document", ".xml")),
        (JAVASCRIPT, ContentType("text/plain", "document", ".txt")),
        (TEXT, ContentType("text/plain", "document", ".txt")),
        (random_bytes(4096), ContentType("application/octet-stream", "document", ".bin")),
        (b"", ContentType("application/octet-stream", "document", ".bin")),
    ],
    ids=["png", "jpeg", "webp", "ogg-opus", "mp4", "pdf", "svg", "html", "xml", "js", "text", "binary", "empty"],
)
def test_detect_identifies_content_from_its_bytes(content, expected):
    assert detect(content) == expected


@pytest.mark.parametrize(
    ("content", "declared_type", "filename", "expected_mime"),
    [
        (png_bytes(), "text/plain", None, "image/png"),
        (png_bytes(), "application/pdf", "photo.pdf", "image/png"),
        (png_bytes(), None, "song.mp3", "image/png"),
        (jpeg_bytes(), "image/png", "photo.png", "image/jpeg"),
        (HTML, "image/png", "cat.png", "text/html"),
        (SVG, "image/png", "cat.png", "image/svg+xml"),
        (ogg_opus_bytes(), "audio/mpeg", "voice.mp3", "audio/ogg"),
    ],
)
def test_detect_trusts_specific_bytes_over_the_declared_type_and_the_name(
    content, declared_type, filename, expected_mime
):
    assert detect(content, declared_type, filename).mime_type == expected_mime


@pytest.mark.parametrize(
    ("content", "declared_type", "filename", "expected"),
    [
        (TEXT, "application/json", None, ContentType("application/json", "document", ".json")),
        (TEXT, "application/json; charset=utf-8", None, ContentType("application/json", "document", ".json")),
        (TEXT, None, "table.csv", ContentType("text/csv", "document", ".csv")),
        (JAVASCRIPT, None, "app.js", ContentType("text/javascript", "document", ".js")),
        (JAVASCRIPT, "application/javascript", None, ContentType("text/javascript", "document", ".js")),
        (random_bytes(4096), None, "x.mp3", ContentType("audio/mpeg", "audio", ".mp3")),
        (random_bytes(4096), None, "VOICE.MP3", ContentType("audio/mpeg", "audio", ".mp3")),
        (random_bytes(4096), "audio/ogg; codecs=opus", None, ContentType("audio/ogg", "audio", ".ogg")),
        (random_bytes(4096), "audio/ogg", "x.mp3", ContentType("audio/ogg", "audio", ".ogg")),
        (random_bytes(4096), "audio/x-m4a", None, ContentType("audio/mp4", "audio", ".m4a")),
        (b"", None, "x.mp3", ContentType("audio/mpeg", "audio", ".mp3")),
    ],
)
def test_detect_lets_the_declared_type_or_name_refine_generic_bytes(content, declared_type, filename, expected):
    assert detect(content, declared_type, filename) == expected


@pytest.mark.parametrize(
    ("content", "declared_type", "filename", "expected"),
    [
        (random_bytes(4096), "application/octet-stream", "x.mp3", ContentType("audio/mpeg", "audio", ".mp3")),
        (
            random_bytes(4096),
            "application/octet-stream; charset=binary",
            "voice.ogg",
            ContentType("audio/ogg", "audio", ".ogg"),
        ),
        (TEXT, "text/plain", "table.csv", ContentType("text/csv", "document", ".csv")),
    ],
    ids=["octet-stream-mp3", "octet-stream-ogg", "text-plain-csv"],
)
def test_detect_falls_back_to_the_name_when_the_declared_type_is_generic_too(
    content, declared_type, filename, expected
):
    """A generic Content-Type (what browsers, curl and many CDNs send) must not hide a telling name."""
    assert detect(content, declared_type, filename) == expected


@pytest.mark.parametrize("declared_type", ["not-a-type", "*/*", "garbage; x=y"])
def test_detect_ignores_a_declared_type_that_is_not_a_mime_type(declared_type):
    assert detect(random_bytes(4096), declared_type).mime_type == "application/octet-stream"


def test_detect_ignores_generic_hints_for_generic_bytes():
    detected = detect(random_bytes(4096), "application/zip", "archive.bin")
    assert detected.mime_type == "application/octet-stream"


@pytest.mark.parametrize(
    ("mime_type", "filename", "expected"),
    [
        ("image/png", "photo.exe", ".png"),
        ("image/jpeg", None, ".jpg"),
        ("audio/mp4", "voice.m4a", ".m4a"),
        ("application/octet-stream", "x.mp3", ".bin"),
        ("application/msword", None, ".doc"),
        ("application/x-made-up", "report.XYZ", ".xyz"),
        ("application/x-made-up", "report", ".bin"),
        ("application/x-made-up", None, ".bin"),
        ("application/x-made-up", "weird.ta-r", ".bin"),
        ("application/x-made-up", "x.averyverylongsuffix", ".bin"),
        ("application/x-made-up", "x.", ".bin"),
    ],
)
def test_extension_for_prefers_the_type_then_a_sane_filename_suffix(mime_type, filename, expected):
    assert extension_for(mime_type, filename) == expected


@pytest.mark.parametrize(
    ("mime_type", "expected"),
    [
        ("image/png", "image"),
        ("image/webp", "image"),
        ("audio/ogg", "audio"),
        ("audio/mpeg", "audio"),
        ("video/mp4", "video"),
        ("application/pdf", "document"),
        ("application/octet-stream", "document"),
        ("text/plain", "document"),
        ("image/svg+xml", "document"),
        ("text/html", "document"),
        ("application/xml", "document"),
        ("text/javascript", "document"),
    ],
)
def test_media_type_for_puts_executable_types_among_documents(mime_type, expected):
    assert media_type_for(mime_type) == expected


@pytest.mark.parametrize(
    ("mime_type", "inline"),
    [
        ("text/html", False),
        ("text/html; charset=utf-8", False),
        ("application/xhtml+xml", False),
        ("image/svg+xml", False),
        ("application/xml", False),
        ("text/xsl", False),  # XHTML scripts run in any XML type
        ("application/rss+xml", False),
        ("text/javascript", False),
        ("application/ecmascript", False),
        ("application/json", False),
        ("text/csv", False),
        ("application/octet-stream", False),
        ("image/png", True),
        ("image/webp", True),
        ("audio/ogg", True),
        ("video/mp4", True),
        ("application/pdf", True),
        ("text/plain", True),
    ],
)
def test_only_inert_types_are_shown_inline(mime_type, inline):
    assert is_inline_safe(mime_type) is inline


@pytest.mark.parametrize(
    ("mime_type", "expected"),
    [
        (None, ""),
        ("", ""),
        ("image/png", "image/png"),
        ("Image/PNG", "image/png"),
        (" Audio/OGG ; codecs=opus", "audio/ogg"),
        ("audio/x-m4a", "audio/mp4"),
        ("audio/x-wav", "audio/wav"),
        ("image/x-ms-bmp", "image/bmp"),
        ("application/ogg", "audio/ogg"),
        ("text/xml; charset=utf-8", "application/xml"),
        ("application/javascript", "text/javascript"),
        ("application/x-javascript", "text/javascript"),
    ],
)
def test_canonical_lowercases_drops_parameters_and_uses_the_common_spelling(mime_type, expected):
    assert canonical(mime_type) == expected


@pytest.mark.parametrize(
    ("content", "filename", "expected"),
    [
        (png_bytes(64, 48), "a.png", (64, 48)),
        (png_bytes(1, 1), "a.png", (1, 1)),
        (jpeg_bytes(120, 80), "a.jpg", (120, 80)),
        (webp_bytes(32, 16), "a.webp", (32, 16)),
    ],
)
def test_image_dimensions_reads_width_and_height(tmp_path, content, filename, expected):
    path = tmp_path / filename
    path.write_bytes(content)
    assert image_dimensions(path, max_pixels=10_000_000) == expected


@pytest.mark.parametrize(
    "content",
    [pdf_bytes(), TEXT, SVG, random_bytes(4096), ogg_opus_bytes(), mp4_bytes(), b""],
    ids=["pdf", "text", "svg", "binary", "ogg", "mp4", "empty"],
)
def test_image_dimensions_is_none_for_content_that_is_not_a_raster_image(tmp_path, content):
    path = tmp_path / "content"
    path.write_bytes(content)
    assert image_dimensions(path, max_pixels=10_000_000) is None


def test_image_dimensions_refuses_an_image_with_more_pixels_than_allowed(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(png_bytes(2000, 2000))
    with pytest.raises(RejectedMedia, match="2000x2000"):
        image_dimensions(path, max_pixels=1_000_000)


def test_image_dimensions_accepts_an_image_exactly_at_the_pixel_limit(tmp_path):
    path = tmp_path / "edge.png"
    path.write_bytes(png_bytes(1000, 1000))
    assert image_dimensions(path, max_pixels=1_000_000) == (1000, 1000)


def test_image_dimensions_turns_pillows_decompression_bomb_error_into_a_rejection(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bytes(30, 30))  # 900 pixels: more than twice Pillow's limit, so Pillow raises
    with pytest.raises(RejectedMedia, match="decompression bomb"):
        image_dimensions(path, max_pixels=10_000_000)
