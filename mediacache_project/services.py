"""Connection settings for the backing services, built from their URLs.

Kept apart from ``settings.py`` so the test suite can point Django at the Redis it started
with exactly the options production uses (``override_settings(CACHES=caches_for(url))``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url


def caches_for(redis_url: str) -> dict[str, dict[str, Any]]:
    """django-redis on ``redis_url``; a process-local cache when it is empty.

    Socket timeouts are short on purpose: a Redis that hangs must cost a request
    milliseconds, not seconds — the serving path falls back to disk and origin
    (and the hot tier stops asking Redis for a few seconds after a failure).
    """
    if not redis_url:
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 1.0,
                "CONNECTION_POOL_KWARGS": {"max_connections": 128, "health_check_interval": 30},
            },
        }
    }


def database_for(url: str, base_dir: Path) -> dict[str, Any]:
    """Django DATABASES entry for ``url``; relative SQLite paths are under ``base_dir``.

    Raises ValueError for a URL dj-database-url does not understand.
    """
    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
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
