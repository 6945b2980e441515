"""CONTRACT §6 name of the WhatsApp media-ID flow, which lives in ``media_store.fetch.media_ids``."""

from media_store.fetch.media_ids import download_media

__all__ = ["download_media"]
