"""The variants in the benchmark: transcode throughput, and a variant's hot hit against the
original's hot hit on the same bytes.

- ``voice.ogg`` from a 120 s phone-style M4A (AAC): seconds of audio per wall second;
- ``video.mp4`` from a 10 s 1280×720 30 fps HEVC ``.mov``: frames per wall second;
  both measured end to end through ``prod`` (the first GET of the variant URL: local copy,
  ffmpeg with the production settings, ffprobe verification, ingest of the output), on the
  machine's cores — the same cores wrk and the servers use;
- the hot hit: the made voice.ogg is ingested again as an upload (same bytes → the same
  Blob), so ``/media/<token>`` and ``/media/<token>/voice.ogg`` serve identical content from the
  same tiers; paired wrk runs, median ratio over ``BENCH_ROUNDS`` (target ≥ 0.95).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import requests

from bench.load import wrk
from bench.stack import Stack

SECONDS = float(os.environ.get("BENCH_SECONDS", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
VOICE_SECONDS = 120
VIDEO_SECONDS, VIDEO_FPS = 10, 30
FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]


def _generate(stack: Stack) -> tuple[bytes, bytes]:
    folder = stack.work / "transcode"
    folder.mkdir(exist_ok=True)
    m4a, mov = folder / "phone.m4a", folder / "camera.mov"
    speech = f"sine=frequency=220:duration={VOICE_SECONDS},volume=0.5"  # a tone under pink noise
    subprocess.run(
        [*FFMPEG, "-f", "lavfi", "-i", speech, "-f", "lavfi", "-i", f"anoisesrc=color=pink:duration={VOICE_SECONDS}",
         "-filter_complex", "amix=inputs=2", "-ac", "1", "-c:a", "aac", "-b:a", "64k", str(m4a)],
        check=True, timeout=120,
    )  # fmt: skip
    subprocess.run(
        [*FFMPEG, "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate={VIDEO_FPS}:duration={VIDEO_SECONDS}",
         "-f", "lavfi", "-i", f"sine=duration={VIDEO_SECONDS}", "-c:v", "libx265", "-preset", "ultrafast",
         "-x265-params", "log-level=error", "-tag:v", "hvc1", "-c:a", "aac", "-shortest", str(mov)],
        check=True, timeout=300,
    )  # fmt: skip
    return m4a.read_bytes(), mov.read_bytes()


def _cold_get(url: str) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.get(url, timeout=600)
    elapsed = time.monotonic() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:200]}")
    return response, elapsed


def measure(stack: Stack) -> dict:
    m4a, mov = _generate(stack)
    rows = stack.ingest({"voice-source": m4a, "video-source": mov})
    base = stack.servers["prod"].url
    voice, voice_wall = _cold_get(f"{base}/media/{rows['voice-source']['media_hash']}/voice.ogg")
    _, video_wall = _cold_get(f"{base}/media/{rows['video-source']['media_hash']}/video.mp4")
    twin = stack.ingest({"voice-twin": voice.content})["voice-twin"]
    original = f"{base}/media/{twin['media_hash']}"
    variant = f"{base}/media/{rows['voice-source']['media_hash']}/voice.ogg"
    ratios = []
    for url in (original, variant):  # warm every worker's tiers
        wrk(url, seconds=1, connections=CONNECTIONS, threads=2)
    for number in range(1, ROUNDS + 1):
        print(f"bench: variant hot hit round {number}/{ROUNDS}", file=sys.stderr)
        # alternate which goes first, so a neighbour's load drifting over a round biases neither
        first, second = (original, variant) if number % 2 else (variant, original)
        loads = {url: wrk(url, seconds=SECONDS, connections=CONNECTIONS, threads=2) for url in (first, second)}
        plain, made = loads[original], loads[variant]
        ratios.append({"original_rps": plain.rps, "variant_rps": made.rps, "ratio": made.rps / plain.rps})
    return {
        "voice_ogg": {"audio_seconds": VOICE_SECONDS, "wall_seconds": voice_wall,
                      "audio_seconds_per_second": VOICE_SECONDS / voice_wall, "bytes": len(voice.content)},
        "video_mp4": {"frames": VIDEO_SECONDS * VIDEO_FPS, "wall_seconds": video_wall,
                      "frames_per_second": VIDEO_SECONDS * VIDEO_FPS / video_wall},
        "variant_hot_hit": {"bytes": len(voice.content), "rounds": ratios,
                            "ratio": statistics.median(item["ratio"] for item in ratios)},
        "cores": os.cpu_count(),
    }  # fmt: skip


def lines(result: dict) -> list[str]:
    voice, video, hot = result["voice_ogg"], result["video_mp4"], result["variant_hot_hit"]
    verdict = "ok" if hot["ratio"] >= 0.95 else "MISSED"
    return [
        "",
        f"variants ({result['cores']} cores, first request through gunicorn, production encoder settings)",
        f"  voice.ogg from a {voice['audio_seconds']} s M4A: {voice['wall_seconds']:.2f} s wall, "
        f"{voice['audio_seconds_per_second']:.0f} s of audio per second",
        f"  video.mp4 from a {VIDEO_SECONDS} s 720p30 HEVC MOV: {video['wall_seconds']:.2f} s wall, "
        f"{video['frames_per_second']:.0f} frames per second",
        f"  hot hit of voice.ogg ({hot['bytes'] // 1024} KiB) vs the same bytes as an original: "
        f"{hot['ratio']:.3f} × (target ≥ 0.95: {verdict})",
    ]
