"""Fixtures for tests that download from a real local HTTP server (URL ingest, its API and command).

Registered for the whole suite by ``pytest_plugins`` in the root conftest.
"""

from __future__ import annotations

import pytest

from media_store.fetch import urls as url_ingest
from tests.support.http import LocalHTTPServer


@pytest.fixture
def server():
    with LocalHTTPServer() as running:
        yield running


@pytest.fixture
def allow_private(settings):
    """The local server is on 127.0.0.1: let the downloader reach it."""
    settings.DOWNLOAD_ALLOW_PRIVATE_NETWORKS = True
    return settings


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Waits the retry policy asked for; nothing really sleeps."""
    recorded: list[float] = []
    monkeypatch.setattr(url_ingest, "sleep", recorded.append)
    return recorded
