"""Pillow conversions, run as a subprocess: ``python -m media_store.variants.imaging MODE IN OUT``.

Decoding an image a stranger sent is the riskiest thing the variants do with Pillow, so it
happens in a child process like every ffmpeg run: the wall-time limit, the lowered priority
and the run counter of ``runner`` apply, and a decoder crash takes down only the child. This
module imports Pillow (and pillow-heif, for iPhone photos) and nothing of Django (the child
starts in ~0.1 s).

Modes:
- ``jpeg``    — EXIF-rotated, alpha flattened on white, long edge ≤ ``--max-edge``, quality 85
                (lowered in steps until the file is ≤ ``--max-bytes``).
- ``thumb``   — the same at a small edge and quality 80: a preview.
- ``sticker`` — 512×512 WebP with transparent padding; static ≤ 100 KB, animated (GIF or
                animated WebP in) ≤ 500 KB: quality is lowered, then frames are dropped.
Exit status 0 and the output file, or status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from PIL import Image, ImageOps, ImageSequence
from pillow_heif import register_heif_opener

STICKER_SIZE = 512
JPEG_QUALITIES = (85, 75, 65, 50, 35)
WEBP_QUALITIES = (80, 65, 50, 35, 20)
MAX_ANIMATED_FRAMES = 60
MAX_ANIMATED_MS = 8000


def flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency composited on white (a black background is what a naive
    ``convert("RGB")`` gives a PNG logo)."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA", "P"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def to_jpeg(source: Path, output: Path, max_edge: int, max_bytes: int, qualities=JPEG_QUALITIES) -> None:
    with Image.open(source) as image:
        image.seek(0)
        picture = flatten(image)
    picture.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    for quality in qualities:
        data = _encode(picture, "JPEG", quality=quality, optimize=True, progressive=True)
        if len(data) <= max_bytes:
            output.write_bytes(data)
            return
    raise ValueError(f"no JPEG quality fits {max_bytes} bytes")


def sticker_frame(frame: Image.Image) -> Image.Image:
    """One 512×512 RGBA frame: fitted inside the square, centred on transparent padding."""
    rgba = frame.convert("RGBA")
    rgba.thumbnail((STICKER_SIZE, STICKER_SIZE), Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", (STICKER_SIZE, STICKER_SIZE), (0, 0, 0, 0))
    canvas.paste(rgba, ((STICKER_SIZE - rgba.width) // 2, (STICKER_SIZE - rgba.height) // 2))
    return canvas


def to_sticker(source: Path, output: Path, static_bytes: int, animated_bytes: int) -> None:
    with Image.open(source) as image:
        animated = getattr(image, "n_frames", 1) > 1
        if not animated:
            frame = sticker_frame(ImageOps.exif_transpose(image))
            for quality in WEBP_QUALITIES:
                data = _encode(frame, "WEBP", quality=quality, method=6)
                if len(data) <= static_bytes:
                    output.write_bytes(data)
                    return
            raise ValueError(f"no WebP quality fits {static_bytes} bytes")
        frames, durations = _animation(image)
    for step in (1, 2, 3):  # then drop frames: every 2nd, every 3rd
        kept = frames[::step]
        kept_durations = [sum(durations[i : i + step]) for i in range(0, len(frames), step)]
        for quality in WEBP_QUALITIES:
            data = _encode(
                kept[0], "WEBP", save_all=True, append_images=kept[1:], duration=kept_durations, loop=0,
                quality=quality, method=4,
            )  # fmt: skip
            if len(data) <= animated_bytes:
                output.write_bytes(data)
                return
    raise ValueError(f"no animated WebP fits {animated_bytes} bytes")


def _animation(image: Image.Image) -> tuple[list[Image.Image], list[int]]:
    """At most MAX_ANIMATED_FRAMES frames covering at most MAX_ANIMATED_MS (bounded memory)."""
    total = getattr(image, "n_frames", 1)
    step = max(1, -(-total // MAX_ANIMATED_FRAMES))
    frames, durations, elapsed = [], [], 0
    for index, frame in enumerate(ImageSequence.Iterator(image)):
        duration = int(frame.info.get("duration") or 100)
        if elapsed >= MAX_ANIMATED_MS:
            break
        elapsed += duration
        if index % step == 0:
            frames.append(sticker_frame(frame))
            durations.append(duration)
        else:
            durations[-1] += duration
    return frames, durations


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imaging")
    parser.add_argument("mode", choices=("jpeg", "thumb", "sticker"))
    parser.add_argument("source", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--max-edge", type=int, default=2048)
    parser.add_argument("--max-bytes", type=int, default=5 * 1024 * 1024)
    parser.add_argument("--animated-bytes", type=int, default=500 * 1024)
    parser.add_argument("--max-pixels", type=int, default=89_478_485)
    args = parser.parse_args(argv)
    Image.MAX_IMAGE_PIXELS = args.max_pixels  # a bomb raises instead of eating the memory
    register_heif_opener()  # HEIF/HEIC photos from iPhones
    try:
        if args.mode == "sticker":
            to_sticker(args.source, args.output, args.max_bytes, args.animated_bytes)
        elif args.mode == "thumb":
            to_jpeg(args.source, args.output, args.max_edge, args.max_bytes, qualities=(80, 60, 40))
        else:
            to_jpeg(args.source, args.output, args.max_edge, args.max_bytes)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        print(f"cannot convert the image: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
