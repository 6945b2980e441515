"""Which Redis mediacache talks to — one server, a Sentinel-managed primary, or a Cluster.

The topology is decided once from the environment (``REDIS_URL``, ``REDIS_SENTINELS``,
``REDIS_CLUSTER_NODES``; CONTRACT §2) and turned into the two configurations that everything
else uses: Django's ``CACHES["default"]`` (django-redis — the hot tier, fill locks, counters,
the negative cache and ``@cached`` all get their redis-py client from it) and Celery's broker.
Nothing here replicates or elects anything itself: Sentinel and Cluster do, and redis-py's
``SentinelConnectionPool`` / ``RedisCluster`` follow them.

This module only parses and describes; it imports no redis client (``settings.py`` imports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.conf import settings

HostPort = tuple[str, int]

# A hung Redis must cost a request milliseconds: the serving path falls back to disk/origin.
SOCKET_CONNECT_TIMEOUT = 0.5
SOCKET_TIMEOUT = 1.0
POOL_KWARGS = {"max_connections": 128, "health_check_interval": 30}


def parse_host_ports(value: str) -> list[HostPort]:
    """``"a:26379, [::1]:26380"`` → ``[("a", 26379), ("::1", 26380)]``; ValueError on bad items."""
    result: list[HostPort] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{item!r} is not host:port")
        result.append((host, int(port)))
    if not result:
        raise ValueError("no host:port given")
    return result


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class RedisTopology:
    """``kind`` is ``"none"`` (no Redis: process memory), ``"single"``, ``"sentinel"`` or ``"cluster"``."""

    kind: str = "none"
    url: str = ""
    sentinels: tuple[HostPort, ...] = ()
    master: str = "mymaster"
    nodes: tuple[HostPort, ...] = ()
    password: str = ""
    sentinel_password: str = ""
    db: int = 0

    @classmethod
    def build(
        cls,
        *,
        url: str = "",
        sentinels: list[HostPort] | tuple[HostPort, ...] = (),
        master: str = "mymaster",
        nodes: list[HostPort] | tuple[HostPort, ...] = (),
        password: str = "",
        sentinel_password: str = "",
        db: int = 0,
    ) -> RedisTopology:
        """The topology the variables describe; ValueError (one line) when they contradict."""
        given = (("REDIS_URL", url), ("REDIS_SENTINELS", sentinels), ("REDIS_CLUSTER_NODES", nodes))
        chosen = [name for name, value in given if value]
        if len(chosen) > 1:
            raise ValueError(f"set only one of {', '.join(chosen)}: they are alternative ways to reach Redis")
        if nodes and db:
            raise ValueError(f"REDIS_DB={db} cannot be used with REDIS_CLUSTER_NODES: a Redis Cluster has only db 0")
        if sentinels and not master:
            raise ValueError("REDIS_SENTINEL_MASTER is empty: it names the Sentinel service (default mymaster)")
        kind = "sentinel" if sentinels else "cluster" if nodes else "single" if url else "none"
        return cls(kind, url, tuple(sentinels), master, tuple(nodes), password, sentinel_password, db)

    @property
    def configured(self) -> bool:
        return self.kind != "none"

    def describe(self) -> str:
        """One line for logs and reports — never the passwords."""
        if self.kind == "sentinel":
            hosts = ",".join(_netloc(*pair) for pair in self.sentinels)
            return f"redis sentinel master={self.master} db={self.db} sentinels={hosts}"
        if self.kind == "cluster":
            return "redis cluster nodes=" + ",".join(_netloc(*pair) for pair in self.nodes)
        if self.kind == "single":
            return "redis single"
        return "no redis (process memory)"

    # -- Django's cache -------------------------------------------------------------------
    def cache_config(self) -> dict[str, Any]:
        """The ``CACHES["default"]`` entry for this topology (django-redis, or locmem)."""
        if self.kind == "none":
            return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        options: dict[str, Any] = {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": SOCKET_CONNECT_TIMEOUT,
            "SOCKET_TIMEOUT": SOCKET_TIMEOUT,
            "CONNECTION_POOL_KWARGS": dict(POOL_KWARGS),
        }
        if self.password:
            options["PASSWORD"] = self.password
        location: str | list[str] = self.url
        if self.kind == "sentinel":
            # SentinelClient checks the pool really is Sentinel-managed. One location only (the
            # primary): reads from a replica could return a negative-cache entry or a counter
            # from before a failover; every read goes where the writes go.
            location = [f"redis://{self.master}/{self.db}?is_master=1"]
            sentinel_kwargs: dict[str, Any] = {
                "socket_connect_timeout": SOCKET_CONNECT_TIMEOUT,
                "socket_timeout": SOCKET_TIMEOUT,
                **self._sentinel_client_kwargs(),
            }
            options.update(
                CLIENT_CLASS="django_redis.client.SentinelClient",
                CONNECTION_FACTORY="django_redis.pool.SentinelConnectionFactory",
                SENTINELS=[list(pair) for pair in self.sentinels],
                SENTINEL_KWARGS=sentinel_kwargs,
            )
        elif self.kind == "cluster":
            # django-redis has no cluster client: ours hands out one redis.cluster.RedisCluster.
            location = [f"redis://{_netloc(*self.nodes[0])}/0"]
            options.update(
                CLIENT_CLASS="media_store.tiers.cluster_cache.ClusterClient",
                CONNECTION_FACTORY="media_store.tiers.cluster_cache.ClusterConnectionFactory",
                STARTUP_NODES=[list(pair) for pair in self.nodes],
            )
        return {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": location, "OPTIONS": options}

    # -- Celery ---------------------------------------------------------------------------
    def celery_broker(self) -> tuple[str, dict[str, Any]]:
        """``(broker URL, transport options)`` Celery can use, or ``("", {})`` (tasks run inline).

        A Cluster cannot be a Celery broker (kombu's Redis transport needs multi-key commands
        on one server), so it gives none.
        """
        if self.kind == "single":
            return self.url, {}
        if self.kind != "sentinel":
            return "", {}
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        url = ";".join(f"sentinel://{auth}{_netloc(*pair)}/{self.db}" for pair in self.sentinels)
        return url, {"master_name": self.master, "sentinel_kwargs": self._sentinel_client_kwargs()}

    def _sentinel_client_kwargs(self) -> dict[str, Any]:
        """What every client of a *sentinel* (not of the primary) gets, in the cache and in kombu.

        ``retry: None``: redis-py 8 gives each sentinel client 10 retries with back-off, so one
        sentinel of three down (or a wrong sentinel password) cost every new connection 3–11 s
        before the next sentinel was asked. Asking the next sentinel *is* the retry.
        """
        kwargs: dict[str, Any] = {"retry": None}
        if self.sentinel_password:
            kwargs["password"] = self.sentinel_password
        return kwargs


def topology() -> RedisTopology:
    """The topology ``settings.py`` built (``REDIS_TOPOLOGY``), or one derived from ``REDIS_URL``.

    Tests that override only ``REDIS_URL`` (and ``CACHES``) keep working: without an explicit
    ``REDIS_TOPOLOGY`` the URL decides.
    """
    found = getattr(settings, "REDIS_TOPOLOGY", None)
    url = getattr(settings, "REDIS_URL", "")
    if found is None or (found.kind in ("single", "none") and found.url != url):
        return RedisTopology.build(url=url)
    return found


def redis_configured() -> bool:
    """True when mediacache should use Redis (any topology) rather than process memory."""
    return topology().configured


def startup_line(conf) -> str:
    """What start-up says about Redis and Celery in one line ("" when nothing is worth saying).

    A Cluster without ``CELERY_BROKER_URL`` means tasks run inline in the web process (kombu
    cannot use a Cluster as broker): the operator must hear that once, not discover it.
    """
    found = getattr(conf, "REDIS_TOPOLOGY", None)
    if found is None or not found.configured:
        return ""
    if found.kind == "cluster" and getattr(conf, "CELERY_TASK_ALWAYS_EAGER", False):
        return (
            f"mediacache: {found.describe()}; Celery cannot use a Redis Cluster as broker and "
            "CELERY_BROKER_URL is not set: tasks run inline in the web process"
        )
    return f"mediacache: {found.describe()}"
