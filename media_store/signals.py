"""Rebuild the engine's per-process objects when a setting changes; create folders on migrate."""

from __future__ import annotations

from pathlib import Path

from django.core.signals import setting_changed
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from media_store import runtime
from media_store.conf import DEFAULTS, media_settings


@receiver(setting_changed)
def reset_runtime(*, setting: str, **kwargs) -> None:
    if setting in DEFAULTS or setting == "CACHES":
        runtime.reset()  # everything per process, chat's token resolver included


@receiver(post_migrate)
def create_folders(*, app_config, **kwargs) -> None:
    """``migrate`` is the installation step: it creates the disk tier and, for the filesystem
    origin, the origin folder (which serving and health checks then only ever read)."""
    if app_config.name != "media_store":
        return
    folders = [media_settings.MEDIA_CACHE_DIR]
    if media_settings.MEDIA_STORAGE == "filesystem":
        folders.append(media_settings.MEDIA_ORIGIN_DIR)
    for folder in folders:
        Path(folder).mkdir(parents=True, exist_ok=True)
