"""Rebuild the engine's per-process objects when a setting they depend on changes."""

from __future__ import annotations

from django.core.signals import setting_changed
from django.dispatch import receiver

from . import runtime
from .conf import DEFAULTS


@receiver(setting_changed)
def reset_runtime(*, setting: str, **kwargs) -> None:
    if setting in DEFAULTS or setting == "CACHES":
        runtime.reset()
