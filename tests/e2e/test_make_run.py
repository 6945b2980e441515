"""`make run`'s script on the embedded default: no Redis, no S3 — SQLite and folders only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import requests

from tests.support.media import png_bytes
from tests.support.servers import PROJECT_ROOT, ServerProcess, wait_for_port

SERVICE_VARIABLES = (
    "REDIS_URL",
    "MEDIA_STORAGE",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "DATABASE_URL",
    "PUBLIC_BASE_URL",
)


@pytest.fixture
def embedded_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES and k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        {
            "PYTHON": sys.executable,
            "SECRET_KEY": "make-run-test-secret",
            # only the locations move to tmp_path, so the test leaves the project's var/ alone
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "MEDIA_CACHE_DIR": str(tmp_path / "cache"),
            "MEDIA_ORIGIN_DIR": str(tmp_path / "origin"),
            "STATIC_ROOT": str(tmp_path / "static"),
        }
    )
    return env


def test_run_script_migrates_prints_the_hints_and_serves_an_ingested_file(embedded_env, tmp_path):
    server = ServerProcess()
    embedded_env["PORT"] = str(server.port)
    server.spawn(["bash", "scripts/run.sh"], env=embedded_env, log_path=tmp_path / "run.log")
    try:
        wait_for_port(server.port, timeout=60, process=server.process)
        source = tmp_path / "first.png"
        source.write_bytes(png_bytes(10, 10))
        ingest = subprocess.run(
            [sys.executable, "manage.py", "ingest_media", str(source), "--json"],
            cwd=PROJECT_ROOT,
            env=embedded_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        row = json.loads(ingest.stdout)
        response = _get_when_ready(f"http://127.0.0.1:{server.port}/media/{row['media_hash']}")
    finally:
        server.stop()

    log = server.log()
    assert "manage.py createsuperuser" in log
    assert "manage.py ingest_media" in log
    # PORT alone moves the short URLs with the server (no PUBLIC_BASE_URL set), and the banner says so
    assert f"short URLs use:         http://127.0.0.1:{server.port}/media/<token>" in log
    assert row["short_url"] == f"http://127.0.0.1:{server.port}/media/{row['media_hash']}"
    assert response.status_code == 200
    assert response.content == source.read_bytes()
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Cache"] == "HIT"  # the ingest warmed the disk tier
    assert (tmp_path / "origin").is_dir()
    assert (tmp_path / "static" / "admin").is_dir()
    # /api/docs/ (Swagger UI) is served from collected static files, never from a CDN
    assert (tmp_path / "static" / "drf_spectacular_sidecar" / "swagger-ui-dist" / "swagger-ui-bundle.js").is_file()


def _get_when_ready(url: str) -> requests.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return requests.get(url, timeout=5)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
