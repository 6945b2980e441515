"""`make edge`'s script on the embedded default: nginx in front of gunicorn on a unix socket,
serving an ingested file with every header; SIGTERM stops both and leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.test_make_run import SERVICE_VARIABLES
from tests.support.media import png_bytes
from tests.support.servers import PROJECT_ROOT, ServerProcess, wait_for_port

pytestmark = pytest.mark.e2e

CSP = "default-src 'none'; media-src 'self'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_edge_script_serves_an_ingested_file_through_nginx_and_stops_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES and k != "DJANGO_SETTINGS_MODULE"}
    edge = ServerProcess()
    env.update(
        {
            "PYTHON": sys.executable,
            "SECRET_KEY": "make-edge-test-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "MEDIA_CACHE_DIR": str(tmp_path / "cache"),
            "MEDIA_ORIGIN_DIR": str(tmp_path / "origin"),
            "STATIC_ROOT": str(tmp_path / "static"),
            "EDGE_DIR": str(tmp_path / "edge"),
            "EDGE_PORT": str(edge.port),
            "WEB_CONCURRENCY": "2",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{edge.port}",  # CONTRACT §1: short URLs point at the edge
        }
    )
    edge.spawn(["bash", "scripts/edge.sh"], env=env, log_path=tmp_path / "edge.log")
    try:
        wait_for_port(edge.port, timeout=90, process=edge.process)
        source = tmp_path / "first.png"
        source.write_bytes(png_bytes(10, 10))
        ingest = subprocess.run(
            [sys.executable, "manage.py", "ingest_media", str(source), "--json"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        row = json.loads(ingest.stdout)
        first = requests.get(row["short_url"], timeout=10)
        second = requests.get(row["short_url"] + "?timestamp=1", timeout=10)
        static = requests.get(f"http://127.0.0.1:{edge.port}/static/admin/css/base.css", timeout=10)
        processes = descendants(edge.process.pid)
        os.kill(edge.process.pid, signal.SIGTERM)
        status = edge.process.wait(timeout=60)
    finally:
        edge.stop()

    log = edge.log()
    assert row["short_url"] == f"http://127.0.0.1:{edge.port}/media/{row['media_hash']}"
    assert first.status_code == 200
    assert first.content == source.read_bytes()
    assert first.headers["Content-Type"] == "image/png"
    assert first.headers["ETag"] == f'"{row["sha256"]}"'
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.headers["Content-Security-Policy"] == CSP
    assert first.headers["Server"] == "nginx"
    assert (second.headers["X-Cache"], second.headers["X-Cache-Tier"]) == ("HIT", "edge")
    assert (static.status_code, static.headers["Content-Type"]) == (200, "text/css")
    assert "gunicorn.sock" in log
    assert "manage.py createsuperuser" in log
    assert len(processes) >= 5  # gunicorn master + 2 workers, nginx master + workers
    assert status == 0
    time.sleep(0.5)
    assert [pid for pid in processes if alive(pid)] == []
