"""Prometheus metrics (``GET /metrics``), correct under gunicorn with several workers.

prometheus-client's multiprocess mode is used when ``PROMETHEUS_MULTIPROC_DIR`` is set —
``gunicorn.conf.py`` points it at a fresh folder per server start (unless it is set) and marks
dead workers — so a scrape that lands on any worker sees the sum over all of them. Without it
(tests, a shell) the default in-process registry is used. Incrementing a counter is a few microseconds and touches no
network, so the serving path can afford it on every request.
"""

from __future__ import annotations

import functools
import os
from collections import defaultdict

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from media_store.exceptions import OriginUnavailable

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

MEDIA_REQUESTS = Counter(
    "mediacache_media_requests", "GET/HEAD /media/<hash> responses by tier and status", ["tier", "status"]
)
MEDIA_BYTES = Counter("mediacache_media_bytes_served", "Body bytes sent for /media/<hash>", ["tier"])
MEDIA_LATENCY = Histogram(
    "mediacache_media_request_seconds",
    "Time to answer /media/<hash> (until the body starts)",
    ["tier"],
    buckets=LATENCY_BUCKETS,
)
ORIGIN_CALLS = Counter("mediacache_origin_calls", "Calls to the origin (S3 or folder) by operation", ["operation"])
ORIGIN_ERRORS = Counter("mediacache_origin_errors", "Origin calls that failed (outage, not 'not found')", ["operation"])
DOWNLOADS = Counter("mediacache_downloads", "URL and WhatsApp downloads by outcome", ["source", "outcome"])
DOWNLOAD_RETRIES = Counter("mediacache_download_retries", "Transient download failures retried", ["source"])
NEGATIVE_CACHE_HITS = Counter(
    "mediacache_negative_cache_hits", "Requests refused by the negative cache (no network call)", ["namespace"]
)


@functools.cache
def media_series(tier: str, status: int):
    """The (requests, bytes, latency) series of one tier and status, looked up once per process:
    ``labels()`` costs more than the increment itself on the hot path."""
    return (
        MEDIA_REQUESTS.labels(tier, str(status)),
        MEDIA_BYTES.labels(tier),
        MEDIA_LATENCY.labels(tier),
    )


def counted_origin_call(operation: str):
    """Count an origin method's calls and its outages under ``operation``."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            ORIGIN_CALLS.labels(operation).inc()
            try:
                return method(*args, **kwargs)
            except OriginUnavailable:
                ORIGIN_ERRORS.labels(operation).inc()
                raise

        return wrapper

    return decorate


def registry():
    """The registry to read: all workers' files in multiprocess mode, else this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return REGISTRY


def exposition() -> tuple[bytes, str]:
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def totals(metric_name: str, *labels: str) -> dict[tuple[str, ...], float]:
    """Current counter values summed by ``labels`` (for the JSON statistics)."""
    result: dict[tuple[str, ...], float] = defaultdict(float)
    for family in registry().collect():
        for sample in family.samples:
            if sample.name == f"{metric_name}_total":
                result[tuple(sample.labels.get(label, "") for label in labels)] += sample.value
    return dict(result)
