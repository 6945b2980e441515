"""MEDIA_VARIANTS_EAGER and MEDIA_TRANSCODE_TIMEOUT as the real settings parse them (CONTRACT §2)."""

from __future__ import annotations

import pytest

from media_store.variants import NAMES, normalise_names
from tests.mediacache_project.test_env import run_check


def test_variant_names_accept_the_short_and_the_full_form():
    assert normalise_names(["voice", "video.mp4", " Voice.OGG ", "sticker"]) == (
        ["voice.ogg", "video.mp4", "sticker.webp"],
        [],
    )
    assert normalise_names(["voice", "karaoke", "audio.m4a"]) == (["voice.ogg"], ["karaoke", "audio.m4a"])
    assert NAMES == ("voice.ogg", "audio.mp3", "video.mp4", "image.jpg", "sticker.webp", "thumb.jpg")


@pytest.mark.parametrize(
    ("variables", "error"),
    [
        (
            {"MEDIA_VARIANTS_EAGER": "voice,karaoke"},
            "mediacache: invalid MEDIA_VARIANTS_EAGER='karaoke': expected variant names from voice.ogg, audio.mp3, "
            "video.mp4, image.jpg, sticker.webp, thumb.jpg",
        ),
        ({"MEDIA_TRANSCODE_TIMEOUT": "soon"}, "mediacache: invalid MEDIA_TRANSCODE_TIMEOUT='soon': expected a number"),
        ({"MEDIA_TRANSCODE_TIMEOUT": "0"}, "mediacache: invalid MEDIA_TRANSCODE_TIMEOUT='0': expected a number >= 1"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_line(tmp_path, variables, error):
    result = run_check(tmp_path, **variables)

    assert result.returncode == 1
    assert result.stderr.strip().startswith(error)


def test_good_values_start(tmp_path):
    result = run_check(tmp_path, MEDIA_VARIANTS_EAGER="voice,thumb.jpg", MEDIA_TRANSCODE_TIMEOUT="60")

    assert result.returncode == 0, result.stderr
