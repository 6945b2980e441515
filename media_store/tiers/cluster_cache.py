"""django-redis on a Redis Cluster: a connection factory and a client for ``redis.cluster.RedisCluster``.

django-redis ships clients for one server, Sentinel and client-side sharding, not for Redis
Cluster. Its ``DefaultClient`` already speaks through whatever redis-py object the connection
factory returns, so the factory below returns one ``RedisCluster`` per process (it follows
slot moves and replica promotions by itself), and the client overrides only the operations
that would otherwise send one command over keys of different slots (which a Cluster refuses
with CROSSSLOT) or ask one node about the whole keyspace:

- ``get_many``: MGET per slot (redis-py's ``mget_nonatomic``), not one MGET;
- ``delete_many``: redis-py's cluster DEL already splits the keys by slot;
- ``iter_keys`` / ``keys`` / ``delete_pattern``: SCAN every primary, never KEYS on one node;
- ``clear``: FLUSHDB on every primary (redis-py's default target for it).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from typing import Any

from django_redis.client.default import DefaultClient, _main_exceptions
from django_redis.exceptions import ConnectionInterrupted
from django_redis.pool import ConnectionFactory
from redis.cluster import ClusterNode, RedisCluster

from media_store.tiers.keyspace import SCAN_BATCH, scan_all


class ClusterConnectionFactory(ConnectionFactory):
    """``connect()`` returns one ``RedisCluster`` per set of options, shared by the process."""

    _clusters: dict[tuple, RedisCluster] = {}
    _lock = threading.Lock()

    def connect(self, url: str) -> RedisCluster:
        nodes = tuple((host, int(port)) for host, port in self.options["STARTUP_NODES"])
        password = self.options.get("PASSWORD") or None
        key = (nodes, password)
        with self._lock:
            cluster = self._clusters.get(key)
            if cluster is None:
                pool = self.pool_cls_kwargs
                cluster = self._clusters[key] = RedisCluster(
                    startup_nodes=[ClusterNode(host, port) for host, port in nodes],
                    password=password,
                    socket_connect_timeout=self.options.get("SOCKET_CONNECT_TIMEOUT"),
                    socket_timeout=self.options.get("SOCKET_TIMEOUT"),
                    max_connections=pool.get("max_connections", 2**31),
                    health_check_interval=pool.get("health_check_interval", 0),
                )
        return cluster

    def disconnect(self, connection: RedisCluster) -> None:
        connection.disconnect_connection_pools()

    @classmethod
    def forget_all(cls) -> None:
        """Close and drop every cluster client (tests that stop their cluster)."""
        with cls._lock:
            clusters, cls._clusters = list(cls._clusters.values()), {}
        for cluster in clusters:
            cluster.close()


class ClusterClient(DefaultClient):
    """django-redis's client with the multi-key operations made slot-safe."""

    def get_many(self, keys: Collection[str], version: int | None = None, client=None) -> dict:
        if client is None:
            client = self.get_client(write=False)
        if not keys:
            return {}
        names = {self.make_key(key, version=version): key for key in keys}
        try:
            values = client.mget_nonatomic(list(names))
        except _main_exceptions as error:
            raise ConnectionInterrupted(connection=client) from error
        return {names[key]: self.decode(value) for key, value in zip(names, values, strict=True) if value is not None}

    def iter_keys(
        self, search: str, itersize: int | None = None, client=None, version: int | None = None
    ) -> Iterator[str]:
        if client is None:
            client = self.get_client(write=False)
        pattern = self.make_pattern(search, version=version)
        for key in scan_all(client, pattern, itersize or SCAN_BATCH):
            yield self.reverse_key(key.decode() if isinstance(key, bytes) else key)

    def keys(self, search: str, version: int | None = None, client=None) -> list[Any]:
        try:
            return list(self.iter_keys(search, client=client, version=version))
        except _main_exceptions as error:
            raise ConnectionInterrupted(connection=client) from error

    def delete_pattern(
        self, pattern: str, version: int | None = None, prefix: str | None = None, client=None, itersize=None
    ) -> int:
        if client is None:
            client = self.get_client(write=True)
        match = self.make_pattern(pattern, version=version, prefix=prefix)
        try:
            count = 0
            pipe = client.pipeline(transaction=False)
            for key in scan_all(client, match, itersize or SCAN_BATCH):
                pipe.delete(key)  # one key per DEL: each goes to its own slot's primary
                count += 1
            pipe.execute()
            return count
        except _main_exceptions as error:
            raise ConnectionInterrupted(connection=client) from error
