"""``voice.ogg`` and ``audio.mp3``: what WhatsApp plays as a voice note and as an audio file.

voice.ogg — Ogg/Opus, mono, 48 kHz, ``-application voip``: what WhatsApp's own clients record
and what Evolution's ffmpeg would make (so callers can pass ``encoding: false``). The bit rate
is chosen so the note stays under the 512 KB play-icon limit when it can: 32 kb/s for short
notes, lowered with the duration down to 12 kb/s (Opus SILK is still clear speech there);
longer notes go over 512 KB (still a voice note, no play icon) up to the 16 MB cap.

audio.mp3 — MP3 (LAME), constant bit rate 128 kb/s, lowered to fit 16 MB for long sources
(down to 32 kb/s). MP3 rather than M4A: it has no index box that can sit at the end of the
file (the ``moov`` problem Evolution's ffmpeg trips on), every WhatsApp channel and every
phone plays it, and CBR makes the size exactly predictable (bit rate × duration).
"""

from __future__ import annotations

from pathlib import Path

from media_store.content.analysis import ProbeError, probe
from media_store.variants.base import (
    AUDIO_VIDEO_MAX_BYTES,
    FIT_MARGIN,
    MB,
    ORIGINAL,
    VOICE_PLAY_ICON_BYTES,
    Plan,
    Source,
    clamp,
    ffmpeg,
    refuse,
)

VOICE_MAX_BPS, VOICE_MIN_BPS, VOICE_DEFAULT_BPS = 32_000, 12_000, 24_000
MP3_MAX_BPS, MP3_MIN_BPS = 128_000, 32_000
DURATION_SLACK = 1.0  # seconds read past the analysed duration (containers round it)


def fit_seconds(bits_per_second: int, limit: int = AUDIO_VIDEO_MAX_BYTES) -> float:
    """How many seconds fit under ``limit`` bytes at ``bits_per_second``."""
    return limit * 8 * FIT_MARGIN / bits_per_second


def _needs_audio(source: Source, name: str) -> None:
    if source.media_type not in ("audio", "video"):
        raise refuse(f"{name} needs audio; this content is {source.mime_type}")
    if source.analysed and not source.metadata.get("has_audio"):
        raise refuse(f"{name} needs audio; this {source.mime_type} has no audio stream")


def _input_cap(source: Source, limit_seconds: float) -> float:
    if source.duration is not None and source.duration > limit_seconds:
        raise refuse(
            f"{source.duration:.0f} s of audio cannot fit 16 MB (at most {limit_seconds:.0f} s at the lowest bit rate)"
        )
    return min(limit_seconds, (source.duration or limit_seconds) + DURATION_SLACK)


def probed(output: Path) -> dict | str:
    """ffprobe's JSON for an output, or the reason it cannot be read."""
    try:
        return probe(output)
    except ProbeError as error:
        return str(error)


def duration_problem(data: dict, source: Source) -> str | None:
    """An output must be as long as its source (a truncated transcode is a failure)."""
    if not source.duration:
        return None
    made = float(data.get("format", {}).get("duration") or 0)
    if abs(made - source.duration) > 0.5 + 0.01 * source.duration:
        return f"the output lasts {made:.2f} s, the source {source.duration:.2f} s"
    return None


class Voice:
    name = "voice.ogg"
    mime_type = "audio/ogg"
    max_bytes = AUDIO_VIDEO_MAX_BYTES

    def plan(self, source: Source):
        _needs_audio(source, self.name)
        audio = source.audio
        if (
            source.container_is("ogg")
            and audio.get("codec") == "opus"
            and audio.get("channels") == 1
            and audio.get("sample_rate") == 48000
            and source.metadata.get("audio_streams") == 1
            and not source.metadata.get("has_video")
            and source.size <= AUDIO_VIDEO_MAX_BYTES
        ):
            return ORIGINAL
        cap = _input_cap(source, fit_seconds(VOICE_MIN_BPS))
        bps = int(self.bit_rate(source.duration))

        def command(input_path: Path, output_path: Path) -> list[str]:
            return ffmpeg(
                input_path,
                output_path,
                ["-map", "0:a:0", "-vn", "-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", str(bps),
                 "-vbr", "on", "-application", "voip", "-frame_duration", "20", "-f", "ogg"],
                max_seconds=cap,
                max_bytes=AUDIO_VIDEO_MAX_BYTES + MB,
            )  # fmt: skip

        return Plan((command,), note=f"opus {bps} b/s")

    @staticmethod
    def bit_rate(duration: float | None) -> float:
        if not duration:
            return VOICE_DEFAULT_BPS
        return clamp(VOICE_PLAY_ICON_BYTES * 8 * FIT_MARGIN / duration, VOICE_MIN_BPS, VOICE_MAX_BPS)

    def verify(self, output: Path, source: Source) -> str | None:
        data = probed(output)
        if isinstance(data, str):
            return data
        streams = data.get("streams", [])
        audio = streams[0] if len(streams) == 1 else {}
        if "ogg" not in data.get("format", {}).get("format_name", "") or audio.get("codec_name") != "opus":
            return "the output is not Ogg/Opus"
        if int(audio.get("channels", 0)) != 1 or int(audio.get("sample_rate", 0)) != 48000:
            return "the output is not mono 48 kHz"
        return duration_problem(data, source)


class Mp3:
    name = "audio.mp3"
    mime_type = "audio/mpeg"
    max_bytes = AUDIO_VIDEO_MAX_BYTES

    def plan(self, source: Source):
        _needs_audio(source, self.name)
        if (
            source.container_is("mp3")
            and source.audio.get("codec") == "mp3"
            and not source.metadata.get("has_video")
            and source.size <= AUDIO_VIDEO_MAX_BYTES
        ):
            return ORIGINAL
        cap = _input_cap(source, fit_seconds(MP3_MIN_BPS))
        bps = self.bit_rate(source.duration)
        channels = "1" if source.audio.get("channels") == 1 else "2"

        def command(input_path: Path, output_path: Path) -> list[str]:
            return ffmpeg(
                input_path,
                output_path,
                ["-map", "0:a:0", "-vn", "-ac", channels, "-ar", "44100", "-c:a", "libmp3lame",
                 "-b:a", f"{bps // 1000}k", "-id3v2_version", "0", "-write_xing", "1", "-f", "mp3"],
                max_seconds=cap,
                max_bytes=AUDIO_VIDEO_MAX_BYTES + MB,
            )  # fmt: skip

        return Plan((command,), note=f"mp3 {bps} b/s")

    @staticmethod
    def bit_rate(duration: float | None) -> int:
        """The highest standard MP3 rate (a multiple of 8 kb/s) that fits the duration in 16 MB."""
        if not duration:
            return MP3_MAX_BPS
        fit = AUDIO_VIDEO_MAX_BYTES * 8 * FIT_MARGIN / duration
        return int(clamp(fit // 8000 * 8000, MP3_MIN_BPS, MP3_MAX_BPS))

    def verify(self, output: Path, source: Source) -> str | None:
        data = probed(output)
        if isinstance(data, str):
            return data
        streams = data.get("streams", [])
        if len(streams) != 1 or streams[0].get("codec_name") != "mp3":
            return "the output is not MP3"
        return duration_problem(data, source)
