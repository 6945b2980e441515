"""End-to-end fixtures: the app under gunicorn (as ``make run`` serves it) in a subprocess.

Servers get their own database (a SQLite file, or a fresh PostgreSQL database when
``DATABASE_URL`` points at PostgreSQL), folders, Redis key prefix and S3 key prefix. Content
is ingested with the real ``manage.py ingest_media`` into a *different* disk-tier folder, so
the server's own tiers start cold and the first GET really comes from the origin.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.nginx import BEHIND_THE_EDGE, NginxServer
from tests.support.servers import TEST_BUCKET, GunicornServer, MotoS3Server, RedisServer, s3_settings

pytestmark = pytest.mark.e2e


@dataclass
class Ingested:
    token: str
    sha256: str
    payload: bytes
    mime_type: str
    id: int | None = None

    @property
    def path(self) -> str:
        return f"/media/{self.token}"


class MediaServer:
    """A gunicorn server plus helpers to ingest content into its store."""

    def __init__(self, gunicorn: GunicornServer, work: Path) -> None:
        self.gunicorn = gunicorn
        self.work = work
        self.url = gunicorn.url

    def ingest(self, payload: bytes, name: str = "file.bin") -> Ingested:
        [ingested] = self.ingest_many([(payload, name)])
        return ingested

    def ingest_many(self, files: list[tuple[bytes, str]]) -> list[Ingested]:
        """``(payload, name)`` pairs stored by one ``ingest_media`` run (one Django start-up for
        all: a test that needs twenty objects does not pay twenty), in order."""
        sources = []
        for payload, name in files:
            source = self.work / f"{uuid.uuid4().hex}-{name}"
            source.write_bytes(payload)
            sources.append(str(source))
        elsewhere = str(self.work / "ingest-cache")  # keep the server's disk tier cold
        result = self.gunicorn.manage("ingest_media", *sources, "--json", env={"MEDIA_CACHE_DIR": elsewhere})
        rows = [json.loads(line) for line in result.stdout.strip().splitlines() if line.startswith("{")]
        assert len(rows) == len(files), result.stdout
        return [
            Ingested(row["media_hash"], row["sha256"], payload, row["mime_type"], row["id"])
            for row, (payload, _) in zip(rows, files, strict=True)
        ]

    def log(self) -> str:
        return self.gunicorn.log()


@pytest.fixture(scope="session")
def e2e_database_url():
    """A fresh PostgreSQL database when the suite runs on PostgreSQL, else None (SQLite files)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield None
        return
    import psycopg

    name = f"mediacache_e2e_{uuid.uuid4().hex[:8]}"
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def start_media_server(tmp_path_factory, redis_url, s3_server, e2e_database_url):
    """Factory: ``start_media_server(**env)`` → a running MediaServer; all stopped at the end of the
    module (each gunicorn worker holds PostgreSQL connections: a session's worth of servers left
    running would exhaust the server's max_connections)."""
    started: list[GunicornServer] = []

    def start(*, redis: str | None = None, s3: MotoS3Server | None = None, **env: str) -> MediaServer:
        work = tmp_path_factory.mktemp("server")
        run = uuid.uuid4().hex[:10]
        database = e2e_database_url or f"sqlite:///{work / 'db.sqlite3'}"
        environment = {
            "SECRET_KEY": "e2e-secret-key",
            "DEBUG": "false",
            "DATABASE_URL": database,
            "REDIS_URL": redis if redis is not None else redis_url,
            **s3_settings(s3 or s3_server, TEST_BUCKET),
            "MEDIA_S3_PREFIX": f"e2e-{run}/",
            "MEDIA_REDIS_KEY_PREFIX": f"mctest-e2e-{run}",
            "MEDIA_CACHE_DIR": str(work / "cache"),
            "MEDIA_ORIGIN_DIR": str(work / "origin"),
            "STATIC_ROOT": str(work / "static"),
            "PUBLIC_BASE_URL": "http://media.example.test",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "8",
            "MEDIA_ORIGIN_TIMEOUT": "2",
            "LOG_LEVEL": "info",
            "MEDIA_PROCESS_CACHE_BYTES": "0",  # see the hot tier itself; test_process_cache.py turns it on
            **env,
        }
        server = GunicornServer(environment, log_path=work / "gunicorn.log")
        server.manage("migrate", "--noinput", "-v", "0")
        started.append(server.start())
        return MediaServer(server, work)

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def media_server(start_media_server) -> MediaServer:
    """One shared server for the read-only happy-path tests of a module."""
    return start_media_server()


class EdgeServer(MediaServer):
    """nginx (deploy/nginx/, as `make edge`) in front of a MediaServer; ``url`` is the edge's."""

    def __init__(self, app: MediaServer, nginx: NginxServer) -> None:
        super().__init__(app.gunicorn, app.work)
        self.app = app
        self.nginx = nginx
        self.url = nginx.url

    def log(self) -> str:
        return f"{self.app.log()}\n--- nginx ---\n{self.nginx.log()}"


@pytest.fixture(scope="module")
def start_edge(start_media_server, tmp_path_factory):
    """Factory: ``start_edge(edge_env={...}, upstreams=[...], **app_env)`` → an EdgeServer; all
    stopped at the end of the module. ``upstreams``: other app nodes the edge tries before this app."""
    started: list[NginxServer] = []

    def start(*, edge_env: dict[str, str] | None = None, upstreams: list[str] = (), **env: str) -> EdgeServer:
        app = start_media_server(**BEHIND_THE_EDGE, **env)
        nginx = NginxServer(app.gunicorn, tmp_path_factory.mktemp("edge"), upstreams=upstreams, **(edge_env or {}))
        started.append(nginx.start())
        return EdgeServer(app, nginx)

    yield start
    for nginx in started:
        nginx.stop()


@pytest.fixture(scope="module")
def edge(start_edge) -> EdgeServer:
    """One shared edge (and its app) for the read-only tests of a module."""
    return start_edge()


@pytest.fixture(scope="module", params=["direct", "edge"])
def served(request) -> MediaServer:
    """The HTTP-semantics tests run twice: against gunicorn itself and through the edge."""
    return request.getfixturevalue("media_server" if request.param == "direct" else "edge")


@pytest.fixture
def private_redis():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def private_s3():
    server = MotoS3Server().start()
    server.create_bucket(TEST_BUCKET)
    yield server
    server.stop()
