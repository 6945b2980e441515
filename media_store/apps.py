from django.apps import AppConfig


class MediaStoreConfig(AppConfig):
    name = "media_store"
    verbose_name = "Media store"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (resets cached tiers when settings change)
