"""The variant registry: URL name → recipe (CONTRACT §4)."""

from __future__ import annotations

from media_store.variants import NAMES
from media_store.variants.audio import Mp3, Voice
from media_store.variants.pictures import ImageJpeg, Sticker, Thumb
from media_store.variants.video import Video

RECIPES = {recipe.name: recipe for recipe in (Voice(), Mp3(), Video(), ImageJpeg(), Sticker(), Thumb())}
assert tuple(RECIPES) == NAMES, "media_store.variants.NAMES and the recipes must agree"


def recipe_for(name: str):
    """The recipe for a URL name (``voice.ogg``), or None for an unknown one (404)."""
    return RECIPES.get(name)
