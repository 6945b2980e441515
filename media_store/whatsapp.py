"""CONTRACT §6 name of the WhatsApp media-ID flow, which lives in ``media_store.fetch.media_ids``."""

from media_store.fetch.media_ids import download_media, statistics

__all__ = ["download_media", "statistics"]
