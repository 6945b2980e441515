"""What every recipe shares: the source as recipes see it, a plan, the channel limits, ffmpeg.

A recipe looks only at the Blob's analysis (no file access) and answers one of three ways:
``ORIGINAL`` (the source already is this variant: serve its bytes), a ``Plan`` (commands to run,
in order, until one output passes verification — a size ladder), or ``VariantUnsupported``.
Because planning is pure, the payload helpers can ask "would this fit?" without transcoding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from media_store.conf import media_settings
from media_store.exceptions import VariantUnsupported

MB = 1024 * 1024
# WhatsApp's limits (COMPAT.md, "Sending media out").
AUDIO_VIDEO_MAX_BYTES = 16 * MB
IMAGE_MAX_BYTES = 5 * MB
STICKER_STATIC_MAX_BYTES = 100 * 1024
STICKER_ANIMATED_MAX_BYTES = 500 * 1024
VOICE_PLAY_ICON_BYTES = 512 * 1024
DOCUMENT_MAX_BYTES = 100 * MB
FIT_MARGIN = 0.95  # container overhead and encoder rate-control slack under a byte limit


@dataclass(frozen=True)
class Source:
    """The recipe's view of the source content (from the Blob row and its analysis)."""

    sha256: str
    size: int
    mime_type: str
    media_type: str
    duration: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    width: int | None = None
    height: int | None = None

    @classmethod
    def from_blob(cls, blob) -> Source:
        return cls(
            sha256=blob.sha256,
            size=blob.size,
            mime_type=blob.mime_type,
            media_type=blob.media_type,
            duration=blob.duration,
            metadata=blob.metadata or {},
            width=blob.width,
            height=blob.height,
        )

    @property
    def analysed(self) -> bool:
        """Analysis succeeded; when it failed, recipes still try (ffmpeg has the last word)."""
        return bool(self.metadata)

    @property
    def audio(self) -> dict[str, Any]:
        return self.metadata.get("audio") or {}

    @property
    def video(self) -> dict[str, Any]:
        return self.metadata.get("video") or {}

    def container_is(self, *names: str) -> bool:
        return any(name in self.metadata.get("container", "").split(",") for name in names)


# A command builder: (input path, output path) → the argument list of one run.
Command = Callable[[Path, Path], list[str]]


@dataclass(frozen=True)
class Plan:
    """Commands to try in order; the first whose output verifies is kept."""

    attempts: tuple[Command, ...]
    note: str = ""  # for logs: what was chosen and why (bit rate, size, …)


class Original:
    """The source already satisfies the variant: serve its own bytes, transcode nothing."""

    def __repr__(self) -> str:
        return "ORIGINAL"


ORIGINAL = Original()


def refuse(message: str) -> VariantUnsupported:
    return VariantUnsupported(message)


def ffmpeg(
    input_path: Path,
    output_path: Path,
    output_args: list[str],
    *,
    max_seconds: float,
    input_args: tuple[str, ...] = (),
    max_bytes: int | None = None,
) -> list[str]:
    """An ffmpeg argument list: no stdin, local files only, input read for at most
    ``max_seconds``, metadata stripped and bit-exact output (the same source makes the same
    bytes on every node, so a variant made twice is still stored once)."""
    args = [
        media_settings.MEDIA_FFMPEG,
        "-nostdin",
        "-hide_banner",
        "-loglevel", "error",
        "-n",
        "-protocol_whitelist", "file",
        *input_args,
        "-t", f"{max_seconds:.3f}",
        "-i", f"file:{input_path}",
        "-map_metadata", "-1",
        "-map_chapters", "-1",
        "-fflags", "+bitexact",
        "-flags", "+bitexact",
        *output_args,
    ]  # fmt: skip
    if max_bytes is not None:
        args += ["-fs", str(max_bytes)]
    return [*args, f"file:{output_path}"]


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
