"""The database goes away under a running gunicorn: 503 + Retry-After, never Django's HTML 500.

A throwaway PostgreSQL (``tests/support/postgres.py``) is stopped for real while the server runs,
then started again: the next requests succeed without restarting anything.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from mediacache_project.services import POOL_RECONNECT_SECONDS
from tests.support.media import png_bytes
from tests.support.postgres import Postgres, binaries

pytestmark = pytest.mark.e2e

API_TOKEN = "database-outage-token"


@pytest.fixture(scope="module")
def postgres():
    try:
        binaries()
    except RuntimeError as missing:
        pytest.skip(f"needs PostgreSQL's server binaries: {missing}")
    # not under pytest's tmp folders: those are root-only, and the cluster runs as ``postgres``
    folder = Path(tempfile.mkdtemp(prefix="mediacache-pg-"))
    server = Postgres(folder / "cluster").start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


def upload(server) -> requests.Response:
    return requests.post(
        f"{server.url}/api/attachments/",
        files={"file": ("red.png", png_bytes(), "image/png")},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=30,
    )


def recovered_upload(server, within: float):
    """The first upload that is not refused after the database is back, and how many seconds
    after it came back that was.

    Retried every 0.2 s: right after the outage a request may still find the pool waiting out a
    failed attempt's back-off (at most ``POOL_RECONNECT_SECONDS`` in all) and get the tidy 503."""
    back = time.monotonic()
    deadline = back + within
    answer = upload(server)
    while answer.status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.2)
        answer = upload(server)
    return answer, time.monotonic() - back


def test_requests_during_a_database_outage_get_503_and_service_resumes_after_it(start_media_server, postgres):
    server = start_media_server(DATABASE_URL=postgres.url, MEDIA_API_TOKEN=API_TOKEN, MEDIA_TOKEN_CACHE_SECONDS="0")
    stored = upload(server)
    assert stored.status_code == 201, stored.text

    postgres.halt()
    try:
        # both at once: each waits out the pool's timeout (10 s) for a connection
        with ThreadPoolExecutor(2) as pool:
            uploading = pool.submit(upload, server)
            media = pool.submit(requests.get, f"{server.url}/media/{stored.json()['media_hash']}", timeout=30)
            during, media = uploading.result(), media.result()
    finally:
        postgres.resume()
    after, seconds = recovered_upload(server, within=POOL_RECONNECT_SECONDS)
    print(f"database outage: first upload stored {seconds:.1f} s after PostgreSQL was back")

    assert (during.status_code, during.headers["Retry-After"]) == (503, "30")
    assert during.json() == {
        "status": "error",
        "reason": "unavailable",
        "detail": "the database is unavailable; retry later",
    }
    assert (media.status_code, media.headers["Content-Type"]) == (503, "text/plain; charset=utf-8")
    assert media.headers["Cache-Control"] == "no-store"
    assert "sandbox" in media.headers["Content-Security-Policy"]
    assert after.status_code == 201, after.text
    assert seconds <= POOL_RECONNECT_SECONDS + 3  # not the default back-off's 8–16 s (+3: one slow upload)
    assert "Traceback" not in server.log()
