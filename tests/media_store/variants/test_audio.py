"""voice.ogg and audio.mp3 from real recordings' formats, checked with ffprobe."""

from __future__ import annotations

import pytest

from media_store.exceptions import VariantUnsupported
from media_store.variants.audio import Mp3, Voice, fit_seconds
from media_store.variants.base import VOICE_PLAY_ICON_BYTES, Source
from tests.support import ffmedia
from tests.support.media import pdf_bytes

pytestmark = pytest.mark.django_db

SOURCES = {
    "wav": ffmedia.wav,
    "mp3": ffmedia.mp3,
    "m4a with moov at the end": ffmedia.m4a_moov_at_end,
    "webm/opus stereo": ffmedia.webm_opus_stereo,
}


@pytest.mark.parametrize("kind", SOURCES)
def test_voice_ogg_is_opus_mono_48_khz_and_as_long_as_the_source(kind, tmp_path, stored, made, probe, runs):
    source = stored(SOURCES[kind](tmp_path, seconds=2.0))

    variant, path = made(source, "voice.ogg")

    data = probe(path)
    (stream,) = data["streams"]
    assert (stream["codec_name"], stream["channels"], stream["sample_rate"]) == ("opus", 1, "48000")
    assert data["format"]["format_name"] == "ogg"
    assert abs(float(data["format"]["duration"]) - source.duration) <= 0.1
    assert variant.mime_type == "audio/ogg"
    assert variant.sha256 != source.sha256
    assert runs() == {"ffmpeg": 1}


def test_an_ogg_opus_mono_voice_note_is_its_own_voice_ogg_without_transcoding(tmp_path, stored, made, runs):
    source = stored(ffmedia.ogg_opus_mono(tmp_path))

    variant, path = made(source, "voice.ogg")

    assert variant.sha256 == source.sha256
    assert source.variants.get(name="voice.ogg").is_original is True
    assert runs() == {}


def test_audio_mp3_from_a_wav_and_an_mp3_is_its_own(tmp_path, stored, made, probe, runs):
    wav = stored(ffmedia.wav(tmp_path))
    mp3 = stored(ffmedia.mp3(tmp_path))

    from_wav, path = made(wav, "audio.mp3")
    from_mp3, _ = made(mp3, "audio.mp3")

    (stream,) = probe(path)["streams"]
    assert stream["codec_name"] == "mp3"
    assert from_wav.mime_type == "audio/mpeg"
    assert from_mp3.sha256 == mp3.sha256
    assert runs() == {"ffmpeg": 1}


def test_a_pdf_cannot_be_a_voice_note_and_nothing_runs(tmp_path, stored, runs):
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf_bytes())
    source = stored(path)

    with pytest.raises(VariantUnsupported, match="voice.ogg needs audio; this content is application/pdf"):
        Voice().plan(Source.from_blob(source))
    assert runs() == {}


def test_a_video_without_audio_has_no_voice_ogg(tmp_path, stored):
    path = tmp_path / "silent.mp4"
    ffmedia.ffmpeg(*ffmedia.video_source(1, "160x120"), "-c:v", "libx264", "-preset", "ultrafast", str(path))
    source = stored(path)

    with pytest.raises(VariantUnsupported, match="has no audio stream"):
        Voice().plan(Source.from_blob(source))


@pytest.mark.parametrize(
    ("duration", "bit_rate"),
    [(None, 24_000), (10, 32_000), (180, pytest.approx(22_137, abs=1)), (600, 12_000), (5000, 12_000)],
)
def test_the_voice_bit_rate_keeps_notes_under_the_play_icon_limit_while_it_can(duration, bit_rate):
    assert Voice.bit_rate(duration) == bit_rate
    if duration and Voice.bit_rate(duration) > 12_000:
        assert Voice.bit_rate(duration) * duration / 8 <= VOICE_PLAY_ICON_BYTES


@pytest.mark.parametrize(("duration", "bit_rate"), [(None, 128_000), (60, 128_000), (1800, 64_000), (3000, 40_000)])
def test_the_mp3_bit_rate_is_lowered_to_fit_16_mb(duration, bit_rate):
    assert Mp3.bit_rate(duration) == bit_rate


def test_audio_too_long_for_16_mb_even_at_the_lowest_rate_is_refused():
    longest = fit_seconds(12_000)
    source = Source("0" * 64, 10**8, "audio/wav", "audio", duration=longest + 60, metadata={"has_audio": True})

    with pytest.raises(VariantUnsupported, match="cannot fit 16 MB"):
        Voice().plan(source)
    assert round(longest) == 10_626  # ~2 h 57 min of voice note fit 16 MB at 12 kb/s
