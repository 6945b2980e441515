"""The default ``PUBLIC_BASE_URL`` follows ``PORT``; an explicit value always wins (CONTRACT §2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PRINT_BASE = "from mediacache_project import settings; print(settings.PUBLIC_BASE_URL)"


def resolved_base(**variables: str) -> subprocess.CompletedProcess:
    """The real settings module in a fresh interpreter, with only ``variables`` of ours set."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PORT", "PUBLIC_BASE_URL", "DJANGO_SETTINGS_MODULE")}
    environ.update({"SECRET_KEY": "a-secret-for-the-base-url-tests", **variables})
    return subprocess.run(
        [sys.executable, "-c", PRINT_BASE],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_port_the_base_is_the_make_run_default():
    result = resolved_base()
    assert result.returncode == 0, result.stderr
    assert result.stdout == "http://127.0.0.1:8000\n"


def test_the_default_base_follows_port():
    result = resolved_base(PORT="8555")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "http://127.0.0.1:8555\n"


@pytest.mark.parametrize("port", ["8555", ""])
def test_an_explicit_public_base_url_wins_over_port(port):
    result = resolved_base(PORT=port, PUBLIC_BASE_URL="https://media.example.com/")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "https://media.example.com\n"


@pytest.mark.parametrize("port", ["eighty", "0", "65536"])
def test_a_bad_port_stops_start_up_with_one_line(port):
    result = resolved_base(PORT=port)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"mediacache: invalid PORT='{port}'")
