"""Production hygiene (issue 11, item 8): check --deploy is clean with the documented settings,
start-up errors never print a password, migrations at start take turns, and production never
installs the test tools."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import PROJECT_ROOT

SECRET = "a-production-secret-" + "x" * 40


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DEBUG")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def test_check_deploy_is_clean_with_the_documented_production_settings():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=SECRET, DEBUG="false", HTTPS_ONLY="true",
        BEHIND_PROXY="true",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_without_https_only_check_deploy_says_what_is_missing():
    result = manage("check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=SECRET, DEBUG="false")

    assert result.returncode != 0
    assert "security.W008" in result.stderr  # SECURE_SSL_REDIRECT


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("DATABASE_URL", "postgres://admin:hunter2@db:notaport/app", "'postgres://***@db:notaport/app'"),
        ("REDIS_URL", "http://default:hunter2@cache:6379/0", "'http://***@cache:6379/0'"),
        ("CELERY_BROKER_URL", "ftp://guest:hunter2@mq//", "'ftp://***@mq//'"),
    ],
)
def test_a_bad_url_is_reported_without_its_password(name, value, shown):
    result = manage("check", SECRET_KEY=SECRET, **{name: value})

    assert result.returncode != 0
    assert f"invalid {name}={shown}" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_nodes_starting_together_migrate_in_turn(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)} | {
        "SECRET_KEY": SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
    }
    starts = [
        subprocess.Popen(
            [sys.executable, "manage.py", "migrate_locked", "-v", "0"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(process.wait(timeout=180), process.stderr.read()) for process in starts]

    assert [code for code, _err in results] == [0, 0, 0], results
    shown = manage("showmigrations", "--plan", SECRET_KEY=SECRET, DATABASE_URL=env["DATABASE_URL"])
    assert "[ ]" not in shown.stdout


def test_migrate_on_start_false_leaves_migrating_to_the_release_step(tmp_path):
    database = f"sqlite:///{tmp_path / 'untouched.sqlite3'}"

    skipped = manage("migrate_locked", SECRET_KEY=SECRET, DATABASE_URL=database, MIGRATE_ON_START="false")
    forced = manage("migrate_locked", "--force", "-v", "0", SECRET_KEY=SECRET, DATABASE_URL=database,
                    MIGRATE_ON_START="false")  # fmt: skip

    assert skipped.returncode == 0
    assert "MIGRATE_ON_START=false: not migrating" in skipped.stdout
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "untouched.sqlite3").stat().st_size > 0


TEST_TOOLS = ("pytest", "pytest-django", "pytest-timeout", "hypothesis", "pytest-httpserver", "moto", "ruff")


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(line.split("==", 1)[0].split("[", 1)[0].strip().lower())
    return names


def test_production_installs_no_test_tools_and_make_test_installs_both():
    runtime = requirement_names(PROJECT_ROOT / "requirements.txt")
    dev = requirement_names(PROJECT_ROOT / "requirements-dev.txt")
    targets = {
        line.split(":", 1)[0]: line.split(":", 1)[1].split()
        for line in (PROJECT_ROOT / "Makefile").read_text().splitlines()
        if line and not line[0].isspace() and ":" in line and "=" not in line.split(":", 1)[0]
    }

    assert runtime.isdisjoint(TEST_TOOLS)
    assert set(TEST_TOOLS) <= dev
    assert "-r requirements.txt" in (PROJECT_ROOT / "requirements-dev.txt").read_text()
    assert targets["run"] == ["install"]
    assert targets["test"] == ["install-dev"]
    assert targets["$(DEV_STAMP)"] == ["$(STAMP)", "requirements-dev.txt"]
