"""``image.jpg``, ``sticker.webp`` and ``thumb.jpg``: pictures for WhatsApp, and previews.

image.jpg — JPEG, EXIF orientation applied, alpha flattened on white, long edge ≤ 2048 px
(WhatsApp's standard quality sends 1600 px, HD 4096: 2048 keeps zoomable detail and lands
far under the 5 MB limit), quality 85 progressive, lowered in steps only if over 5 MB.
sticker.webp — 512×512 WebP with transparent padding (WhatsApp's sticker format), static
≤ 100 KB, animated (GIF, animated WebP, or a short video) ≤ 500 KB, at most 8 s.
thumb.jpg — long edge 320 px, quality 80; for a video, the most representative of 30 frames
around 10 % of its duration (ffmpeg's ``thumbnail`` filter), not the often-black first frame.

Pillow work runs in a child process (``imaging``), exactly like ffmpeg (see ``runner``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

from media_store.conf import media_settings
from media_store.variants.base import (
    IMAGE_MAX_BYTES,
    ORIGINAL,
    STICKER_ANIMATED_MAX_BYTES,
    STICKER_STATIC_MAX_BYTES,
    Plan,
    Source,
    ffmpeg,
    refuse,
)

JPEG_MAX_EDGE = 2048
THUMB_EDGE = 320
STICKER_SIZE = 512
STICKER_MAX_SECONDS = 8.0
# Video → animated sticker: (frames per second, WebP quality), tried in order until ≤ 500 KB.
ANIMATED_LADDER = ((15, 60), (10, 45), (8, 30), (6, 20))


def imaging(mode: str, input_path: Path, output_path: Path, *options: str) -> list[str]:
    return [
        sys.executable, "-m", "media_store.variants.imaging", mode, str(input_path), str(output_path),
        "--max-pixels", str(media_settings.MEDIA_MAX_IMAGE_PIXELS), *options,
    ]  # fmt: skip


def read_image(path: Path) -> tuple[str, tuple[int, int], int]:
    """(format, size, frames) of an output image, from its header."""
    with Image.open(path) as image:
        return image.format, image.size, getattr(image, "n_frames", 1)


def _is_picture(source: Source) -> bool:
    return source.media_type in ("image", "sticker")


class ImageJpeg:
    name = "image.jpg"
    mime_type = "image/jpeg"
    max_bytes = IMAGE_MAX_BYTES

    def plan(self, source: Source):
        if not _is_picture(source):
            raise refuse(f"image.jpg needs an image; this content is {source.mime_type}")
        meta = source.metadata
        if (
            source.mime_type == "image/jpeg"
            and source.size <= IMAGE_MAX_BYTES
            and meta.get("orientation", 1) == 1
            and meta.get("mode") in ("RGB", "L")
            and max(source.width or 0, source.height or 0) <= JPEG_MAX_EDGE
        ):
            return ORIGINAL
        options = ("--max-edge", str(JPEG_MAX_EDGE), "--max-bytes", str(IMAGE_MAX_BYTES))
        return Plan((lambda i, o: imaging("jpeg", i, o, *options),), note="pillow jpeg")

    def verify(self, output: Path, source: Source) -> str | None:
        fmt, size, _ = read_image(output)
        if fmt != "JPEG" or max(size) > JPEG_MAX_EDGE:
            return f"the output is {fmt} {size[0]}x{size[1]}, not a JPEG within {JPEG_MAX_EDGE} px"
        return None


class Sticker:
    name = "sticker.webp"
    mime_type = "image/webp"
    max_bytes = STICKER_ANIMATED_MAX_BYTES

    def plan(self, source: Source):
        meta = source.metadata
        if source.media_type == "video":
            return self._from_video(source)
        if not _is_picture(source):
            raise refuse(f"sticker.webp needs an image or a short video; this content is {source.mime_type}")
        limit = STICKER_ANIMATED_MAX_BYTES if meta.get("animated") else STICKER_STATIC_MAX_BYTES
        if (
            source.mime_type == "image/webp"
            and (source.width, source.height) == (STICKER_SIZE, STICKER_SIZE)
            and source.size <= limit
        ):
            return ORIGINAL
        options = ("--max-bytes", str(STICKER_STATIC_MAX_BYTES), "--animated-bytes", str(STICKER_ANIMATED_MAX_BYTES))
        return Plan((lambda i, o: imaging("sticker", i, o, *options),), note="pillow webp")

    def _from_video(self, source: Source) -> Plan:
        if source.analysed and not source.metadata.get("has_video"):
            raise refuse(f"sticker.webp needs pictures; this {source.mime_type} has no video stream")
        fit = f"scale={STICKER_SIZE}:{STICKER_SIZE}:force_original_aspect_ratio=decrease:flags=lanczos"
        pad = f"pad={STICKER_SIZE}:{STICKER_SIZE}:(ow-iw)/2:(oh-ih)/2:color=black@0"

        def attempt(fps: int, quality: int):
            def command(input_path: Path, output_path: Path) -> list[str]:
                return ffmpeg(
                    input_path,
                    output_path,
                    ["-map", "0:v:0", "-an", "-vf", f"fps={fps},{fit},format=rgba,{pad}",
                     "-c:v", "libwebp_anim", "-lossless", "0", "-quality", str(quality),
                     "-compression_level", "4", "-loop", "0", "-f", "webp"],
                    max_seconds=STICKER_MAX_SECONDS,
                )  # fmt: skip

            return command

        return Plan(tuple(attempt(fps, quality) for fps, quality in ANIMATED_LADDER), note="ffmpeg animated webp")

    def verify(self, output: Path, source: Source) -> str | None:
        fmt, size, frames = read_image(output)
        if fmt != "WEBP" or size != (STICKER_SIZE, STICKER_SIZE):
            return f"the output is {fmt} {size[0]}x{size[1]}, not a 512x512 WebP"
        limit = STICKER_ANIMATED_MAX_BYTES if frames > 1 else STICKER_STATIC_MAX_BYTES
        if output.stat().st_size > limit:
            return "too large"
        return None


class Thumb:
    name = "thumb.jpg"
    mime_type = "image/jpeg"
    max_bytes = IMAGE_MAX_BYTES

    def plan(self, source: Source):
        if _is_picture(source):
            options = ("--max-edge", str(THUMB_EDGE), "--max-bytes", str(IMAGE_MAX_BYTES))
            return Plan((lambda i, o: imaging("thumb", i, o, *options),), note="pillow thumb")
        if source.media_type != "video" or (source.analysed and not source.metadata.get("has_video")):
            raise refuse(f"thumb.jpg needs an image or a video; this content is {source.mime_type}")
        start = round(min(10.0, (source.duration or 0) * 0.1), 3)
        scale = f"scale={THUMB_EDGE}:{THUMB_EDGE}:force_original_aspect_ratio=decrease"

        def command(input_path: Path, output_path: Path) -> list[str]:
            return ffmpeg(
                input_path,
                output_path,
                ["-map", "0:v:0", "-an", "-vf", f"thumbnail=30,{scale}", "-frames:v", "1",
                 "-c:v", "mjpeg", "-q:v", "4", "-f", "mjpeg"],
                max_seconds=30.0,
                input_args=("-ss", f"{start:.3f}"),
            )  # fmt: skip

        return Plan((command,), note=f"ffmpeg thumbnail at {start} s")

    def verify(self, output: Path, source: Source) -> str | None:
        fmt, size, _ = read_image(output)
        if fmt != "JPEG" or max(size) > THUMB_EDGE:
            return f"the output is {fmt} {size[0]}x{size[1]}, not a JPEG within {THUMB_EDGE} px"
        return None
