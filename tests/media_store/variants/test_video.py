"""video.mp4 (and the video thumb) with the real ffmpeg, checked with ffprobe."""

from __future__ import annotations

import pytest
from PIL import Image

from media_store.content.analysis import moov_before_mdat
from media_store.exceptions import VariantUnsupported
from media_store.variants.base import AUDIO_VIDEO_MAX_BYTES, Source
from media_store.variants.video import Video, budget
from tests.support import ffmedia

pytestmark = pytest.mark.django_db


def _streams(data: dict) -> dict[str, dict]:
    return {stream["codec_type"]: stream for stream in data["streams"]}


@pytest.mark.parametrize("make", [ffmedia.mov_hevc, ffmedia.webm_vp9], ids=["mov-hevc", "webm-vp9"])
def test_video_mp4_is_h264_and_aac_with_moov_first(make, tmp_path, stored, made, probe, runs):
    source = stored(make(tmp_path, seconds=2.0))

    variant, path = made(source, "video.mp4")

    data = probe(path)
    streams = _streams(data)
    assert (streams["video"]["codec_name"], streams["video"]["pix_fmt"]) == ("h264", "yuv420p")
    assert streams["audio"]["codec_name"] == "aac"
    assert moov_before_mdat(path) is True
    assert (streams["video"]["width"], streams["video"]["height"]) == (320, 240)  # never upscaled
    assert abs(float(data["format"]["duration"]) - source.duration) <= 0.1
    assert variant.mime_type == "video/mp4"
    assert variant.metadata["streamable"] is True
    assert runs() == {"ffmpeg": 1}


def test_a_compliant_mp4_is_its_own_video_mp4(tmp_path, stored, made, runs):
    source = stored(ffmedia.mp4_h264(tmp_path, faststart=True))

    variant, _ = made(source, "video.mp4")

    assert variant.sha256 == source.sha256
    assert runs() == {}


def test_an_h264_mp4_with_moov_at_the_end_is_remuxed_not_reencoded(tmp_path, stored, made, probe, runs):
    source = stored(ffmedia.mp4_h264(tmp_path, faststart=False))

    variant, path = made(source, "video.mp4")

    assert moov_before_mdat(path) is True
    assert Video().plan(Source.from_blob(source)).note == "remux (codecs already comply)"
    assert int(_streams(probe(path))["video"]["nb_frames"]) == 50  # every frame kept: copied
    assert abs(variant.size - source.size) < 2048
    assert runs() == {"ffmpeg": 1}


def test_a_long_source_is_scaled_and_capped_to_fit_16_mb(tmp_path, stored, made, probe):
    """A 6-minute 720p (static, cheap to encode) source: the budget picks 426 px and a VBV cap."""
    path = tmp_path / "long.webm"
    ffmedia.ffmpeg(
        "-f", "lavfi", "-i", "color=c=gray:size=1280x720:rate=1:duration=360", *ffmedia.tone(360, 8000),
        "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "20k", "-c:a", "libopus",
        "-b:a", "8k", "-shortest", str(path),
    )  # fmt: skip
    source = stored(path)
    video_bps, audio_bps, edge = budget(source.duration)

    variant, out = made(source, "video.mp4")

    assert (edge, audio_bps) == (426, 64_000)
    assert video_bps == int(AUDIO_VIDEO_MAX_BYTES * 8 * 0.95 / source.duration - 64_000)
    streams = _streams(probe(out))
    assert (streams["video"]["width"], streams["video"]["height"]) == (426, 240)
    assert variant.size <= AUDIO_VIDEO_MAX_BYTES


@pytest.mark.parametrize(
    ("seconds", "edge", "audio"),
    [
        (30, 1280, 96_000),
        (90, 854, 96_000),
        (200, 640, 96_000),
        (360, 426, 64_000),
        (600, 426, 32_000),
        (None, 1280, 96_000),
    ],
)
def test_the_budget_lowers_the_frame_with_the_duration(seconds, edge, audio):
    video_bps, audio_bps, long_edge = budget(seconds)
    assert (long_edge, audio_bps) == (edge, audio)
    if seconds:
        assert (video_bps + audio_bps) * seconds / 8 <= AUDIO_VIDEO_MAX_BYTES * 0.95


def test_a_three_hour_video_is_refused_before_any_run(runs):
    source = Source("0" * 64, 10**9, "video/mp4", "video", duration=3 * 3600, metadata={"has_video": True})

    with pytest.raises(VariantUnsupported, match="a 10800 s video cannot fit 16 MB as MP4"):
        Video().plan(source)
    assert runs() == {}


def test_a_video_thumb_is_a_small_jpeg_of_a_frame(tmp_path, stored, made):
    source = stored(ffmedia.mov_hevc(tmp_path, seconds=2.0, size="640x360"))

    variant, path = made(source, "thumb.jpg")

    with Image.open(path) as image:
        assert (image.format, image.size) == ("JPEG", (320, 180))
    assert variant.mime_type == "image/jpeg"


def test_an_animated_sticker_from_a_short_video(tmp_path, stored, made):
    source = stored(ffmedia.webm_vp9(tmp_path, seconds=2.0))

    variant, path = made(source, "sticker.webp")

    with Image.open(path) as image:
        assert (image.format, image.size) == ("WEBP", (512, 512))
        assert image.n_frames > 1
        image.seek(0)
        assert image.convert("RGBA").getpixel((0, 0))[3] == 0  # letterboxed with transparency
    assert variant.size <= 500 * 1024
