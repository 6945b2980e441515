"""The system under benchmark: Redis, a moto S3 server and four gunicorn servers.

All four servers run ``gunicorn.conf.py`` exactly as ``make run`` does (gthread workers, one
per core, 8 threads each, sendfile on) against the same database, Redis and bucket; they
differ only in which cache tiers they may use, so each tier can be measured on its own:

- ``prod``   — production defaults: per-worker process cache → Redis → disk → S3
- ``redis``  — process cache off: every hot hit is a Redis GET
- ``disk``   — process cache off and no object small enough for Redis: disk hits (sendfile)
- ``origin`` — ``ENABLE_CACHING=false``: every request streams from S3
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import children_of
from tests.support.servers import TEST_BUCKET, GunicornServer, MotoS3Server, RedisServer, s3_settings

VARIANTS = {
    "prod": {},
    "redis": {"MEDIA_PROCESS_CACHE_BYTES": "0"},
    "disk": {"MEDIA_PROCESS_CACHE_BYTES": "0", "MEDIA_REDIS_MAX_OBJECT_BYTES": "0"},
    "origin": {"ENABLE_CACHING": "false"},
}


@dataclass
class Stack:
    work: Path
    redis: RedisServer = field(default_factory=RedisServer)
    s3: MotoS3Server = field(default_factory=MotoS3Server)
    servers: dict[str, GunicornServer] = field(default_factory=dict)

    def base_env(self) -> dict[str, str]:
        return {
            "SECRET_KEY": "bench-secret-key",
            "DATABASE_URL": f"sqlite:///{self.work / 'db.sqlite3'}",
            "REDIS_URL": self.redis.url,
            **s3_settings(self.s3, TEST_BUCKET),
            "MEDIA_S3_PREFIX": "bench/",
            "BENCH_FLOOR_DIR": str(self.work / "floor"),
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "LOG_LEVEL": "warning",
            "STATIC_ROOT": str(self.work / "static"),
            "UPLOAD_MAX_BYTES": str(1024**3),  # the 200 MiB memory probe
        }

    def start(self) -> Stack:
        (self.work / "floor").mkdir(parents=True, exist_ok=True)
        self.redis.start()
        self.s3.start()
        self.s3.create_bucket(TEST_BUCKET)
        for name, overrides in VARIANTS.items():
            env = {**self.base_env(), "MEDIA_CACHE_DIR": str(self.work / f"cache-{name}"), **overrides}
            self.servers[name] = GunicornServer(env, log_path=self.work / f"gunicorn-{name}.log")
        self.servers["prod"].manage("migrate", "--noinput", "-v", "0")
        for server in self.servers.values():
            server.start()
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.s3.stop()
        self.redis.stop()

    def ingest(self, payloads: dict[str, bytes]) -> dict[str, dict]:
        """Store payloads with ``manage.py ingest_media`` (one process); every server starts cold."""
        paths = []
        for name, payload in payloads.items():
            path = self.work / "sources" / f"{name}.bin"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(payload)
            paths.append(str(path))
        cold = {"MEDIA_CACHE_DIR": str(self.work / f"ingest-{uuid.uuid4().hex[:6]}")}
        result = self.servers["prod"].manage("ingest_media", *paths, "--json", env=cold)
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        return dict(zip(payloads, rows, strict=True))

    def worker_pids(self, name: str) -> list[int]:
        """The gunicorn workers of a server: the processes whose parent is its master."""
        return children_of(self.servers[name].process.pid)


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        "unknown CPU",
    )
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line)
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory_gib": f"{int(memory) / 1024**2:.0f}"}
