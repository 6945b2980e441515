"""The benchmark's non-throughput measurements: single-flight, worker memory, Redis memory,
and backfill speed. Each one is bounded in time and stops by itself."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import redis
import requests

from bench.stack import Stack
from tests.support.processes import peak_rss_growth
from tests.support.servers import PROJECT_ROOT

MiB = 1024 * 1024


def origin_gets_for_concurrent_misses(stack: Stack, clients: int = 50) -> int:
    """Origin GETs (counted by the S3 server itself) for ``clients`` simultaneous first requests."""
    row = stack.ingest({"single-flight": os.urandom(50 * 1024)})["single-flight"]
    url = f"{stack.servers['prod'].url}/media/{row['media_hash']}"
    barrier = threading.Barrier(clients)

    def fetch(_):
        barrier.wait(timeout=30)
        return requests.get(url, timeout=60).status_code

    stack.s3.start_recording()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        statuses = list(pool.map(fetch, range(clients)))
    recording = stack.s3.stop_recording()
    if statuses != [200] * clients:
        raise RuntimeError(f"single-flight probe got statuses {sorted(set(statuses))}")
    return sum(1 for entry in recording if entry["method"] == "GET" and row["sha256"] in entry["url"])


def rss_growth_while_downloading(stack: Stack, server: str, url: str, *, clients: int = 4) -> dict[str, float]:
    """Peak RSS growth of each worker of ``server`` while ``clients`` download ``url`` at once."""
    pids = stack.worker_pids(server)

    def download(_):
        received = 0
        with requests.get(url, stream=True, timeout=120) as response:
            response.raise_for_status()
            for chunk in response.iter_content(256 * 1024):
                received += len(chunk)
        return received

    started = time.monotonic()
    with peak_rss_growth(pids) as growth, ThreadPoolExecutor(max_workers=clients) as pool:
        sizes = list(pool.map(download, range(clients)))
    elapsed = time.monotonic() - started
    return {"max_worker_growth_mib": max(growth.values()) / MiB, "seconds": elapsed, "mib_per_client": sizes[0] / MiB}


def redis_memory_per_payload_byte(stack: Stack, objects: int = 1000, size: int = 50 * 1024) -> dict[str, float]:
    """Redis ``used_memory`` growth / payload bytes after ``objects`` objects enter the hot tier."""
    rows = stack.ingest({f"redis-{n}": os.urandom(size) for n in range(objects)})
    client = redis.Redis.from_url(stack.redis.url)
    before = client.info("memory")["used_memory"]
    server = stack.servers["redis"]
    with requests.Session() as session:
        for row in rows.values():
            session.get(f"{server.url}/media/{row['media_hash']}", timeout=30).raise_for_status()
    after = client.info("memory")["used_memory"]
    return {"objects": objects, "object_bytes": size, "ratio": (after - before) / (objects * size)}


def backfill_rows_per_second(stack: Stack, database_url: str, rows: int = 100_000) -> float:
    """``backfill_media_hashes`` on ``rows`` attachments without tokens, in a database of its own."""
    env = {**stack.servers["prod"].env, "DATABASE_URL": database_url, "MEDIA_CACHE_DIR": str(stack.work / "bf")}
    seed = stack.work / "seed.bin"
    seed.write_bytes(os.urandom(1024))
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "ingest_media", str(seed))
    _manage(
        env,
        "shell",
        "-c",
        "from chat.models import MessageAttachment as A; a = A.objects.first(); "
        f"A.objects.bulk_create([A(blob_id=a.blob_id, sha256=a.sha256, original_filename='x') for _ in range({rows})], "
        "batch_size=5000); A.objects.update(media_hash=None, short_url=None)",
    )
    output = _manage(env, "backfill_media_hashes", "--batch-size", "1000")
    match = re.search(r"backfilled (\d+) attachment\(s\).*\(([\d.]+) rows/s\)", output)
    if not match or int(match.group(1)) != rows + 1:
        raise RuntimeError(f"unexpected backfill output: {output!r}")
    return float(match.group(2))


def postgres_database_url() -> str | None:
    """A fresh PostgreSQL database for the backfill probe, when a local server answers."""
    base = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    name = f"mediacache_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(base, autocommit=True, connect_timeout=2) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:  # no PostgreSQL here: the probe runs on SQLite only
        return None
    return base.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(url: str) -> None:
    base = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed: {result.stderr}")
    return result.stdout


def big_object(stack: Stack, size: int = 200 * MiB) -> dict:
    """A 200 MiB object in the origin (written to disk in chunks, never held in memory)."""
    path = stack.work / "sources" / "big.bin"
    path.parent.mkdir(exist_ok=True)
    with open(path, "wb") as file:
        for _ in range(size // MiB):
            file.write(os.urandom(MiB))
    cold = {"MEDIA_CACHE_DIR": str(stack.work / "ingest-big")}
    output = stack.servers["prod"].manage("ingest_media", str(path), "--json", env=cold).stdout
    return json.loads(output)
