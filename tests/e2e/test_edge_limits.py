"""What the edge refuses itself looks like what the app refuses: a body over the upload limit."""

from __future__ import annotations

import pytest
import requests

from tests.support.media import random_bytes

pytestmark = pytest.mark.e2e

API_TOKEN = "limits-token"
LIMIT = 65536


def test_a_body_far_over_the_limit_gets_the_apps_json_413_from_the_edge(start_edge):
    edge = start_edge(MEDIA_API_TOKEN=API_TOKEN, UPLOAD_MAX_BYTES=str(LIMIT))
    headers = {"Authorization": f"Bearer {API_TOKEN}"}

    response = requests.post(
        f"{edge.url}/api/attachments/", files={"file": ("big.bin", random_bytes(1024 * 1024))}, headers=headers
    )

    assert response.status_code == 413, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json() == {
        "detail": f"the request body is larger than the limit of {LIMIT} bytes",
        "code": "too_large",
    }
    refused = edge.nginx.logged('"POST /api/attachments/')
    assert refused[-1].endswith("upstream=-")  # refused before the app saw a byte


def test_a_body_just_over_the_limit_is_refused_by_the_app_with_the_same_code(start_edge):
    edge = start_edge(MEDIA_API_TOKEN=API_TOKEN, UPLOAD_MAX_BYTES=str(LIMIT))
    headers = {"Authorization": f"Bearer {API_TOKEN}"}

    response = requests.post(
        f"{edge.url}/api/attachments/", files={"file": ("big.bin", random_bytes(LIMIT + 1))}, headers=headers
    )

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
