"""CONTRACT §6: the Python API keeps its public module names, wherever the code lives."""

from __future__ import annotations

import importlib

import pytest

CONTRACT = {
    "media_store.downloads": [
        "download_and_cache_media",
        "download_multiple_media",
        "get_cache_stats",
        "format_size",
        "verify_cached_media",
        "find_cached_by_md5",
        "find_cached_by_url",
        "calculate_md5",
        "calculate_md5_from_bytes",
        "detect_media_type",
        "get_image_dimensions",
    ],
    "media_store.whatsapp": ["download_media", "statistics"],
    "media_store.caching": ["cached"],
}


@pytest.mark.parametrize(("module", "names"), CONTRACT.items())
def test_each_contract_module_exports_its_callables(module, names):
    loaded = importlib.import_module(module)
    assert [name for name in names if not callable(getattr(loaded, name, None))] == []


def test_the_reexports_are_the_implementations_not_copies():
    from media_store import caching, whatsapp
    from media_store.fetch import media_ids
    from memo import decorator

    assert whatsapp.download_media is media_ids.download_media
    assert caching.cached is decorator.cached
