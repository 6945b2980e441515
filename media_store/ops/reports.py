"""The operator statistics of ``GET /media/stats`` and ``manage.py media_stats`` (one source).

``statistics`` holds exactly the CONTRACT keys (WhatsApp fetches); the rest is per-tier
detail: the hot tier (keys, bytes, Redis memory and keyspace hit ratio), the disk tier (files
and bytes by type), the origin (objects and bytes from the Blob table — listing a bucket is
too slow for a stats page — and calls since the servers started) and serving (requests by tier
and status, bytes by tier, from the Prometheus counters, summed over all workers).
"""

from __future__ import annotations

import time

from django.db.models import Count, Q, Sum
from django.template.defaultfilters import filesizeformat
from redis.exceptions import RedisError

from media_store import runtime
from media_store.conf import media_settings
from media_store.models import Blob
from media_store.ops import metrics
from media_store.ops.content_report import content_report, content_rows
from media_store.ops.counters import hit_rate
from media_store.tiers.hot import MemoryHotTier
from media_store.tiers.keyspace import primaries, server_info

USAGE_SAMPLE_KEYS = 1000  # MEMORY USAGE is asked of this many blob keys; the rest are extrapolated
USAGE_CACHE_SECONDS = 30.0  # a stats page refreshed in a loop re-walks Redis at most this often
_usage_cache: dict[str, tuple[float, int, int, int]] = {}

HUMAN_SIZES = frozenset({"bytes", "used_memory", "maxmemory", "max_bytes", "max_object_bytes"})


def media_statistics() -> dict:
    from media_store.fetch.media_ids import statistics

    return {
        "status": "success",
        "statistics": statistics(),
        "hot_tier": hot_tier_report(),
        "disk": disk_report(),
        "origin": origin_report(),
        "serving": serving_report(),
        "content": content_report(),
    }


def sampled_key_usage(client, pattern: str, now: float | None = None) -> tuple[int, int, int]:
    """``(keys, estimated bytes, keys measured)`` for ``pattern``, cached for ``USAGE_CACHE_SECONDS``.

    Keys are counted with SCAN (cheap per key); ``MEMORY USAGE`` — a round trip of server work
    per key — is asked only of the first ``USAGE_SAMPLE_KEYS`` and the total extrapolated, so a
    stats view costs the same with a thousand objects as with ten million.
    """
    now = time.monotonic() if now is None else now
    cached = _usage_cache.get(pattern)
    if cached is not None and 0 <= now - cached[0] < USAGE_CACHE_SECONDS:
        return cached[1:]
    keys = measured = measured_bytes = 0
    sample: list[tuple[object, bytes]] = []
    for node in primaries(client):
        for key in node.scan_iter(match=pattern, count=1000):
            keys += 1
            if len(sample) < USAGE_SAMPLE_KEYS:
                sample.append((node, key))
    for node in {id(node): node for node, _key in sample}.values():
        pipe = node.pipeline(transaction=False)
        mine = [key for owner, key in sample if owner is node]
        for key in mine:
            pipe.memory_usage(key, samples=0)
        sizes = [size for size in pipe.execute() if size]
        measured += len(sizes)
        measured_bytes += sum(sizes)
    estimate = round(measured_bytes / measured * keys) if measured else 0
    _usage_cache[pattern] = (now, keys, estimate, measured)
    return keys, estimate, measured


def hot_tier_report() -> dict:
    store = runtime.get_store()
    hot = store.hot
    if hot is None:
        return {"backend": "disabled"}
    if isinstance(hot, MemoryHotTier):
        return {"backend": "memory", **hot.stats()}
    client = runtime.redis_client()
    try:
        keys, size, sampled = sampled_key_usage(client, f"{hot.key_prefix}:blob:*")
        memory = server_info(client, "memory")  # summed over every primary of a Cluster
        counters = server_info(client, "stats")
    except (RedisError, OSError) as error:
        return {"backend": "redis", "status": "down", "error": str(error)}
    hits, misses = counters.get("keyspace_hits", 0), counters.get("keyspace_misses", 0)
    return {
        "backend": "redis",
        "status": "ok",
        "keys": keys,
        "bytes": size,  # what the blob keys occupy in Redis (MEMORY USAGE, sampled), overhead included
        "bytes_sampled_keys": sampled,  # how many keys were measured; bytes is exact when it equals keys
        "used_memory": memory.get("used_memory", 0),
        "used_memory_human": memory.get("used_memory_human", ""),
        "maxmemory": memory.get("maxmemory", 0),
        "keyspace_hits": hits,
        "keyspace_misses": misses,
        "hit_ratio": hit_rate(hits, hits + misses),
        "max_object_bytes": media_settings.MEDIA_REDIS_MAX_OBJECT_BYTES,
        "ttl_seconds": media_settings.MEDIA_REDIS_TTL,
    }


def disk_report() -> dict:
    store = runtime.get_store()
    if store.disk is None:
        return {"status": "disabled"}
    by_type = store.disk.usage()
    return {
        "path": str(store.disk.root),
        "files": sum(item["count"] for item in by_type.values()),
        "bytes": sum(item["size"] for item in by_type.values()),
        "by_type": by_type,
        "max_bytes": media_settings.MEDIA_DISK_MAX_BYTES,
        "max_age_days": media_settings.MEDIA_CACHE_DAYS,
    }


def origin_report() -> dict:
    totals = Blob.objects.aggregate(
        objects=Count("sha256"), bytes=Sum("size"), expired=Count("sha256", filter=Q(expired_at__isnull=False))
    )
    calls = metrics.totals("mediacache_origin_calls", "operation")
    errors = metrics.totals("mediacache_origin_errors", "operation")
    return {
        "backend": media_settings.MEDIA_STORAGE,
        "objects": totals["objects"],
        "bytes": totals["bytes"] or 0,
        "expired": totals["expired"],
        "calls_since_start": {operation: int(value) for (operation,), value in sorted(calls.items())},
        "errors_since_start": {operation: int(value) for (operation,), value in sorted(errors.items())},
    }


def serving_report() -> dict:
    requests = metrics.totals("mediacache_media_requests", "tier", "status")
    served = metrics.totals("mediacache_media_bytes_served", "tier")
    by_tier: dict[str, dict[str, int]] = {}
    for (tier, status), value in sorted(requests.items()):
        by_tier.setdefault(tier, {})[status] = int(value)
    return {
        "requests": {
            tier: {"total": sum(statuses.values()), "by_status": statuses} for tier, statuses in by_tier.items()
        },
        "bytes_served": {tier: int(value) for (tier,), value in sorted(served.items())},
    }


def report_sections(report: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    """The report as titled (name, value) rows: the shape both the command and the admin page print."""
    sections: list[tuple[str, list[tuple[str, str]]]] = [
        ("WhatsApp media", [(key, str(value)) for key, value in report["statistics"].items()])
    ]
    hot = report["hot_tier"]
    sections.append(
        ("Hot tier", [(key, _human(key, value)) for key, value in hot.items() if key != "used_memory_human"])
    )
    disk = report["disk"]
    disk_rows = [(key, _human(key, value)) for key, value in disk.items() if key != "by_type"]
    for kind, item in disk.get("by_type", {}).items():
        disk_rows.append((kind, f"{item['count']} files, {filesizeformat(item['size'])}"))
    sections.append(("Disk tier", disk_rows))
    origin = report["origin"]
    sections.append(
        (
            "Origin",
            [
                ("backend", origin["backend"]),
                ("objects", str(origin["objects"])),
                ("bytes", _human("bytes", origin["bytes"])),
                ("expired", str(origin["expired"])),
                ("calls since start", _pairs(origin["calls_since_start"])),
                ("errors since start", _pairs(origin["errors_since_start"])),
            ],
        )
    )
    serving = report["serving"]
    rows = [
        (f"{tier} requests", f"{item['total']} ({_pairs(item['by_status'])})")
        for tier, item in serving["requests"].items()
    ]
    rows += [(f"bytes from {tier}", filesizeformat(value)) for tier, value in serving["bytes_served"].items()]
    sections.append(("Serving (all workers of this server)", rows or [("requests", "0")]))
    sections.append(("Content analysis and variants", content_rows(report["content"])))
    return sections


def _human(key: str, value) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and key in HUMAN_SIZES:
        return f"{value} ({filesizeformat(value)})"
    return str(value)


def _pairs(mapping: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in mapping.items()) or "-"
