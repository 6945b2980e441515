"""Each node keeps its disk tier under MEDIA_DISK_MAX_BYTES at write time, least recently used first."""

from __future__ import annotations

import os
import time

import pytest

from media_store import runtime
from media_store.exceptions import TierUnavailable
from media_store.tiers.disk import DiskTier
from tests.media_store.conftest import blob_info
from tests.support.media import random_bytes

KIB = 1024
MIB = 1024 * KIB


def disk_bytes(root) -> int:
    return sum(
        os.path.getsize(os.path.join(d, name))
        for d, _dirs, names in os.walk(root)
        if ".tmp" not in d
        for name in names
        if not name.startswith(".")
    )


def age_all(root, seconds: float) -> None:
    """Pretend every installed file was last used ``seconds`` ago (atime and mtime)."""
    past = time.time() - seconds
    for d, _dirs, names in os.walk(root):
        for name in names:
            os.utime(os.path.join(d, name), (past, past))


def last_used(tier: DiskTier, datas: list[bytes], hours_ago: list[float]) -> None:
    """Give each file its own last use, ``hours_ago[i]`` hours back."""
    for data, hours in zip(datas, hours_ago, strict=True):
        past = time.time() - hours * 3600
        os.utime(tier.path(blob_info(data)), (past, past))


def test_ten_writes_never_leave_more_than_the_limit_on_disk(tmp_path):
    tier = DiskTier(tmp_path / "disk", max_bytes=MIB)
    infos = []
    for _ in range(10):
        data = random_bytes(300 * KIB)
        infos.append(info := blob_info(data))
        tier.write_bytes(info, data)
        assert disk_bytes(tier.root) <= MIB

    assert [tier.contains(info) for info in infos][-3:] == [True, True, True]  # the newest stay
    assert tier.budget.evicted_files >= 6


def test_an_object_larger_than_the_whole_budget_skips_the_tier(tmp_path):
    tier = DiskTier(tmp_path / "disk", max_bytes=MIB)
    data = random_bytes(MIB + 1)

    with pytest.raises(TierUnavailable, match="MEDIA_DISK_MAX_BYTES"):
        tier.write_chunks(blob_info(data), [data])

    assert disk_bytes(tier.root) == 0


def test_the_least_recently_used_file_goes_first(tmp_path):
    tier = DiskTier(tmp_path / "disk", max_bytes=MIB)
    old = [random_bytes(300 * KIB) for _ in range(3)]
    for data in old:
        tier.write_bytes(blob_info(data), data)
    last_used(tier, old, [7, 6, 5])
    with tier.open(blob_info(old[0])) as file:  # read from disk: now the most recently used
        file.read()

    tier.write_bytes(blob_info(new := random_bytes(300 * KIB)), new)

    assert [tier.contains(blob_info(data)) for data in old] == [True, False, True]


def test_a_hit_served_from_memory_or_redis_counts_as_a_use_of_the_disk_copy(tmp_path):
    tier = DiskTier(tmp_path / "disk", max_bytes=MIB)
    old = [random_bytes(300 * KIB) for _ in range(3)]
    for data in old:
        tier.write_bytes(blob_info(data), data)
    last_used(tier, old, [7, 6, 5])
    tier._touched.clear()  # a fresh process, as after a restart

    tier.note_use(blob_info(old[0]))  # what the store calls on a Redis or process hit
    tier.write_bytes(blob_info(new := random_bytes(300 * KIB)), new)

    assert [tier.contains(blob_info(data)) for data in old] == [True, False, True]


def test_a_file_being_read_is_not_evicted(tmp_path):
    tier = DiskTier(tmp_path / "disk", max_bytes=MIB)
    old = [random_bytes(300 * KIB) for _ in range(3)]
    for data in old:
        tier.write_bytes(blob_info(data), data)
    reader = tier.open(blob_info(old[0]))
    last_used(tier, old, [7, 6, 5])  # old[0] is the least recently used, but someone is reading it

    try:
        tier.write_bytes(blob_info(new := random_bytes(300 * KIB)), new)
    finally:
        reader.close()

    assert tier.contains(blob_info(old[0]))
    assert not tier.contains(blob_info(old[1]))


@pytest.mark.django_db
def test_the_store_keeps_a_hot_objects_disk_copy_while_colder_ones_are_evicted(ingest, settings, cache_dir):
    settings.MEDIA_DISK_MAX_BYTES = MIB
    hot = ingest(random_bytes(200 * KIB))
    store = runtime.get_store()
    store.evict(hot.info())
    store.fetch(hot.info())  # origin → Redis and disk
    age_all(cache_dir, 3600 * 5)
    store.disk._touched.clear()

    others = []
    for _ in range(8):
        others.append(ingest(random_bytes(200 * KIB)))
        store.disk._touched.clear()  # as if a minute had passed since the last recorded use
        assert store.fetch(hot.info()).tier == "redis"  # a Redis hit: recorded on the disk copy

    assert store.fetch(hot.info()).tier == "redis"
    assert store.disk.contains(hot.info())
    assert disk_bytes(cache_dir) <= MIB
    assert sum(store.disk.contains(blob.info()) for blob in others) <= 4
