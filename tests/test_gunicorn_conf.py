"""gunicorn.conf.py as gunicorn reads it: the production server settings `make run` uses."""

from __future__ import annotations

import os
import runpy
import shutil

import pytest
from gunicorn.config import Config

from tests.support.servers import PROJECT_ROOT


@pytest.fixture
def load(monkeypatch):
    """Read the config file with a private copy of the environment (it writes to os.environ)."""
    made_folders = []

    def read(**env: str) -> tuple[Config, dict]:
        environ = {k: v for k, v in os.environ.items() if k not in ("PORT", "BIND", "PROMETHEUS_MULTIPROC_DIR")}
        environ.update(env)
        monkeypatch.setattr(os, "environ", environ)
        namespace = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
        if namespace["_OWN_METRICS_DIR"]:
            made_folders.append(namespace["_OWN_METRICS_DIR"])
        config = Config()
        for name, value in namespace.items():
            if name in config.settings:
                config.set(name, value)
        return config, environ

    yield read
    for folder in made_folders:
        shutil.rmtree(folder, ignore_errors=True)


def test_sendfile_stays_on(load):
    # any value for gunicorn's `sendfile` setting means --no-sendfile: it must not be set at all
    config, _ = load()

    assert config.sendfile is True


def test_workers_threads_and_bind_come_from_the_environment(load):
    config, _ = load(PORT="8123", WEB_CONCURRENCY="3", GUNICORN_THREADS="4")

    assert (config.worker_class_str, config.workers, config.threads) == ("gthread", 3, 4)
    assert config.bind == ["127.0.0.1:8123"]
    assert config.settings["control_socket_disable"].get() is True


def test_a_fresh_metrics_folder_is_made_unless_one_is_given(load, tmp_path):
    _, fresh = load()
    _, given = load(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))

    assert os.path.isdir(fresh["PROMETHEUS_MULTIPROC_DIR"])
    assert fresh["PROMETHEUS_MULTIPROC_DIR"] != str(tmp_path)
    assert given["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)


def test_without_web_concurrency_there_is_one_worker_per_usable_cpu(load):
    from mediacache_project.sizing import available_cpus

    config, _ = load(WEB_CONCURRENCY="")

    assert config.workers == available_cpus()
    assert config.workers == min(len(os.sched_getaffinity(0)), available_cpus())
