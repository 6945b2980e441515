"""Operator endpoints on a real multi-worker gunicorn: metrics add up across workers."""

from __future__ import annotations

import re

import pytest
import requests

from tests.support.media import random_bytes

pytestmark = pytest.mark.e2e

TOKEN = "e2e-operator-token"


@pytest.fixture(scope="module")
def metrics_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("metrics")


@pytest.fixture(scope="module")
def operated_server(start_media_server, metrics_dir):
    return start_media_server(MEDIA_API_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))


def counter_total(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{key}="{value}"' in match.group(1) for key, value in labels.items()):
            total += float(match.group(2))
    return total


def pids_with_counters(folder) -> set[str]:
    """Processes that have written counters (multiprocess mode keeps one file per process)."""
    return {path.stem.rsplit("_", 1)[-1] for path in folder.glob("counter_*.db")}


def test_metrics_sum_requests_over_all_workers(operated_server, metrics_dir):
    item = operated_server.ingest(random_bytes(5000), "m.bin")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = requests.get(f"{operated_server.url}/metrics", headers=auth, timeout=10).text
    counting_before = pids_with_counters(metrics_dir)  # the ingest command counted its origin PUT

    for _ in range(40):  # a new connection each time: gunicorn spreads them over both workers
        with requests.Session() as session:
            response = session.get(operated_server.url + item.path, timeout=10)
            assert response.status_code == 200
    after = requests.get(f"{operated_server.url}/metrics", headers=auth, timeout=10)
    workers_counting = pids_with_counters(metrics_dir) - counting_before

    served = counter_total(after.text, "mediacache_media_requests_total", status="200")
    served -= counter_total(before, "mediacache_media_requests_total", status="200")
    assert after.status_code == 200
    assert after.headers["Content-Type"].startswith("text/plain")
    assert served == 40
    assert counter_total(after.text, "mediacache_origin_calls_total", operation="get") >= 1
    assert len(workers_counting) == 2  # both workers served and counted; /metrics merged them


def test_operator_endpoints_refuse_anonymous_callers(operated_server):
    for method, path in [("get", "/metrics"), ("get", "/media/stats"), ("post", "/media/cleanup")]:
        response = getattr(requests, method)(operated_server.url + path, timeout=10)
        assert (path, response.status_code) == (path, 401)


def test_stats_and_cleanup_with_the_bearer_token(operated_server):
    auth = {"Authorization": f"Bearer {TOKEN}"}

    stats = requests.get(f"{operated_server.url}/media/stats", headers=auth, timeout=10).json()
    cleanup = requests.post(f"{operated_server.url}/media/cleanup", headers=auth, timeout=10).json()

    assert stats["status"] == "success"
    assert stats["hot_tier"]["backend"] == "redis"
    assert cleanup["status"] == "success"
    assert cleanup["message"] == "Old media cleanup completed"
