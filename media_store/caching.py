"""CONTRACT §6 name of the generic ``@cached`` decorator, which lives in the ``memo`` app."""

from memo.decorator import UncacheableArgument, cached, get_cache

__all__ = ["UncacheableArgument", "cached", "get_cache"]
