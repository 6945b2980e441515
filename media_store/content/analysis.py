"""What is inside a piece of content: duration, codecs, streams, rotation — read once, at ingest.

Audio and video are read with ``ffprobe`` (Debian's ffmpeg), images with Pillow. The result
lives on the Blob (``duration``, ``metadata``) so the attachment JSON, the admin, the payload
helpers and the variant recipes can decide without opening the file again. Analysis never
fails an ingest: whatever goes wrong (a file ffprobe cannot read, a missing binary, a
timeout) is recorded in ``analysis_error`` and the content is stored all the same.

``streamable`` says whether a player (or Evolution's ffmpeg reading a pipe) can start at byte
0: for the MP4 family it means the ``moov`` box comes before ``mdat``; other containers we
accept (Ogg, MP3, WebM, WAV) are readable front to back by design.
"""

from __future__ import annotations

import json
import logging
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils import timezone
from PIL import Image, UnidentifiedImageError
from pillow_heif import register_heif_opener

from media_store.conf import media_settings

logger = logging.getLogger("media_store.content.analysis")

register_heif_opener()  # HEIF/HEIC photos (what iPhones send) open like any image, here and at ingest

MP4_FAMILY = ("mov", "mp4", "m4a", "3gp", "3g2", "mj2")
EXIF_ORIENTATION = 274
ROTATION_FOR_ORIENTATION = {3: 180, 4: 180, 5: 90, 6: 90, 7: 270, 8: 270}
MAX_ERROR = 255


class ProbeError(Exception):
    """ffprobe could not read the file (or could not run); the message says why."""


@dataclass
class Analysis:
    duration: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def fields(self) -> dict[str, Any]:
        """The Blob fields this analysis fills."""
        return {
            "duration": self.duration,
            "metadata": self.metadata,
            "analysis_error": self.error[:MAX_ERROR],
            "analysed_at": timezone.now(),
        }


def analyse(path: str | Path, media_type: str) -> Analysis:
    """Analyse a local file of the given media family; never raises (errors are recorded)."""
    try:
        if media_type in ("audio", "video"):
            return analyse_media(path)
        if media_type in ("image", "sticker"):
            return analyse_image(path)
    except ProbeError as error:
        logger.info("media.analysis_failed path=%s: %s", Path(path).name, error)
        return Analysis(error=str(error))
    except Exception as error:  # noqa: BLE001 — an analysis bug must never fail an ingest
        logger.exception("media.analysis_crashed path=%s", Path(path).name)
        return Analysis(error=f"analysis failed: {error}")
    return Analysis()  # documents: nothing to analyse


def probe(path: str | Path, timeout: float | None = None) -> dict[str, Any]:
    """ffprobe's JSON (format and streams) for a local file; raises ProbeError."""
    args = [
        media_settings.MEDIA_FFPROBE,
        "-v", "error",
        "-protocol_whitelist", "file",
        "-print_format", "json",
        "-show_format",
        "-show_streams",
        f"file:{path}",
    ]  # fmt: skip
    try:
        result = subprocess.run(
            args,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=media_settings.MEDIA_ANALYSIS_TIMEOUT if timeout is None else timeout,
            check=False,
        )
    except FileNotFoundError:
        raise ProbeError(f"{media_settings.MEDIA_FFPROBE} is not installed (apt-get install ffmpeg)") from None
    except subprocess.TimeoutExpired:
        raise ProbeError("ffprobe timed out") from None
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        raise ProbeError(f"ffprobe cannot read the file: {lines[-1] if lines else f'exit {result.returncode}'}")
    try:
        data = json.loads(result.stdout)
    except ValueError:
        raise ProbeError("ffprobe printed no JSON") from None
    if not data.get("streams"):
        raise ProbeError("no audio or video stream found")
    return data


def analyse_media(path: str | Path) -> Analysis:
    data = probe(path)
    return Analysis(duration=_duration(data), metadata=media_metadata(data, path))


def media_metadata(data: dict[str, Any], path: str | Path | None = None) -> dict[str, Any]:
    """The ``metadata`` object for ffprobe's JSON (``path`` lets MP4 streamability be checked)."""
    fmt = data.get("format", {})
    streams = data.get("streams", [])
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    video = [s for s in streams if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")]
    container = fmt.get("format_name", "")
    mp4_family = any(name in MP4_FAMILY for name in container.split(","))
    return {
        "container": container,
        "brand": fmt.get("tags", {}).get("major_brand", "").strip() or None,
        "bit_rate": _int(fmt.get("bit_rate")),
        "has_audio": bool(audio),
        "has_video": bool(video),
        "audio_streams": len(audio),
        "video_streams": len(video),
        "audio": _audio(audio[0]) if audio else None,
        "video": _video(video[0]) if video else None,
        "streamable": moov_before_mdat(path) if mp4_family and path is not None else True,
    }


def _audio(stream: dict[str, Any]) -> dict[str, Any]:
    return {
        "codec": stream.get("codec_name"),
        "profile": stream.get("profile"),
        "sample_rate": _int(stream.get("sample_rate")),
        "channels": _int(stream.get("channels")),
        "bit_rate": _int(stream.get("bit_rate")),
    }


def _video(stream: dict[str, Any]) -> dict[str, Any]:
    return {
        "codec": stream.get("codec_name"),
        "profile": stream.get("profile"),
        "width": _int(stream.get("width")),
        "height": _int(stream.get("height")),
        "pix_fmt": stream.get("pix_fmt"),
        "fps": _rate(stream.get("avg_frame_rate")) or _rate(stream.get("r_frame_rate")),
        "bit_rate": _int(stream.get("bit_rate")),
        "rotation": _rotation(stream),
    }


def _rotation(stream: dict[str, Any]) -> int:
    """Display rotation in degrees clockwise (0, 90, 180, 270) from the display matrix or tag."""
    for side in stream.get("side_data_list", []) or []:
        if "rotation" in side:
            return int(-float(side["rotation"])) % 360
    rotate = stream.get("tags", {}).get("rotate")
    return int(float(rotate)) % 360 if rotate else 0


def _duration(data: dict[str, Any]) -> float | None:
    value = _float(data.get("format", {}).get("duration"))
    if value is None:
        values = [_float(s.get("duration")) for s in data.get("streams", [])]
        value = max((v for v in values if v is not None), default=None)
    return round(value, 3) if value is not None else None


def moov_before_mdat(path: str | Path) -> bool:
    """True when the MP4 ``moov`` box precedes ``mdat`` (playable without reading to the end)."""
    with open(path, "rb") as file:
        while True:
            header = file.read(8)
            if len(header) < 8:
                return False
            size, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if kind == b"moov":
                return True
            if kind == b"mdat":
                return False
            if size == 1:  # 64-bit size follows
                size = int.from_bytes(file.read(8), "big") - 8
            elif size == 0:  # box runs to the end of the file
                return False
            if size < 8:
                return False
            file.seek(size - 8, 1)


def analyse_image(path: str | Path) -> Analysis:
    """Format, mode, alpha, animation and EXIF orientation (the pixels are not decoded)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                frames = getattr(image, "n_frames", 1)
                orientation = image.getexif().get(EXIF_ORIENTATION, 1)
                has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
                metadata = {
                    "format": image.format,
                    "mode": image.mode,
                    "has_alpha": has_alpha,
                    "animated": frames > 1,
                    "frames": frames,
                    "orientation": orientation,
                    "rotation": ROTATION_FOR_ORIENTATION.get(orientation, 0),
                }
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ProbeError(f"Pillow cannot read the image: {error}") from None
    return Analysis(metadata=metadata)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _rate(value) -> float | None:
    """ffprobe's ``30000/1001`` → 29.97; ``0/0`` → None."""
    if not value or "/" not in str(value):
        return None
    numerator, _, denominator = str(value).partition("/")
    try:
        rate = float(numerator) / float(denominator)
    except (ValueError, ZeroDivisionError):
        return None
    return round(rate, 3) if rate > 0 else None
