"""Property-based checks of the whole HTTP API against its own OpenAPI document (``/api/schema/``).

schemathesis reads the schema the app serves and generates requests for every operation —
valid ones and, in negative mode, ones that break the schema on purpose — and sends them to
the real Django application (WSGI, in this process, on the test database, the session's real
Redis and moto S3). For every answer: no 5xx (except the 502 the contract promises when an
upstream cannot be reached — generated URLs point at hosts this machine cannot resolve), a
status the schema lists, a body that matches the schema for that status, the content type it
declares.

Bounded and reproducible: ``deterministic`` generation (the same examples every run) and a
small ``max_examples`` per operation keep the whole module well under a minute.

Known bugs found by these checks, owned elsewhere, are listed in ``KNOWN_BUGS`` with a strict
``xfail`` test each: the property test tolerates exactly that (operation, status, check) and
nothing else, and the xfail turns into a failure the day the bug is fixed, so the entry goes.
"""

from __future__ import annotations

import re
import uuid

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chat.models import MessageAttachment
from tests.support.fake_graph import FakeGraph
from tests.support.media import png_bytes

API_TOKEN = "schemathesis-operator-token"
GRAPH_TOKEN = "schemathesis-graph-token"
EXAMPLES_PER_OPERATION = 12
# The contract's own 5xx for an upstream that cannot be reached (CONTRACT §4).
UPSTREAM_502 = {"POST /api/media/download", "GET /media"}
# (operation label, status) → why it is tolerated; each would have a strict xfail test below.
KNOWN_BUGS: dict[tuple[str, int], str] = {}  # none left: the three found by this suite are fixed


@pytest.fixture(scope="module")
def fake_graph():
    """The WhatsApp Cloud API as a local server: every generated media ID is unknown to it (code 100)."""
    with FakeGraph(token=GRAPH_TOKEN) as graph:
        yield graph


@pytest.fixture
def in_process_requests():
    """What Django's test client does: requests must not close the test's database connection
    (it holds the test transaction; on PostgreSQL the next query would fail)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_settings(db, settings, fake_graph, in_process_requests):
    settings.MEDIA_API_TOKEN = API_TOKEN
    settings.WHATSAPP_TOKEN = GRAPH_TOKEN
    settings.WHATSAPP_GRAPH_URL = fake_graph.url
    settings.MAX_RETRIES = 1  # a generated URL that cannot be reached fails once, fast
    settings.BASE_BACKOFF_SECONDS = 0
    settings.DOWNLOAD_TIMEOUT = 2
    return settings


def load_schema():
    """The schema exactly as ``GET /api/schema/`` serves it, from the WSGI application itself."""
    config = SchemathesisConfig()
    config.projects.default.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES_PER_OPERATION,
        deterministic=True,
    )
    config.projects.default.update(headers={"Authorization": f"Bearer {API_TOKEN}"})
    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=config)


# Loaded at collection: schemathesis' lazy fixture loader does not work with pytest 9's nodes.
schema = load_schema()


def no_unpromised_server_error(ctx, response, case):
    """``not_a_server_error``, except the contract's 502 for an unreachable upstream."""
    if response.status_code == 502 and case.operation.label in UPSTREAM_502:
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [no_unpromised_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_within_its_schema_and_never_with_a_server_error(case, api_settings):
    response = case.call()
    if (case.operation.label, response.status_code) in KNOWN_BUGS:
        return
    case.validate_response(response, checks=CHECKS)


# -- bugs this suite found, kept as regression tests -------------------------------------------


def test_the_schema_lists_the_404_of_an_unknown_attachment():
    operation = schema["/api/attachments/{id}/"]["GET"]
    assert "404" in operation.definition.raw["responses"]


@pytest.mark.parametrize("method", ["get", "head"])
def test_a_media_path_with_a_newline_gets_the_tiny_text_404(client, method):
    response = getattr(client, method)("/media/%0Aabc")
    assert (response.status_code, response["Content-Type"]) == (404, "text/plain; charset=utf-8")


# -- hostile upload file names ----------------------------------------------------------------

HOSTILE_PARTS = [
    "../../etc/passwd",
    "..\\..\\boot.ini",
    "/absolute/path",
    "a\r\nX-Injected: 1",
    "nul\x00byte",
    "tab\tand\x1bescape",
    "\u202eexe.png",
    "émoji-🎙️-voice",
    "日本語のファイル",
    "con",
    "..",
    ".",
    "\"quoted\"; filename*=UTF-8''evil",
    "%2e%2e%2fencoded",
    "\u0085next-line\u2028sep",
]
hostile_names = st.one_of(
    st.lists(st.sampled_from(HOSTILE_PARTS), min_size=1, max_size=4).map("".join),
    st.text(min_size=1, max_size=40),
    st.integers(min_value=1, max_value=10_000).map(lambda n: "A" * n + ".png"),  # up to 10 KB names
).map(lambda name: name + ".png")
UNSAFE_STORED = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029/\\]")
SAFE_DISPOSITION = re.compile(r'^attachment; filename="[0-9a-f]{16}\.[a-z0-9]{1,10}"$')


def multipart(fields: list[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    """A multipart body written by hand, so the hostile name reaches the server byte for byte."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, filename, value in fields:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        headers = f"Content-Disposition: {disposition}\r\n"
        if filename is not None:
            headers += "Content-Type: application/octet-stream\r\n"
        body += f"--{boundary}\r\n{headers}\r\n".encode("utf-8", "surrogatepass") + value + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def assert_stored_safely(client, answer, *, unsafe: re.Pattern = UNSAFE_STORED) -> None:
    assert answer.status_code in (201, 400), answer.content[:300]
    if answer.status_code != 201:
        return
    stored = MessageAttachment.objects.get(pk=answer.json()["id"]).original_filename
    assert unsafe.search(stored) is None, repr(stored)
    assert stored not in ("", ".", ".."), repr(stored)
    assert len(stored) <= 255, repr(stored)
    served = client.get(f"/media/{answer.json()['media_hash']}")
    assert served.status_code == 200
    disposition = served.get("Content-Disposition")
    assert disposition is None or SAFE_DISPOSITION.match(disposition), disposition


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(name=hostile_names)
def test_a_hostile_upload_file_name_is_stored_safely(client, api_settings, name):
    body, content_type = multipart([("file", name, png_bytes())])
    answer = client.generic(
        "POST", "/api/attachments/", body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {API_TOKEN}"
    )
    assert_stored_safely(client, answer)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(name=hostile_names)
def test_a_hostile_filename_field_is_stored_safely(client, api_settings, name):
    """The optional ``filename`` field, taken as the stored name: cleaned like a multipart file name."""
    assert_stored_safely(client, upload_with_filename_field(client, name))


@pytest.mark.parametrize("name", ["voice\r\nX-Injected: 1.ogg", "bell\x07.png", "esc\x1b[31m.png"])
def test_control_characters_of_the_filename_field_are_not_stored(client, api_settings, name):
    assert_stored_safely(client, upload_with_filename_field(client, name))


def upload_with_filename_field(client, name: str):
    value = name.encode("utf-8", "surrogatepass")
    body, content_type = multipart([("file", "upload.png", png_bytes()), ("filename", None, value)])
    return client.generic(
        "POST", "/api/attachments/", body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {API_TOKEN}"
    )


@pytest.mark.parametrize("name", ["../../page.html", "x\r\nSet-Cookie: a=b.html", "ünï\u202ecode.svg"])
def test_an_executable_type_is_served_as_an_attachment_with_a_hex_name(client, api_settings, name):
    document = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
    if name.endswith(".svg"):
        document = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    body, content_type = multipart([("file", name, document)])
    answer = client.generic(
        "POST", "/api/attachments/", body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {API_TOKEN}"
    )
    assert answer.status_code == 201, answer.content[:300]
    served = client.get(f"/media/{answer.json()['media_hash']}")
    assert SAFE_DISPOSITION.match(served["Content-Disposition"]), served["Content-Disposition"]
