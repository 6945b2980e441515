"""Real audio, video and images generated with ffmpeg for the tests (small and short).

Each generator writes into a folder and returns the path; ``lavfi`` sources (``sine``,
``testsrc``) make deterministic content, so no binary is committed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]


def ffmpeg(*args: str) -> None:
    subprocess.run([*FFMPEG, *args], check=True, timeout=60)


def probe(path: Path) -> dict:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True, check=True, timeout=30,
    )  # fmt: skip
    return json.loads(result.stdout)


def tone(seconds: float = 2.0, rate: int = 44100, frequency: int = 440) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate={rate}:duration={seconds}"]


def stereo_tone(seconds: float = 2.0, rate: int = 48000) -> list[str]:
    return [
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={rate}:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=660:sample_rate={rate}:duration={seconds}",
        "-filter_complex", "[0:a][1:a]amerge=inputs=2[a]", "-map", "[a]",
    ]  # fmt: skip


def wav(folder: Path, seconds: float = 2.0) -> Path:
    path = folder / "tone.wav"
    ffmpeg(*tone(seconds), "-c:a", "pcm_s16le", str(path))
    return path


def mp3(folder: Path, seconds: float = 2.0) -> Path:
    path = folder / "tone.mp3"
    ffmpeg(*tone(seconds), "-c:a", "libmp3lame", "-b:a", "64k", str(path))
    return path


def m4a_moov_at_end(folder: Path, seconds: float = 2.0) -> Path:
    """AAC in MP4 with the ``moov`` box after ``mdat`` (ffmpeg's default without +faststart)."""
    path = folder / "phone.m4a"
    ffmpeg(*tone(seconds), "-c:a", "aac", "-b:a", "64k", str(path))
    return path


def webm_opus_stereo(folder: Path, seconds: float = 2.0) -> Path:
    path = folder / "browser.webm"
    ffmpeg(*stereo_tone(seconds), "-c:a", "libopus", "-b:a", "48k", str(path))
    return path


def ogg_opus_mono(folder: Path, seconds: float = 2.0) -> Path:
    path = folder / "voice.ogg"
    ffmpeg(*tone(seconds, 48000), "-c:a", "libopus", "-b:a", "24k", "-ac", "1", str(path))
    return path


def video_source(seconds: float, size: str = "320x240", rate: int = 25) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}"]


def webm_vp9(folder: Path, seconds: float = 2.0, size: str = "320x240") -> Path:
    path = folder / "clip.webm"
    ffmpeg(*video_source(seconds, size), *tone(seconds), "-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p",
           "-deadline", "realtime",
           "-cpu-used", "8", "-b:v", "200k", "-c:a", "libopus", "-shortest", str(path))  # fmt: skip
    return path


def mov_hevc(folder: Path, seconds: float = 2.0, size: str = "320x240") -> Path:
    path = folder / "camera.mov"
    ffmpeg(*video_source(seconds, size), *tone(seconds), "-c:v", "libx265", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p",
           "-x265-params", "log-level=error", "-tag:v", "hvc1", "-c:a", "aac", "-shortest", str(path))  # fmt: skip
    return path


def mp4_h264(folder: Path, seconds: float = 2.0, size: str = "320x240", faststart: bool = True) -> Path:
    path = folder / ("clip.mp4" if faststart else "clip-moov-end.mp4")
    flags = ["-movflags", "+faststart"] if faststart else []
    ffmpeg(*video_source(seconds, size), *tone(seconds), "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", *flags, str(path))  # fmt: skip
    return path


def gif(folder: Path, frames: int = 10, size: str = "200x120") -> Path:
    path = folder / "anim.gif"
    ffmpeg(*video_source(frames / 10, size, 10), str(path))
    return path
