"""CONTRACT §6: media from URLs, by the contract's names (the code lives in ``media_store.fetch``)."""

from media_store.content.digests import md5_bytes as calculate_md5_from_bytes
from media_store.content.digests import md5_file as calculate_md5
from media_store.fetch.results import (
    describe,
    detect_media_type,
    download_and_cache_media,
    download_multiple_media,
    find_cached_by_md5,
    find_cached_by_url,
    format_size,
    get_cache_stats,
    get_image_dimensions,
    verify_cached_media,
)

__all__ = [
    "calculate_md5",
    "calculate_md5_from_bytes",
    "describe",
    "detect_media_type",
    "download_and_cache_media",
    "download_multiple_media",
    "find_cached_by_md5",
    "find_cached_by_url",
    "format_size",
    "get_cache_stats",
    "get_image_dimensions",
    "verify_cached_media",
]
