"""How many keys match a pattern and how much Redis memory they take (for operator reports)."""

from __future__ import annotations

SCAN_BATCH = 1000


def key_usage(client, pattern: str) -> tuple[int, int]:
    """``(keys, bytes)`` for ``pattern``: SCAN (never KEYS) and MEMORY USAGE, pipelined per batch."""
    keys = memory = 0
    batch: list[bytes] = []

    def measure() -> int:
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.memory_usage(key, samples=0)
        return sum(size or 0 for size in pipe.execute())

    for key in client.scan_iter(match=pattern, count=SCAN_BATCH):
        keys += 1
        batch.append(key)
        if len(batch) == SCAN_BATCH:
            memory += measure()
            batch = []
    if batch:
        memory += measure()
    return keys, memory


def unlink_matching(client, pattern: str) -> int:
    """Delete every key matching ``pattern`` in batches (UNLINK: freed in the background)."""
    removed = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=pattern, count=SCAN_BATCH):
        batch.append(key)
        if len(batch) == SCAN_BATCH:
            removed += client.unlink(*batch)
            batch = []
    if batch:
        removed += client.unlink(*batch)
    return removed
