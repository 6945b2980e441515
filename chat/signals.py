"""Keep this process's token cache honest when attachments change or settings are overridden."""

from __future__ import annotations

from django.core.signals import setting_changed
from django.db.models.signals import post_delete
from django.dispatch import receiver

from chat import resolver
from chat.models import MessageAttachment
from media_store.conf import DEFAULTS


@receiver(post_delete, sender=MessageAttachment)
def forget_deleted_token(sender, instance: MessageAttachment, **kwargs) -> None:
    if instance.media_hash:
        resolver.get_resolver().forget(instance.media_hash)


@receiver(setting_changed)
def reset_token_cache(*, setting: str, **kwargs) -> None:
    if setting in DEFAULTS:
        resolver.reset()
