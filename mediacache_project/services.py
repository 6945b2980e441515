"""Connection settings for the backing services, built from their URLs.

Kept apart from ``settings.py`` so the test suite can point Django at the Redis it started
with exactly the options production uses (``override_settings(CACHES=caches_for(url))``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url

from media_store.tiers.connections import RedisTopology


def caches_for(redis: str | RedisTopology) -> dict[str, dict[str, Any]]:
    """django-redis on a Redis URL or a topology (one server, Sentinel, Cluster); locmem without one.

    Socket timeouts are short on purpose: a Redis that hangs must cost a request
    milliseconds, not seconds — the serving path falls back to disk and origin
    (and the hot tier stops asking Redis for a few seconds after a failure). The
    topology-specific parts (client class, connection factory, Sentinel service, Cluster
    startup nodes) come from ``media_store.tiers.connections``.
    """
    topology = redis if isinstance(redis, RedisTopology) else RedisTopology.build(url=redis)
    entry = topology.cache_config()
    if topology.configured:
        # keys as documented (mc:…), both ways; values signed, so a forged one is never unpickled
        entry["KEY_FUNCTION"] = "media_store.tiers.signed.plain_key"
        entry["REVERSE_KEY_FUNCTION"] = "media_store.tiers.signed.plain_reverse_key"
        entry["OPTIONS"]["SERIALIZER"] = "media_store.tiers.signed.SignedPickleSerializer"
    return {"default": entry}


# Connections one worker process may hold open to PostgreSQL (its psycopg pool). A node opens
# at most workers × this, the deployment nodes × workers × this: 3 nodes of 8 cores (8 workers
# each) × 3 = 72, under PostgreSQL's default max_connections of 100 with room for Celery,
# beat and management commands. docs/redis.md ("Sizing") has the formula.
DEFAULT_POOL_MAX_SIZE = 3
POOL_TIMEOUT_SECONDS = 10.0  # a thread waits this long for a free connection, then the request fails
# psycopg's pool retries a lost connection with exponential back-off (1, 2, 4, 8, 16 s …) for
# up to ``reconnect_timeout`` (300 s by default): after a 20 s outage its next attempt could
# come 11 s after the database is back, all that time answering 503. Giving up after 5 s lets
# the next request start a fresh attempt at once (the pool grows on demand), so a node serves
# again within about a second of the database.
POOL_RECONNECT_SECONDS = 5.0


def database_for(url: str, base_dir: Path, pool_max_size: int = DEFAULT_POOL_MAX_SIZE) -> dict[str, Any]:
    """Django DATABASES entry for ``url``; relative SQLite paths are under ``base_dir``.

    PostgreSQL goes through Django 5.2's psycopg connection pool (``OPTIONS["pool"]``): the
    gthread workers run 8 threads each, and with one persistent connection per thread a few
    nodes would exhaust the server's connections; with the pool a worker's threads share
    ``pool_max_size`` connections (most requests, hot hits, use none). ``pool_max_size=0``
    turns the pool off (persistent per-thread connections, e.g. behind PgBouncer).

    Raises ValueError for a URL dj-database-url does not understand.
    """
    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.postgresql" and pool_max_size > 0:
        config["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django refuses both at once
        # CONN_HEALTH_CHECKS (on) now makes the pool check a connection before handing it out.
        pool = {
            "min_size": 1,
            "max_size": pool_max_size,
            "timeout": POOL_TIMEOUT_SECONDS,
            "reconnect_timeout": POOL_RECONNECT_SECONDS,
        }
        config.setdefault("OPTIONS", {})["pool"] = pool
    if config["ENGINE"] == "django.db.backends.sqlite3":
        name = config.get("NAME") or "var/db.sqlite3"
        if name != ":memory:":
            path = Path(name)
            path = path if path.is_absolute() else base_dir / path
            path.parent.mkdir(parents=True, exist_ok=True)
            config["NAME"] = str(path)
        # SQLite is the single-machine default: persistent connections buy nothing there.
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    return config
