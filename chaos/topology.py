"""Every process of the chaos run, started in order and stopped in reverse — always.

PostgreSQL (its own cluster), Redis Sentinel (primary + replica + 3 sentinels), moto behind the
S3 fault proxy, the fake Graph API and a local HTTP server for URL ingest (threads of this
process), two gunicorn nodes (each with its own disk tier; node A's on a small tmpfs so that a
fault can fill it), a Celery worker, and nginx in front of both nodes. Each subprocess runs in
its own session (process group); ``stop()`` kills every group it started, and is safe to call
twice and after a half-finished start.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from chaos.edge import Edge
from chaos.s3proxy import S3FaultProxy
from chaos.supervisor import Supervised
from tests.support.fake_graph import FakeGraph
from tests.support.postgres import Postgres
from tests.support.redis_ha import SentinelSet
from tests.support.servers import TEST_BUCKET, GunicornServer, MotoS3Server

API_TOKEN = "chaos-operator-token"
GRAPH_TOKEN = "chaos-graph-token"
S3_PREFIX = "chaos/"
TMPFS_SIZE = "48m"


class UrlServer:
    """A plain local HTTP server over a folder: the "internet" that URL ingest downloads from."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_QuietFiles, directory=str(folder))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> UrlServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


class _Graph:
    """The fake Graph API as a component with ``stop()``."""

    def __init__(self, graph: FakeGraph) -> None:
        self.graph = graph

    def stop(self) -> None:
        self.graph.__exit__(None, None, None)


class Topology:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mediacache-chaos-"))
        os.chmod(self.root, 0o711)
        self.postgres = Postgres(self.root / "postgres")
        self.sentinel = SentinelSet()
        self.moto = MotoS3Server()
        self.s3: S3FaultProxy | None = None
        self.graph = FakeGraph(token=GRAPH_TOKEN)
        self.urls = UrlServer(self.root / "urls")
        self.cache_dirs = {"a": self.root / "node-a" / "cache", "b": self.root / "node-b" / "cache"}
        self.tmpfs: Path | None = None
        self.tmpfs_error = ""
        self.nodes: dict[str, GunicornServer] = {}
        self.celery: Supervised | None = None  # started last, kept running like systemd would
        self.edge: Edge | None = None
        self._started: list = []

    # -- the environment every app process shares ------------------------------------------------

    def env(self, cache_dir: Path) -> dict[str, str]:
        assert self.s3 is not None
        assert self.edge is not None
        return {
            "DJANGO_SETTINGS_MODULE": "mediacache_project.settings",
            "SECRET_KEY": "chaos-run-secret-key-" + self.root.name,
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": self.postgres.url,
            "REDIS_SENTINELS": self.sentinel.env,
            "REDIS_SENTINEL_MASTER": self.sentinel.master,
            "MEDIA_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": TEST_BUCKET,
            "AWS_S3_ENDPOINT_URL": self.s3.endpoint,
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "MEDIA_S3_PREFIX": S3_PREFIX,
            "MEDIA_CACHE_DIR": str(cache_dir),
            "STATIC_ROOT": str(self.root / "static"),
            "PUBLIC_BASE_URL": self.edge.url,
            "MEDIA_API_TOKEN": API_TOKEN,
            "WHATSAPP_TOKEN": GRAPH_TOKEN,
            "WHATSAPP_GRAPH_URL": self.graph.url,
            "DOWNLOAD_ALLOW_PRIVATE_NETWORKS": "true",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "4",
            "MEDIA_ORIGIN_TIMEOUT": "3",
            "MAX_RETRIES": "2",
            "BASE_BACKOFF_SECONDS": "0.2",
            "LOG_LEVEL": "warning",
        }

    # -- start / stop ---------------------------------------------------------------------------

    def start(self, log) -> Topology:
        log("postgres: initdb + pg_ctl start")
        self._started.append(self.postgres.start())
        log("redis: primary + replica + 3 sentinels")
        self._started.append(self.sentinel.start())
        log("s3: moto behind the fault proxy")
        self._started.append(self.moto.start())
        self.moto.create_bucket(TEST_BUCKET)
        self.s3 = S3FaultProxy(self.moto.port)
        self._started.append(self.s3.start())
        self._started.append(_Graph(self.graph.__enter__()))
        self._started.append(self.urls.start())
        self._mount_tmpfs()
        self.edge = Edge(self.root / "edge", {})
        envs = {name: self.env(path) for name, path in self.cache_dirs.items()}
        for name, env in envs.items():
            self.nodes[name] = GunicornServer(env, log_path=self.root / f"node-{name}.log")
        log("migrate")
        self.nodes["a"].manage("migrate", "--noinput", "-v", "0")
        for name, node in self.nodes.items():
            log(f"gunicorn node {name} on :{node.port}")
            self._started.append(node.start())
        self.edge.nodes = {node.port: self.cache_dirs[name] for name, node in self.nodes.items()}
        self._configure_django(envs["a"])
        log(f"nginx edge on :{self.edge.port}")
        self._started.append(self.edge.start())
        log("celery worker")
        worker = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mediacache_project",
            "worker",
            "-l",
            "warning",
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "--without-heartbeat",
            "--without-gossip",
        ]
        self.celery = Supervised(worker, env={**os.environ, **envs["b"]}, log_path=self.root / "celery.log")
        self._started.append(self.celery.start())
        return self

    def _mount_tmpfs(self) -> None:
        where = self.cache_dirs["a"]
        where.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if result.returncode == 0:
            self.tmpfs = where
        else:
            self.tmpfs_error = result.stderr.strip() or f"mount exited {result.returncode}"

    def _configure_django(self, env: dict[str, str]) -> None:
        """This process renders the edge config: it needs the same settings as the nodes."""
        os.environ.update(env)
        import django

        django.setup()

    def manage(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return self.nodes["a"].manage(*args, env=env)

    def ingest(self, paths: list[Path]) -> list[dict]:
        """``manage.py ingest_media --json`` into a disk tier no node uses: both nodes start cold."""
        result = self.manage(
            "ingest_media", *map(str, paths), "--json", env={"MEDIA_CACHE_DIR": str(self.root / "ingest-cache")}
        )
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def stop(self) -> None:
        for component in reversed(self._started):
            try:
                component.stop()
            except Exception as error:  # noqa: BLE001 — keep stopping the rest
                print(f"chaos: stopping {type(component).__name__} failed: {error}", file=sys.stderr)
        self._started.clear()
        if self.tmpfs is not None:
            subprocess.run(["umount", "-l", str(self.tmpfs)], capture_output=True, timeout=10, check=False)
            self.tmpfs = None
        shutil.rmtree(self.root, ignore_errors=True)
