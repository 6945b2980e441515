"""``runtime``: one object per process for each key, all forgotten by one ``reset()``."""

from __future__ import annotations

from chat.resolver import get_resolver
from media_store import runtime
from media_store.variants.lookup import get_lookup


def test_per_process_builds_an_object_once_and_reset_forgets_it():
    builds = []

    def build() -> object:
        builds.append(1)
        return object()

    first = runtime.per_process(("test", "thing"), build)
    assert runtime.per_process(("test", "thing"), build) is first
    runtime.reset()
    assert runtime.per_process(("test", "thing"), build) is not first
    assert len(builds) == 2


def test_one_reset_forgets_the_token_resolver_and_the_variant_lookup_with_the_engine():
    before = (runtime.get_store(), runtime.fill_locks(), get_resolver(), get_lookup())

    runtime.reset()

    after = (runtime.get_store(), runtime.fill_locks(), get_resolver(), get_lookup())
    assert [old is new for old, new in zip(before, after, strict=True)] == [False, False, False, False]


def test_a_changed_setting_gives_a_resolver_and_a_lookup_built_from_it(settings):
    settings.MEDIA_TOKEN_CACHE_SECONDS = 60
    assert (get_resolver().ttl, get_lookup().ttl) == (60, 60)

    settings.MEDIA_TOKEN_CACHE_SECONDS = 7

    assert (get_resolver().ttl, get_lookup().ttl) == (7, 7)
