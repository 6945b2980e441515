"""``DatabaseUnavailableMiddleware``: which errors become a 503, and in what shape (the real
outage, a stopped PostgreSQL under gunicorn, is ``tests/e2e/test_database_outage.py``)."""

from __future__ import annotations

import json

from django.db import InterfaceError, OperationalError
from django.test import RequestFactory

from mediacache_project.middleware import DatabaseUnavailableMiddleware

middleware = DatabaseUnavailableMiddleware(lambda request: None)


def test_a_lost_connection_on_an_api_path_is_a_json_503():
    response = middleware.process_exception(RequestFactory().post("/api/attachments/"), OperationalError("gone"))

    assert (response.status_code, response["Retry-After"], response["Cache-Control"]) == (503, "30", "no-store")
    assert json.loads(response.content)["reason"] == "unavailable"


def test_under_media_it_is_the_tiny_text_503_with_the_media_headers():
    response = middleware.process_exception(RequestFactory().get("/media/" + "a" * 32), InterfaceError("closed"))

    assert (response.status_code, response["Content-Type"]) == (503, "text/plain; charset=utf-8")
    assert "sandbox" in response["Content-Security-Policy"]


def test_any_other_error_is_left_to_django():
    assert middleware.process_exception(RequestFactory().get("/api/"), ValueError("a bug")) is None
