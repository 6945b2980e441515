"""deploy/grafana/mediacache.json and deploy/prometheus/scrape.yml against what /metrics really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = PROJECT_ROOT / "deploy" / "grafana" / "mediacache.json"
SCRAPE = PROJECT_ROOT / "deploy" / "prometheus" / "scrape.yml"
API_TOKEN = "dashboard-test-token"
# the series a family of each type exposes (prometheus-client naming)
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}
# every metric the issue asks the dashboard to show
REQUIRED = {
    "mediacache_media_requests_total",
    "mediacache_media_bytes_served_total",
    "mediacache_media_request_seconds_bucket",
    "mediacache_origin_calls_total",
    "mediacache_origin_errors_total",
    "mediacache_downloads_total",
    "mediacache_download_retries_total",
    "mediacache_negative_cache_hits_total",
}


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def queries(board: dict) -> list[str]:
    """Every PromQL expression: panel targets (rows included) and templating queries."""
    found = []

    def walk(panels):
        for panel in panels:
            found.extend(target["expr"] for target in panel.get("targets", []) if target.get("expr"))
            walk(panel.get("panels", []))

    walk(board["panels"])
    for variable in board["templating"]["list"]:
        query = variable.get("query")
        if variable["type"] == "query":
            found.append(query["query"] if isinstance(query, dict) else query)
    return found


def queried_metric_names(expressions: list[str]) -> set[str]:
    """Selectors: a name followed by ``{`` or ``[``, and any ``mediacache_…`` name at all."""
    names = set()
    for expression in expressions:
        names.update(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{\[]", expression))
        names.update(re.findall(r"\bmediacache_[a-z0-9_]+", expression))
    return names - {"by", "without", "on", "ignoring", "group_left", "group_right"}


@pytest.fixture
def exported(client, settings) -> set[str]:
    """Series names of the real ``GET /metrics`` answer (through the operator auth)."""
    settings.MEDIA_API_TOKEN = API_TOKEN
    response = client.get("/metrics", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code == 200
    names = set()
    for family in text_string_to_metric_families(response.content.decode()):
        names.update(f"{family.name}{suffix}" for suffix in SUFFIXES[family.type])
    return names


@pytest.mark.django_db
def test_every_metric_the_dashboard_queries_is_exported(exported):
    queried = queried_metric_names(queries(dashboard()))
    assert queried  # the parse found the queries
    assert sorted(queried - exported) == []


def test_the_dashboard_shows_everything_the_issue_asks_for():
    assert queried_metric_names(queries(dashboard())) >= REQUIRED
    titles = {panel["title"] for panel in dashboard()["panels"]}
    for title in (
        "Requests/s by tier",
        "Requests/s by status",
        "Hit ratio over time",
        "Bytes served/s by tier",
        "Origin calls and errors/s",
        "Latency percentiles",
        "Downloads/s by outcome",
        "Download retries/s",
        "Negative-cache hits/s",
    ):
        assert title in titles


def test_the_dashboard_imports_with_a_chosen_prometheus():
    board = dashboard()
    assert board["uid"] == "mediacache"
    assert board["templating"]["list"][0] == {
        "name": "datasource",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "refresh": 1,
    }
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert all(target["datasource"] == panel["datasource"] for target in panel["targets"])
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))


def test_the_dashboard_panels_do_not_overlap():
    taken = set()
    for panel in dashboard()["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        cells = {
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, panel["title"]
        taken |= cells


def test_the_scrape_config_reads_metrics_with_the_bearer_token():
    config = yaml.safe_load(SCRAPE.read_text())
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "mediacache"
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"
    assert job["authorization"]["credentials_file"]
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:8000"]
