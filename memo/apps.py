from django.apps import AppConfig


class MemoConfig(AppConfig):
    name = "memo"
    verbose_name = "Generic cache (@cached)"
