"""``video.mp4``: H.264 + AAC in an MP4 with ``moov`` first — what every WhatsApp channel accepts.

Settings (see docs/media.md): libx264 ``-preset veryfast`` (about 2× the speed of ``medium`` for
~10 % more bits at equal quality: a transcode is paid for while a gateway waits), Main profile
(every phone since ~2012), yuv420p, CRF 23 under a VBV cap (``-maxrate``) computed from the
duration so the file fits 16 MB, the long edge at most 1280 px (WhatsApp's HD) and lowered
with the bit-rate budget (854, 640, 426), 30 fps at most, AAC-LC 96 kb/s stereo (64 or 32 when
the budget is tight), ``+faststart``. A source whose codecs already comply but whose container
does not (MOV, ``moov`` at the end, over-long metadata) is remuxed without re-encoding.
"""

from __future__ import annotations

from pathlib import Path

from media_store.content.analysis import moov_before_mdat
from media_store.variants.audio import duration_problem, probed
from media_store.variants.base import AUDIO_VIDEO_MAX_BYTES, FIT_MARGIN, MB, ORIGINAL, Plan, Source, ffmpeg, refuse

# (minimum video bit rate, long edge): the largest frame the budget can afford.
EDGE_LADDER = ((1_500_000, 1280), (700_000, 854), (350_000, 640), (150_000, 426))
MIN_VIDEO_BPS = EDGE_LADDER[-1][0]
MAX_VIDEO_BPS = 4_000_000  # CRF decides below this; short clips need no more
MAX_FPS = 30
RETRY_FACTOR = 0.75  # second attempt when rate control overshot the size


def audio_bit_rate(total_bps: float) -> int:
    return 96_000 if total_bps >= 600_000 else 64_000 if total_bps >= 250_000 else 32_000


def budget(duration: float | None, has_audio: bool = True) -> tuple[int, int, int]:
    """(video b/s, audio b/s, long edge) for a duration so that the whole file fits 16 MB."""
    if not duration:
        return MAX_VIDEO_BPS, 96_000, EDGE_LADDER[0][1]
    total = AUDIO_VIDEO_MAX_BYTES * 8 * FIT_MARGIN / duration
    audio = audio_bit_rate(total) if has_audio else 0
    video = min(MAX_VIDEO_BPS, int(total - audio))
    for minimum, edge in EDGE_LADDER:
        if video >= minimum:
            return video, audio, edge
    longest = AUDIO_VIDEO_MAX_BYTES * 8 * FIT_MARGIN / (MIN_VIDEO_BPS + (32_000 if has_audio else 0))
    raise refuse(
        f"a {duration:.0f} s video cannot fit 16 MB as MP4 (at most {longest:.0f} s, at {EDGE_LADDER[-1][1]} px)"
    )


def frame_size(source: Source, edge: int) -> tuple[int, int] | None:
    """The output frame (display orientation, even numbers, never upscaled), or None if unknown."""
    width, height = source.video.get("width"), source.video.get("height")
    if not width or not height:
        return None
    if source.video.get("rotation") in (90, 270):
        width, height = height, width
    scale = min(1.0, edge / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


class Video:
    name = "video.mp4"
    mime_type = "video/mp4"
    max_bytes = AUDIO_VIDEO_MAX_BYTES

    def plan(self, source: Source):
        if source.media_type != "video":
            raise refuse(f"video.mp4 needs a video; this content is {source.mime_type}")
        meta = source.metadata
        if source.analysed and not meta.get("has_video"):
            raise refuse(f"video.mp4 needs a video stream; this {source.mime_type} has none")
        video_bps, audio_bps, edge = budget(source.duration, meta.get("has_audio", True))
        cap = min(source.duration + 1.0, 3 * 3600.0) if source.duration else 3 * 3600.0
        if self.codecs_comply(source):
            container_ok = source.container_is("mp4") and (meta.get("brand") or "").lower() != "qt"
            if container_ok and meta.get("streamable") and source.size <= AUDIO_VIDEO_MAX_BYTES:
                return ORIGINAL
            if source.size <= AUDIO_VIDEO_MAX_BYTES:
                return Plan((self._remux(cap),), note="remux (codecs already comply)")
        attempts = (self._encode(source, cap, video_bps, audio_bps, edge),)
        attempts += (self._encode(source, cap, int(video_bps * RETRY_FACTOR), audio_bps, edge),)
        return Plan(attempts, note=f"h264 ≤{video_bps} b/s, aac {audio_bps} b/s, edge {edge}")

    @staticmethod
    def codecs_comply(source: Source) -> bool:
        meta, video, audio = source.metadata, source.video, source.audio
        return (
            video.get("codec") == "h264"
            and video.get("pix_fmt") == "yuv420p"
            and meta.get("video_streams") == 1
            and meta.get("audio_streams", 0) <= 1
            and (not meta.get("has_audio") or audio.get("codec") == "aac")
            and (video.get("width") or 0) <= 1920
            and (video.get("height") or 0) <= 1920
        )

    @staticmethod
    def _remux(cap: float):
        def command(input_path: Path, output_path: Path) -> list[str]:
            return ffmpeg(
                input_path,
                output_path,
                ["-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", "-movflags", "+faststart", "-f", "mp4"],
                max_seconds=cap,
                max_bytes=AUDIO_VIDEO_MAX_BYTES + MB,
            )

        return command

    @staticmethod
    def _encode(source: Source, cap: float, video_bps: int, audio_bps: int, edge: int):
        size = frame_size(source, edge)
        scale = (
            f"scale={size[0]}:{size[1]}"
            if size
            else f"scale={edge}:{edge}:force_original_aspect_ratio=decrease:force_divisible_by=2"
        )
        filters = [scale, "format=yuv420p"]
        if (source.video.get("fps") or 0) > MAX_FPS + 0.5:
            filters.insert(0, f"fps={MAX_FPS}")
        channels = "1" if source.audio.get("channels") == 1 else "2"

        def command(input_path: Path, output_path: Path) -> list[str]:
            return ffmpeg(
                input_path,
                output_path,
                ["-map", "0:v:0", "-map", "0:a:0?", "-vf", ",".join(filters),
                 "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-crf", "23",
                 "-maxrate", str(video_bps), "-bufsize", str(video_bps * 2),
                 "-c:a", "aac", "-b:a", str(audio_bps), "-ac", channels,
                 "-movflags", "+faststart", "-f", "mp4"],
                max_seconds=cap,
                max_bytes=AUDIO_VIDEO_MAX_BYTES + MB,
            )  # fmt: skip

        return command

    def verify(self, output: Path, source: Source) -> str | None:
        data = probed(output)
        if isinstance(data, str):
            return data
        streams = data.get("streams", [])
        video = [s for s in streams if s.get("codec_type") == "video"]
        audio = [s for s in streams if s.get("codec_type") == "audio"]
        if "mp4" not in data.get("format", {}).get("format_name", ""):
            return "the output is not MP4"
        if len(video) != 1 or video[0].get("codec_name") != "h264" or video[0].get("pix_fmt") != "yuv420p":
            return "the output video is not H.264 yuv420p"
        if len(audio) > 1 or (audio and audio[0].get("codec_name") != "aac"):
            return "the output audio is not one AAC stream"
        if not moov_before_mdat(output):
            return "the output is not streamable (moov after mdat)"
        return duration_problem(data, source)
