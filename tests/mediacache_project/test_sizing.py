"""Worker count from the CPUs we may use; PostgreSQL connections bounded by the psycopg pool."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mediacache_project.services import DEFAULT_POOL_MAX_SIZE, database_for
from mediacache_project.sizing import affinity_cpus, available_cpus, cgroup_cpu_quota


def cgroup(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_affinity_is_the_cpus_we_may_run_on():
    assert affinity_cpus() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("files", "quota"),
    [
        ({"cpu.max": "150000 100000\n"}, 1.5),  # cgroup v2, docker --cpus=1.5
        ({"cpu.max": "max 100000\n"}, None),  # v2 unlimited
        ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2.0),  # v1
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # v1 unlimited
        ({"cpu.max": "garbage\n"}, None),
        ({}, None),  # no cgroup files at all (not Linux, or not mounted)
    ],
)
def test_cgroup_quota_is_read_from_v1_and_v2_files(tmp_path, files, quota):
    assert cgroup_cpu_quota(cgroup(tmp_path, files)) == quota


@pytest.mark.parametrize(
    ("affinity", "files", "workers"),
    [
        (64, {"cpu.max": "200000 100000"}, 2),  # a 2-CPU container on a 64-core host
        (64, {"cpu.max": "150000 100000"}, 2),  # 1.5 CPUs: round up, the threads wait on I/O
        (4, {"cpu.max": "800000 100000"}, 4),  # affinity is the tighter bound
        (8, {}, 8),
        (1, {"cpu.max": "10000 100000"}, 1),  # never zero workers
    ],
)
def test_workers_follow_the_tighter_of_affinity_and_quota(tmp_path, affinity, files, workers):
    assert available_cpus(cgroup(tmp_path, files), affinity=affinity) == workers


def test_postgres_gets_a_bounded_pool_and_no_persistent_connections(tmp_path):
    config = database_for("postgres://app@db.example:5432/media", tmp_path)

    assert config["CONN_MAX_AGE"] == 0
    assert config["CONN_HEALTH_CHECKS"] is True
    assert config["OPTIONS"]["pool"] == {
        "min_size": 1,
        "max_size": DEFAULT_POOL_MAX_SIZE,
        "timeout": 10.0,
        "reconnect_timeout": 5.0,  # a lost connection's back-off ends early: see POOL_RECONNECT_SECONDS
    }


def test_the_default_keeps_three_nodes_of_eight_cores_under_postgres_default_limit():
    nodes, workers_per_node, postgres_max_connections = 3, 8, 100
    assert nodes * workers_per_node * DEFAULT_POOL_MAX_SIZE == 72
    assert nodes * workers_per_node * DEFAULT_POOL_MAX_SIZE < postgres_max_connections - 3  # superuser_reserved


def test_pool_size_zero_keeps_persistent_connections(tmp_path):
    config = database_for("postgres://app@db.example:5432/media", tmp_path, pool_max_size=0)

    assert config["CONN_MAX_AGE"] == 60
    assert "pool" not in config.get("OPTIONS", {})


def test_sqlite_has_no_pool(tmp_path):
    config = database_for("sqlite:///db.sqlite3", tmp_path)

    assert "pool" not in config["OPTIONS"]
