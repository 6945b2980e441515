"""REDIS_SENTINELS / REDIS_CLUSTER_NODES / …: parsing, the configurations built from them, start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from media_store.tiers.connections import RedisTopology, parse_host_ports, startup_line
from mediacache_project.env import Env
from mediacache_project.services import caches_for

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REDIS_VARIABLES = (
    "REDIS_URL",
    "REDIS_SENTINELS",
    "REDIS_SENTINEL_MASTER",
    "REDIS_CLUSTER_NODES",
    "REDIS_PASSWORD",
    "REDIS_SENTINEL_PASSWORD",
    "REDIS_DB",
    "CELERY_BROKER_URL",
    "DJANGO_SETTINGS_MODULE",
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a:26379", [("a", 26379)]),
        (" a:1 , b.example:2 ,", [("a", 1), ("b.example", 2)]),
        ("[::1]:26380,10.0.0.1:7000", [("::1", 26380), ("10.0.0.1", 7000)]),
    ],
)
def test_host_ports_are_parsed(value, expected):
    assert parse_host_ports(value) == expected


@pytest.mark.parametrize("value", ["a", "a:", ":1", "a:b", "a:0", "a:70000", ",", "a:1,b"])
def test_a_bad_host_port_list_is_one_error_naming_the_variable(value):
    env = Env({"REDIS_SENTINELS": value})

    assert env.host_ports("REDIS_SENTINELS") == []
    assert len(env.errors) == 1
    assert env.errors[0].startswith(f"invalid REDIS_SENTINELS={value!r}: expected host:port pairs")


def test_only_one_way_to_reach_redis_may_be_set():
    with pytest.raises(ValueError, match="set only one of REDIS_URL, REDIS_SENTINELS"):
        RedisTopology.build(url="redis://x:1/0", sentinels=[("a", 1)])


def test_a_cluster_has_only_db_zero():
    with pytest.raises(ValueError, match="REDIS_DB=2 cannot be used with REDIS_CLUSTER_NODES"):
        RedisTopology.build(nodes=[("a", 1)], db=2)


def test_sentinel_needs_a_service_name():
    with pytest.raises(ValueError, match="REDIS_SENTINEL_MASTER is empty"):
        RedisTopology.build(sentinels=[("a", 1)], master="")


def test_the_description_never_carries_passwords():
    topology = RedisTopology.build(
        sentinels=[("s1", 26379), ("::1", 26380)], master="prod", password="p4ss", sentinel_password="s3nt", db=3
    )

    assert topology.describe() == "redis sentinel master=prod db=3 sentinels=s1:26379,[::1]:26380"


def test_sentinel_cache_reads_and_writes_the_primary_only():
    topology = RedisTopology.build(sentinels=[("s1", 26379)], master="prod", password="p", sentinel_password="s", db=2)
    entry = caches_for(topology)["default"]

    assert entry["LOCATION"] == ["redis://prod/2?is_master=1"]
    assert entry["OPTIONS"]["CLIENT_CLASS"] == "django_redis.client.SentinelClient"
    assert entry["OPTIONS"]["CONNECTION_FACTORY"] == "django_redis.pool.SentinelConnectionFactory"
    assert entry["OPTIONS"]["SENTINELS"] == [["s1", 26379]]
    assert entry["OPTIONS"]["SENTINEL_KWARGS"]["password"] == "s"
    assert entry["OPTIONS"]["SENTINEL_KWARGS"]["retry"] is None  # the next sentinel is the retry
    assert entry["OPTIONS"]["PASSWORD"] == "p"
    assert entry["OPTIONS"]["SERIALIZER"] == "media_store.tiers.signed.SignedPickleSerializer"


def test_cluster_cache_uses_the_cluster_client():
    entry = caches_for(RedisTopology.build(nodes=[("n1", 7000), ("n2", 7001)]))["default"]

    assert entry["OPTIONS"]["CLIENT_CLASS"] == "media_store.tiers.cluster_cache.ClusterClient"
    assert entry["OPTIONS"]["STARTUP_NODES"] == [["n1", 7000], ["n2", 7001]]


def test_celery_over_sentinel_uses_kombus_sentinel_transport():
    topology = RedisTopology.build(
        sentinels=[("s1", 1), ("s2", 2)], master="prod", password="p@ss/w", sentinel_password="s"
    )

    url, options = topology.celery_broker()

    assert url == "sentinel://:p%40ss%2Fw@s1:1/0;sentinel://:p%40ss%2Fw@s2:2/0"
    assert options == {"master_name": "prod", "sentinel_kwargs": {"retry": None, "password": "s"}}


def test_a_cluster_is_no_celery_broker():
    assert RedisTopology.build(nodes=[("n1", 7000)]).celery_broker() == ("", {})


# --- the real settings, in a subprocess -------------------------------------------------------


def settings_of(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in REDIS_VARIABLES}
    environ.update(
        SECRET_KEY="redis-topology-tests",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        MEDIA_CACHE_DIR=str(tmp_path / "cache"),
        STATIC_ROOT=str(tmp_path / "static"),
        **variables,
    )
    code = (
        "import json; from django.conf import settings as s; from media_store.tiers.connections import startup_line;"
        "print(json.dumps({'broker': s.CELERY_BROKER_URL, 'eager': s.CELERY_TASK_ALWAYS_EAGER,"
        "'transport': getattr(s, 'CELERY_BROKER_TRANSPORT_OPTIONS', None),"
        "'backend': getattr(s, 'CELERY_RESULT_BACKEND', None), 'kind': s.REDIS_TOPOLOGY.kind,"
        "'client': s.CACHES['default'].get('OPTIONS', {}).get('CLIENT_CLASS'), 'line': startup_line(s)}))"
    )
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_settings_wire_sentinel_into_the_cache_and_celery(tmp_path):
    result = settings_of(tmp_path, REDIS_SENTINELS="127.0.0.1:26379,127.0.0.1:26380", REDIS_SENTINEL_MASTER="prod")
    found = json.loads(result.stdout)

    assert result.returncode == 0, result.stderr
    assert found == {
        "broker": "sentinel://127.0.0.1:26379/0;sentinel://127.0.0.1:26380/0",
        "eager": False,
        "transport": {"master_name": "prod", "sentinel_kwargs": {"retry": None}},
        "backend": "sentinel://127.0.0.1:26379/0;sentinel://127.0.0.1:26380/0",
        "kind": "sentinel",
        "client": "django_redis.client.SentinelClient",
        "line": "mediacache: redis sentinel master=prod db=0 sentinels=127.0.0.1:26379,127.0.0.1:26380",
    }


def test_settings_with_a_cluster_run_tasks_inline_and_say_so(tmp_path):
    result = settings_of(tmp_path, REDIS_CLUSTER_NODES="127.0.0.1:7000")
    found = json.loads(result.stdout)

    assert result.returncode == 0, result.stderr
    assert found["broker"] == ""
    assert found["eager"] is True
    assert found["client"] == "media_store.tiers.cluster_cache.ClusterClient"
    assert found["line"] == (
        "mediacache: redis cluster nodes=127.0.0.1:7000; Celery cannot use a Redis Cluster as "
        "broker and CELERY_BROKER_URL is not set: tasks run inline in the web process"
    )


def test_settings_with_a_cluster_and_a_broker_use_the_broker(tmp_path):
    found = json.loads(
        settings_of(tmp_path, REDIS_CLUSTER_NODES="127.0.0.1:7000", CELERY_BROKER_URL="amqp://rabbit:5672//").stdout
    )

    assert (found["broker"], found["eager"], found["line"]) == (
        "amqp://rabbit:5672//",
        False,
        "mediacache: redis cluster nodes=127.0.0.1:7000",
    )


@pytest.mark.parametrize(
    ("variables", "line"),
    [
        (
            {"REDIS_URL": "redis://127.0.0.1:6379/0", "REDIS_SENTINELS": "a:1"},
            "mediacache: set only one of REDIS_URL, REDIS_SENTINELS: they are alternative ways to reach Redis",
        ),
        (
            {"REDIS_CLUSTER_NODES": "a:1", "REDIS_DB": "1"},
            "mediacache: REDIS_DB=1 cannot be used with REDIS_CLUSTER_NODES: a Redis Cluster has only db 0",
        ),
        (
            {"REDIS_SENTINELS": "nohost"},
            "mediacache: invalid REDIS_SENTINELS='nohost': expected host:port pairs separated by commas "
            "('nohost' is not host:port)",
        ),
    ],
)
def test_contradicting_or_bad_redis_variables_stop_start_up_with_one_line(tmp_path, variables, line):
    result = settings_of(tmp_path, **variables)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [line]


def test_no_redis_says_nothing_at_start_up():
    class Conf:
        REDIS_TOPOLOGY = RedisTopology()

    assert startup_line(Conf) == ""
