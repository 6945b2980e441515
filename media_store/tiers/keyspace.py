"""Walks over many keys — counting, measuring, deleting — on one Redis or on every Cluster primary.

A Redis Cluster spreads keys over primaries by slot, and refuses a command whose keys lie in
different slots (CROSSSLOT), even on one node. So every walk here goes primary by primary
(SCAN on that node's own connection, replicas skipped so nothing is counted twice), and
per-key work is pipelined one key per command: MEMORY USAGE and UNLINK never carry keys of
two slots. On a single Redis (or a Sentinel-managed primary) the "primaries" are just it.
"""

from __future__ import annotations

from collections.abc import Iterator

from redis.cluster import RedisCluster

SCAN_BATCH = 1000


def primaries(client) -> list:
    """One plain redis-py client per primary that holds keys (just ``client`` outside a Cluster)."""
    if isinstance(client, RedisCluster):
        return [client.get_redis_connection(node) for node in client.get_primaries()]
    return [client]


def scan_all(client, pattern: str, count: int = SCAN_BATCH) -> Iterator[bytes]:
    """Every key matching ``pattern`` (SCAN, never KEYS), primary by primary."""
    for node in primaries(client):
        yield from node.scan_iter(match=pattern, count=count)


def _batches(node, pattern: str) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for key in node.scan_iter(match=pattern, count=SCAN_BATCH):
        batch.append(key)
        if len(batch) == SCAN_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def key_usage(client, pattern: str) -> tuple[int, int]:
    """``(keys, bytes)`` for ``pattern``: SCAN and MEMORY USAGE, pipelined per batch, per primary."""
    keys = memory = 0
    for node in primaries(client):
        for batch in _batches(node, pattern):
            pipe = node.pipeline(transaction=False)
            for key in batch:
                pipe.memory_usage(key, samples=0)
            keys += len(batch)
            memory += sum(size or 0 for size in pipe.execute())
    return keys, memory


def unlink_matching(client, pattern: str) -> int:
    """Delete every key matching ``pattern`` in batches (UNLINK: freed in the background)."""
    removed = 0
    for node in primaries(client):
        for batch in _batches(node, pattern):
            pipe = node.pipeline(transaction=False)
            for key in batch:
                pipe.unlink(key)
            removed += sum(pipe.execute())
    return removed


def server_info(client, section: str) -> dict:
    """``INFO <section>`` of one Redis, or summed over every Cluster primary (numbers only)."""
    nodes = primaries(client)
    if len(nodes) == 1:
        return nodes[0].info(section)
    totals: dict = {}
    for node in nodes:
        for field, value in node.info(section).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                totals[field] = totals.get(field, 0) + value
    return totals
