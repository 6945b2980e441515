"""Real Redis high-availability set-ups for tests and the benchmark: Sentinel and Cluster.

``SentinelSet``: one primary, one replica and three sentinels (``redis-server … --sentinel``)
watching it with a short ``down-after-milliseconds``, so a killed primary is replaced within a
few seconds. ``ClusterSet``: six ``redis-server --cluster-enabled yes`` joined by
``redis-cli --cluster create … --cluster-replicas 1`` (3 primaries, 3 replicas). Every process
runs in its own folder of a temp dir, on free ports of 127.0.0.1, and ``stop()`` kills them all.
Nothing here is a stand-in: failover and slot routing are Redis's own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from tests.support.servers import ServerProcess, free_port, wait_for_port

MASTER = "mymaster"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000


def missing_binaries() -> str | None:
    """Why these set-ups cannot run here (a skip reason), or None."""
    for binary in ("redis-server", "redis-cli"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed (apt-get install redis-server redis-tools redis-sentinel)"
    return None


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (redis.RedisError, OSError) as error:
            last = error
        time.sleep(0.1)
    raise TimeoutError(f"{what} after {timeout}s (last error: {last})")


class RedisNode(ServerProcess):
    """One redis-server (or sentinel) in its own folder, configured by a file it may rewrite."""

    def __init__(self, folder: Path, lines: list[str], *, sentinel: bool = False) -> None:
        super().__init__()
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config = self.folder / ("sentinel.conf" if sentinel else "redis.conf")
        base = [f"port {self.port}", "bind 127.0.0.1", f'dir "{self.folder}"', 'save ""', "appendonly no"]
        self.config.write_text("\n".join(base + lines) + "\n")
        self.sentinel = sentinel

    def start(self) -> RedisNode:
        args = [shutil.which("redis-server"), str(self.config)] + (["--sentinel"] if self.sentinel else [])
        self.spawn(args, log_path=self.folder / "log.txt")
        wait_for_port(self.port, process=self.process)
        return self

    def kill(self) -> None:
        """SIGKILL, as a crashed machine would: no shutdown, no last save, no goodbye to clients."""
        if self.running:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


class SentinelSet:
    """1 primary + 1 replica + 3 sentinels; ``password``/``sentinel_password`` turn AUTH on."""

    def __init__(self, *, password: str = "", sentinel_password: str = "", master: str = MASTER) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mediacache-sentinel-"))
        self.master = master
        self.password = password
        self.sentinel_password = sentinel_password
        auth = [f"requirepass {password}", f"masterauth {password}"] if password else []
        self.primary = RedisNode(self.root / "primary", auth)
        self.replica = RedisNode(self.root / "replica", [*auth, f"replicaof 127.0.0.1 {self.primary.port}"])
        self.sentinels: list[RedisNode] = []
        for n in range(3):
            lines = [
                f"sentinel monitor {self.master} 127.0.0.1 {self.primary.port} 2",
                f"sentinel down-after-milliseconds {self.master} {DOWN_AFTER_MS}",
                f"sentinel failover-timeout {self.master} {FAILOVER_TIMEOUT_MS}",
                f"sentinel parallel-syncs {self.master} 1",
            ]
            if password:
                lines.append(f"sentinel auth-pass {self.master} {password}")
            if sentinel_password:
                lines += [f"requirepass {sentinel_password}", f"sentinel sentinel-pass {sentinel_password}"]
            self.sentinels.append(RedisNode(self.root / f"sentinel{n}", lines, sentinel=True))

    @property
    def nodes(self) -> list[RedisNode]:
        return [self.primary, self.replica, *self.sentinels]

    def start(self) -> SentinelSet:
        try:
            for node in self.nodes:
                node.start()
            _wait(self._ready, 30, "sentinels never agreed on the primary, its replica and each other")
        except BaseException:
            self.stop()
            raise
        return self

    def _ready(self) -> bool:
        if self.replica_client().info("replication").get("master_link_status") != "up":
            return False
        for client in self.sentinel_clients():
            if len(client.sentinel_slaves(self.master)) < 1 or len(client.sentinel_sentinels(self.master)) < 2:
                return False
        return True

    def replica_client(self) -> redis.Redis:
        return redis.Redis(port=self.replica.port, password=self.password or None, socket_timeout=1)

    def sentinel_clients(self) -> list[redis.Redis]:
        password = self.sentinel_password or None
        return [redis.Redis(port=node.port, password=password, socket_timeout=1) for node in self.sentinels]

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", node.port) for node in self.sentinels]

    @property
    def env(self) -> str:
        """``REDIS_SENTINELS`` for this set."""
        return ",".join(f"{host}:{port}" for host, port in self.addresses)

    def topology(self, *, master: str | None = None):
        from media_store.tiers.connections import RedisTopology

        return RedisTopology.build(
            sentinels=self.addresses,
            master=master or self.master,
            password=self.password,
            sentinel_password=self.sentinel_password,
        )

    def primary_port(self) -> int:
        """The primary's port as the sentinels see it now."""
        for client in self.sentinel_clients():
            try:
                address = client.sentinel_get_master_addr_by_name(self.master)
            except (redis.RedisError, OSError):
                continue
            if address:
                return int(address[1])
        raise RuntimeError("no sentinel answers")

    def node_on(self, port: int) -> RedisNode:
        return next(node for node in (self.primary, self.replica) if node.port == port)

    def kill_primary(self) -> RedisNode:
        """Kill the current primary's process; returns it (``.start()`` brings it back as a replica)."""
        node = self.node_on(self.primary_port())
        node.kill()
        return node

    def wait_for_new_primary(self, old_port: int, timeout: float = 30) -> int:
        _wait(
            lambda: self.primary_port() != old_port and self._writable(self.primary_port()),
            timeout,
            f"no new primary elected in place of :{old_port}",
        )
        return self.primary_port()

    def _writable(self, port: int) -> bool:
        client = redis.Redis(port=port, password=self.password or None, socket_timeout=1)
        return client.info("replication").get("role") == "master"

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class ClusterSet:
    """Three primaries and three replicas made into one Redis Cluster by ``redis-cli --cluster create``."""

    def __init__(self, size: int = 6, *, node_timeout_ms: int = 1000) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mediacache-cluster-"))
        self.nodes: list[RedisNode] = []
        for n in range(size):
            bus = free_port()  # explicit bus port: port+10000 may be taken or past 65535
            lines = [
                "cluster-enabled yes",
                f"cluster-port {bus}",
                "cluster-config-file nodes.conf",
                f"cluster-node-timeout {node_timeout_ms}",
            ]
            self.nodes.append(RedisNode(self.root / f"node{n}", lines))

    def start(self) -> ClusterSet:
        try:
            for node in self.nodes:
                node.start()
            addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
            subprocess.run(
                [
                    shutil.which("redis-cli"),
                    "--cluster",
                    "create",
                    *addresses,
                    "--cluster-replicas",
                    "1",
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
            _wait(self._ready, 30, "the cluster never reached cluster_state:ok on every node")
        except BaseException:
            self.stop()
            raise
        return self

    def _ready(self) -> bool:
        """Every node sees the cluster ok *and* every replica has synced with its primary: a
        replica that never synced refuses to be promoted, so killing its primary before then
        would leave the slots uncovered instead of testing a failover."""
        for node in self.nodes:
            client = redis.Redis(port=node.port, socket_timeout=1)
            if b"cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
                return False
            if client.info("replication").get("master_link_status", "up") != "up":
                return False
        return True

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", node.port) for node in self.nodes]

    @property
    def env(self) -> str:
        """``REDIS_CLUSTER_NODES`` for this cluster (every node is a valid startup node)."""
        return ",".join(f"{host}:{port}" for host, port in self.addresses)

    def topology(self):
        from media_store.tiers.connections import RedisTopology

        return RedisTopology.build(nodes=self.addresses)

    def kill_primary_of(self, key: str) -> RedisNode:
        """SIGKILL the primary that holds ``key``'s slot (its replica is promoted by the cluster)."""
        port = self.client().get_node_from_key(key).port
        node = next(node for node in self.nodes if node.port == port)
        node.kill()
        return node

    def wait_for_new_primary_of(self, key: str, old_port: int, timeout: float = 30) -> int:
        survivor = next(node for node in self.nodes if node.running)
        probe = redis.Redis(port=survivor.port, socket_timeout=1)

        def promoted() -> int | None:
            slot = probe.execute_command("CLUSTER", "KEYSLOT", key)
            for start, end, primary, *_ in probe.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end and primary[1] != old_port:
                    return primary[1]
            return None

        _wait(
            lambda: promoted() and b"cluster_state:ok" in probe.execute_command("CLUSTER", "INFO"),
            timeout,
            f"no replica promoted in place of :{old_port}",
        )
        return promoted()

    def client(self) -> redis.RedisCluster:
        return redis.RedisCluster(host="127.0.0.1", port=self.nodes[0].port)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def point_django_at(settings, topology) -> None:
    """Make this test's Django use ``topology`` as production would (``settings`` is pytest-django's)."""
    from mediacache_project.services import caches_for

    forget_connections()  # a pool built for another test's options must not be reused
    settings.REDIS_URL = topology.url
    settings.REDIS_TOPOLOGY = topology
    settings.CACHES = caches_for(topology)


def forget_connections() -> None:
    """Drop the per-process pools built for a set that is being stopped (django-redis keeps them
    in a process-global dict keyed by URL, which would outlive the servers)."""
    from django_redis.pool import ConnectionFactory

    from media_store.tiers.cluster_cache import ClusterConnectionFactory

    ClusterConnectionFactory.forget_all()
    for url in [url for url in ConnectionFactory._pools if "is_master" in url]:
        ConnectionFactory._pools.pop(url).disconnect()
