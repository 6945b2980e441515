"""CONTRACT §5: every command exits non-zero with one clear line on bad input (real processes)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.servers import PROJECT_ROOT


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["backfill_media_hashes", "--batch-size", "abc"], "--batch-size"),
        (["cleanup_media", "--days", "soon"], "--days"),
        (["cache_admin"], "{stats,clear,flush}"),
        (["cache_admin", "clear"], "prefix"),
        (["ingest_media"], "PATH"),
        (["apply_s3_lifecycle", "--days", "x"], "--days"),
    ],
)
def test_bad_arguments_are_one_line_and_a_non_zero_exit(tmp_path, args, mentions):
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "SECRET_KEY": "x",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0
    assert len(lines) == 1, result.stderr
    assert mentions in lines[0]
