"""The edge's nginx.conf, rendered from the settings: what goes in, and that nginx accepts it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from media_store.serving.edge import edge_secret
from mediacache_project.edge.config import EdgeConfigError, EdgePaths, render, write
from mediacache_project.edge.launcher import nginx_binary
from tests.support.servers import PROJECT_ROOT


@pytest.fixture
def paths(tmp_path) -> EdgePaths:
    return EdgePaths(tmp_path / "edge")


def nginx_accepts(paths: EdgePaths) -> subprocess.CompletedProcess:
    return subprocess.run(
        [nginx_binary(), "-t", "-q", "-p", str(paths.root), "-c", str(paths.conf), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_rendered_config_is_accepted_by_nginx(paths, settings):
    settings.EDGE_TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8::/32"]
    write("unix:/tmp/mediacache-test.sock", paths)

    result = nginx_accepts(paths)

    assert result.returncode == 0, result.stderr


def test_it_carries_the_settings(paths, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    settings.MEDIA_EDGE_TTL = 7
    settings.EDGE_PORT = 18123
    settings.EDGE_CONNECTIONS_PER_IP = 33

    text = render("127.0.0.1:9999", paths)

    assert "client_max_body_size 66536;" in text  # + 64 KiB of multipart framing
    assert "proxy_cache_valid 200 307 7s;" in text
    assert "listen 127.0.0.1:18123 backlog=4096;" in text
    assert "limit_conn per_ip 33;" in text
    assert "server 127.0.0.1:9999 max_fails=0;" in text
    assert f"alias {settings.MEDIA_CACHE_DIR.resolve()}/;" in text
    assert f"proxy_set_header X-Mediacache-Edge {edge_secret()};" in text
    assert "ssl" not in text.split("server {", 1)[1].split("location", 1)[0]


def test_no_limit_line_when_the_limit_is_off(paths, settings):
    settings.EDGE_CONNECTIONS_PER_IP = 0

    assert "limit_conn per_ip" not in render("127.0.0.1:9999", paths)


def test_tls_adds_an_http2_listener_with_the_certificate(paths, settings, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    settings.EDGE_TLS_CERT, settings.EDGE_TLS_KEY, settings.EDGE_TLS_PORT = str(cert), str(key), 18443

    write("127.0.0.1:9999", paths)
    text = paths.conf.read_text()

    assert "listen 127.0.0.1:18443 ssl http2 backlog=4096;" in text
    assert f"ssl_certificate {cert};" in text
    assert nginx_accepts(paths).returncode == 0


def test_a_missing_certificate_file_is_one_clear_error(paths, settings, tmp_path):
    settings.EDGE_TLS_CERT, settings.EDGE_TLS_KEY = str(tmp_path / "nope.pem"), str(tmp_path / "key.pem")

    with pytest.raises(EdgeConfigError, match=r"EDGE_TLS_CERT=.*nope\.pem.*no such file"):
        render("127.0.0.1:9999", paths)


def test_a_path_nginx_cannot_quote_is_refused(paths, settings, tmp_path):
    settings.MEDIA_CACHE_DIR = tmp_path / "with space"

    with pytest.raises(EdgeConfigError, match="MEDIA_CACHE_DIR"):
        render("127.0.0.1:9999", paths)


def test_the_written_file_is_private(paths):
    conf = write("127.0.0.1:9999", paths)

    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(paths.root).st_mode) == 0o700


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"EDGE_TLS_CERT": "/etc/cert.pem"}, "EDGE_TLS_CERT and EDGE_TLS_KEY go together"),
        ({"EDGE_TRUSTED_PROXIES": "10.0.0.0/8,not-a-network"}, "invalid EDGE_TRUSTED_PROXIES='not-a-network'"),
        ({"EDGE_PORT": "70000"}, "invalid EDGE_PORT='70000'"),
        ({"MEDIA_EDGE_TTL": "0"}, "MEDIA_EDGE_TTL"),
    ],
)
def test_bad_edge_settings_stop_with_one_line(variables, message, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update({"SECRET_KEY": "x", **variables})

    result = subprocess.run(
        [sys.executable, "-m", "mediacache_project.edge", "render", "--upstream", "127.0.0.1:1", "--stdout"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert message in result.stderr
    assert result.stdout == ""
