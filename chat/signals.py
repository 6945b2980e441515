"""Keep this process's token cache honest when attachments change.

A changed setting needs nothing here: the resolver is kept by ``media_store.runtime``, whose
``reset()`` (on ``setting_changed``) forgets it with everything else built from settings.
"""

from __future__ import annotations

from django.db.models.signals import post_delete
from django.dispatch import receiver

from chat import resolver
from chat.models import MessageAttachment


@receiver(post_delete, sender=MessageAttachment)
def forget_deleted_token(sender, instance: MessageAttachment, **kwargs) -> None:
    if instance.media_hash:
        resolver.get_resolver().forget(instance.media_hash)
