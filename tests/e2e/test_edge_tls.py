"""TLS and HTTP/2 one setting away: EDGE_TLS_CERT/EDGE_TLS_KEY (a certificate made by the test)."""

from __future__ import annotations

import subprocess

import pytest
import requests

from tests.support.media import random_bytes

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tls_edge(start_edge, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return start_edge(EDGE_TLS_CERT=str(cert), EDGE_TLS_KEY=str(key)), cert


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=30)


def test_media_over_tls_with_http2(tls_edge, tmp_path):
    edge, cert = tls_edge
    item = edge.ingest(random_bytes(50_000), "tls.bin")
    body = tmp_path / "body"

    result = curl("--http2", "--cacert", str(cert), "-D", "-", "-o", str(body), edge.nginx.tls_url + item.path)
    headers = result.stdout.decode().lower()

    assert result.returncode == 0, result.stderr
    assert headers.startswith("http/2 200")
    assert f'etag: "{item.sha256}"' in headers
    assert "strict-transport-security: max-age=31536000" in headers
    assert "content-security-policy: default-src 'none'" in headers
    assert body.read_bytes() == item.payload


def test_range_over_http2_from_the_edge_cache(tls_edge):
    edge, cert = tls_edge
    item = edge.ingest(random_bytes(10_000), "tls-range.bin")
    curl("--http2", "-k", "-o", "/dev/null", edge.nginx.tls_url + item.path)

    result = curl("--http2", "-k", "-D", "-", "-H", "Range: bytes=-100", edge.nginx.tls_url + item.path)
    head, _, body = result.stdout.partition(b"\r\n\r\n")

    assert head.lower().startswith(b"http/2 206")
    assert b"x-cache-tier: edge" in head.lower()
    assert body == item.payload[-100:]


def test_plain_http_stays_available_without_hsts(tls_edge):
    edge, _ = tls_edge
    item = edge.ingest(random_bytes(1000), "plain.bin")

    response = requests.get(edge.url + item.path, timeout=10)

    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers


def test_the_admin_over_tls_gets_secure_cookies_and_a_login_passes_the_origin_check(tls_edge):
    # Django knows the request was https only by trusting the edge's X-Forwarded-Proto; otherwise
    # its CSRF check refuses the https Origin of the login form with a 403
    edge, cert = tls_edge
    edge.gunicorn.manage(
        "createsuperuser",
        "--noinput",
        "--username",
        "op",
        "--email",
        "op@example.test",
        env={"DJANGO_SUPERUSER_PASSWORD": "a-long-test-password"},
    )
    session = requests.Session()  # verify= on each call: a session's own is overridden by REQUESTS_CA_BUNDLE

    login_page = session.get(f"{edge.nginx.tls_url}/admin/login/", verify=str(cert), timeout=10)
    logged_in = session.post(
        f"{edge.nginx.tls_url}/admin/login/?next=/admin/",
        data={
            "username": "op",
            "password": "a-long-test-password",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Origin": edge.nginx.tls_url, "Referer": f"{edge.nginx.tls_url}/admin/login/"},
        allow_redirects=False,
        verify=str(cert),
        timeout=10,
    )

    assert login_page.status_code == 200
    assert login_page.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert (logged_in.status_code, logged_in.headers.get("Location")) == (302, "/admin/"), logged_in.text[:3000]
    assert {c.name: c.secure for c in session.cookies} == {"csrftoken": True, "sessionid": True}
