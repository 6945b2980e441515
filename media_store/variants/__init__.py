"""Variants: each attachment in the form a channel accepts (``/media/<hash>/<variant>.<ext>``).

``recipes`` decides what a variant needs (nothing, a transcode, or "impossible") and builds
the command; ``runner`` runs ffmpeg/Pillow as a bounded subprocess; ``inputs`` gives it a
verified local copy of the source; ``service`` makes a variant once (single-flight, negative
cache) and stores it as ordinary content; ``lookup`` remembers source → variant per process.

This module itself imports nothing, so ``settings.py`` can validate names against ``NAMES``.
"""

from __future__ import annotations

# The variant names of CONTRACT §4, as they appear in the URL.
NAMES = ("voice.ogg", "audio.mp3", "video.mp4", "image.jpg", "sticker.webp", "thumb.jpg")


def normalise_names(values: list[str]) -> tuple[list[str], list[str]]:
    """``["voice", "video.mp4"]`` → (``["voice.ogg", "video.mp4"]``, unknown values)."""
    by_stem = {name.split(".", 1)[0]: name for name in NAMES}
    known, unknown = [], []
    for value in values:
        value = value.strip().lower()
        name = value if value in NAMES else by_stem.get(value)
        if name is None:
            unknown.append(value)
        elif name not in known:
            known.append(name)
    return known, unknown
